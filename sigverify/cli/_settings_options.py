"""Command-line flags of the settings-driven commands (serve, reconcile, store).

Every flag defaults to "not given" (None), so that a settings file and ``SIGVERIFY_*``
variables are overridden only by flags actually typed: defaults → file → env → flags.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from sigverify.errors import InputError
from sigverify.settings import Settings, load_settings

__all__ = [
    "cluster_options",
    "config_option",
    "duration_seconds",
    "policy_options",
    "settings_from",
    "store_option",
]

F = TypeVar("F", bound=Callable[..., Any])
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


def duration_seconds(text: str) -> float:
    """``90``, ``90s``, ``10m``, ``1h30m`` → seconds."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise InputError(f"{text!r} is not a duration (like 30s, 10m, 1h)")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _options(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def _flag(name: str, help_text: str, **extra: Any) -> Callable[[F], F]:
    return click.option(name, default=None, help=help_text, **extra)


config_option = _flag(
    "--config",
    "Settings file (YAML/JSON); also $SIGVERIFY_CONFIG.",
    type=click.Path(dir_okay=False),
)

policy_options = _options(
    config_option,
    _flag("--policy", "Trust policy file.", type=click.Path(dir_okay=False)),
    _flag("--keys", "Directory of public keys the policy names.", type=click.Path()),
    _flag("--backend", "OpenPGP backend.", type=click.Choice(["auto", "gnupg", "native"])),
)

store_option = _flag(
    "--store", "Embedded store file (default: sigverify.db in the state folder, --state-dir)."
)

cluster_options = _options(
    store_option,
    _flag("--kubeconfig", "Use this cluster (kubeconfig file) instead of the embedded store."),
    _flag("--context", "kubeconfig context."),
    _flag("--server", "API server URL (with --token or --token-file)."),
    _flag("--token", "Bearer token (prefer --token-file)."),
    _flag("--token-file", "File holding a bearer token."),
    _flag("--ca-file", "CA bundle that signed the API server's certificate."),
    click.option(
        "--insecure-skip-tls-verify",
        is_flag=True,
        default=None,
        help="Do not verify the API server's certificate.",
    ),
    click.option("--in-cluster", is_flag=True, default=None, help="Use the pod's service account."),
    _flag("--api-timeout", "Seconds per image API request.", type=float),
)

#: Flag names whose settings field is named differently.
_RENAMED = {"api_timeout": "api_timeout_seconds"}


def settings_from(flags: dict[str, Any], *, consumed: tuple[str, ...] = ()) -> Settings:
    """Settings from the layers, the flags given (those not in ``consumed``) on top."""
    config = flags.pop("config", None)
    overrides = {
        _RENAMED.get(name, name): value
        for name, value in flags.items()
        if name not in consumed and value is not None
    }
    return load_settings(config_file=config, overrides=overrides)
