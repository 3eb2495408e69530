"""The conventions of oc and kubectl that every cluster command follows.

- The cluster: ``--kubeconfig`` (else ``$KUBECONFIG``, else ``~/.kube/config`` when it
  exists) and ``--context`` (else the kubeconfig's current context).
- The namespace: ``-n/--namespace``, else the context's namespace.
- ``-o/--output text|json|yaml`` on every command that prints objects.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from sigverify.cli._output import OUTPUT_FORMATS, dump_output
from sigverify.errors import InputError

__all__ = [
    "OUTPUT_FORMATS",
    "dump_output",
    "kubeconfig_in_use",
    "namespace_option",
    "output_option",
    "resolve_namespace",
]

F = TypeVar("F", bound=Callable[..., Any])


def kubeconfig_in_use(environ: Mapping[str, str] | None = None) -> bool:
    """True when kubectl would find a kubeconfig with no flag: ``$KUBECONFIG`` is set, or
    ``~/.kube/config`` exists."""
    env = os.environ if environ is None else environ
    if env.get("KUBECONFIG"):
        return True
    home = env.get("HOME")
    return bool(home) and (Path(home or "") / ".kube" / "config").is_file()


def namespace_option(function: F) -> F:
    return click.option(
        "-n",
        "--namespace",
        default=None,
        help="Namespace (default: the kubeconfig context's namespace).",
    )(function)


def output_option(function: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(OUTPUT_FORMATS),
        default="text",
        show_default=True,
        help="Output format.",
    )(function)


def resolve_namespace(
    namespace: str | None, kubeconfig: str | None, context: str | None
) -> str | None:
    """``-n`` if given, else the namespace of the kubeconfig context (``None``: it has none)."""
    if namespace is not None:
        if not namespace:
            raise InputError("-n/--namespace must not be empty")
        return namespace
    from sigverify.imageapi.openshift import context_namespace
    from sigverify.imageapi.options import ClusterOptions

    return context_namespace(ClusterOptions(kubeconfig=kubeconfig, context=context))
