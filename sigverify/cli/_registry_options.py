"""The flags of registry mode (``docker://``), without the registry client.

Declaring them costs click only, so ``sigverify verify -f FILE`` imports no registry code.
"""

from __future__ import annotations

import click

from sigverify.cli._common import F

__all__ = ["TRANSPORT", "registry_options"]

TRANSPORT = "docker://"


def registry_options(function: F) -> F:
    """``--registries-d``, ``--authfile``, ``--tls-verify=BOOL``, ``--cert-dir`` as skopeo
    spells them (docker:// references only)."""
    options = [
        click.option(
            "--registries-d",
            type=click.Path(file_okay=False),
            default=None,
            help="registries.d directory naming lookaside stores (docker:// only; default: "
            "~/.config/containers/registries.d if it exists, else /etc/containers/registries.d).",
        ),
        click.option(
            "--authfile",
            type=click.Path(dir_okay=False),
            default=None,
            help="containers auth.json with registry credentials (default: $REGISTRY_AUTH_FILE, "
            "$XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json).",
        ),
        click.option(
            "--tls-verify",
            type=click.BOOL,
            default=True,
            is_flag=False,
            flag_value=True,
            show_default=True,
            metavar="BOOL",
            help="Require HTTPS and verify certificates (--tls-verify=false: do not).",
        ),
        click.option(
            "--cert-dir",
            type=click.Path(file_okay=False),
            default=None,
            help="Certificates for the registry: ca.crt (*.crt) and client *.cert/*.key.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function
