"""Registry mode of ``sigverify verify``: ``docker://HOST[:PORT]/REPO@DIGEST`` or ``…:TAG``.

The manifest is fetched and hashed (no manifest: exit 2, one line), the signatures of its
digest are gathered from the lookaside store registries.d names and from the registry's
signatures extension, and the one engine decides. Each signature names its source; a source
that failed is named in the verdict (``sources[]``), never counted as a trust.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sigverify.cli._common import F, build_verifier
from sigverify.render import verdict_to_json
from sigverify.sources import SourceOptions, fetch_image, label_sources, parse_pull_spec

__all__ = ["TRANSPORT", "registry_options", "sources_text", "verify_pull_spec"]

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


def verify_pull_spec(
    pull_spec: str,
    policy: str,
    keys: str | None,
    backend: str,
    expected_identity: str | None,
    *,
    registries_d: str | None,
    authfile: str | None,
    tls_verify: bool,
    cert_dir: str | None,
    timeout: float,
) -> dict[str, Any]:
    """The JSON verdict of the image ``pull_spec`` names, with its sources."""
    reference = parse_pull_spec(pull_spec)
    verifier = build_verifier(policy, keys, backend)
    try:
        fetched = fetch_image(
            reference,
            SourceOptions(
                registries_d=Path(registries_d) if registries_d else None,
                authfile=authfile,
                tls_verify=tls_verify,
                cert_dir=Path(cert_dir) if cert_dir else None,
                timeout=timeout,
                deadline=timeout,
            ),
        )
        verdict = verifier.verify_image(
            fetched.image, expected_identity=expected_identity or fetched.identity
        )
    finally:
        verifier.backend.close()
    body = verdict_to_json(label_sources(verdict, fetched.sources))
    body["digestReference"] = fetched.by_digest
    body["mediaType"] = fetched.media_type
    body["sources"] = [report.to_json() for report in fetched.reports]
    return body


def sources_text(body: dict[str, Any]) -> str:
    """The sources read, for the text report (after the verdict's own lines)."""
    reports = body.get("sources")
    if not isinstance(reports, list):
        return ""
    lines = ["", f"  manifest: {body.get('digestReference')} ({body.get('mediaType')})"]
    for report in reports:
        outcome = (
            f"error: {report['error']}"
            if report.get("error")
            else f"{report.get('signatures')} signature(s)"
        )
        lines.append(f"  source {report.get('source')} ({report.get('location')}): {outcome}")
    return "\n".join(lines) + "\n"
