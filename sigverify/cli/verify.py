"""``sigverify verify``: verify one Image or ImageStreamImage against a trust policy."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import yaml

from sigverify.api.documents import dump_document, read_document_file
from sigverify.api.types import Image, ImageStreamImage
from sigverify.cli._common import (
    EXIT_TRUSTED,
    EXIT_UNTRUSTED,
    backend_option,
    build_verifier,
    handle_errors,
)
from sigverify.core.conditions import apply_verdict
from sigverify.core.verdict import ImageVerdict
from sigverify.errors import InputError
from sigverify.render import verdict_to_json, verdict_to_text

__all__ = ["command"]


@click.command("verify")
@click.option(
    "--policy",
    "policy",
    required=True,
    type=click.Path(dir_okay=False),
    help="Trust policy: sigverify YAML/JSON or containers-policy.json.",
)
@click.option(
    "--keys",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory of public key files the policy's key names resolve against.",
)
@click.option(
    "-f",
    "--file",
    "document",
    default="-",
    show_default=True,
    help="Image or ImageStreamImage, JSON or YAML ('-' reads stdin).",
)
@click.option(
    "--expected-identity",
    default=None,
    metavar="REF",
    help="Image reference for the scope lookup and identity rules "
    "(default: the Image's dockerImageReference).",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--write",
    "write_to",
    default=None,
    metavar="FILE",
    help="Write the input object back with updated signature conditions ('-' = stdout).",
)
@backend_option
@handle_errors
def command(
    policy: str,
    keys: str | None,
    document: str,
    expected_identity: str | None,
    output: str,
    write_to: str | None,
    backend: str,
) -> None:
    """Verify an image's signatures against a trust policy.

    Exit status: 0 the image is trusted, 1 it is not, 2 usage or input error.
    """
    obj = read_document_file(document)
    image = obj.image if isinstance(obj, ImageStreamImage) else obj
    verifier = build_verifier(policy, keys, backend)
    try:
        verdict = verifier.verify_image(image, expected_identity=expected_identity)
    finally:
        verifier.backend.close()

    report_stream = sys.stderr if write_to == "-" else sys.stdout
    _report(verdict, output, report_stream)
    if write_to is not None:
        _write_back(obj, image, verdict, write_to)
    sys.exit(EXIT_TRUSTED if verdict.trusted else EXIT_UNTRUSTED)


def _report(verdict: ImageVerdict, output: str, stream: Any) -> None:
    if output == "json":
        stream.write(json.dumps(verdict_to_json(verdict), indent=2) + "\n")
    else:
        stream.write(verdict_to_text(verdict))


def _write_back(
    obj: Image | ImageStreamImage, image: Image, verdict: ImageVerdict, target: str
) -> None:
    now = verdict.verified_at or datetime.now(UTC).replace(microsecond=0)
    updated = apply_verdict(image, verdict, now)
    if isinstance(obj, ImageStreamImage):
        from dataclasses import replace

        out_obj: Image | ImageStreamImage = replace(obj, image=updated)
    else:
        out_obj = updated
    data = dump_document(out_obj)
    as_yaml = target.endswith((".yaml", ".yml"))
    text = yaml.safe_dump(data, sort_keys=False) if as_yaml else json.dumps(data, indent=2) + "\n"
    if target == "-":
        sys.stdout.write(text)
        return
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from exc
