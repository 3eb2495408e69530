"""``sigverify verify --policy P -f FILE``: the file mode of ``verify``, without click.

The click command (:mod:`sigverify.cli.verify`) and the fast path that skips click for the
common call (:mod:`sigverify.cli._fast_verify`) both end here, so the two cannot differ in
what they print or how they exit.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from sigverify.cli._failures import EXIT_TRUSTED, EXIT_UNTRUSTED
from sigverify.cli._output import dump_output

if TYPE_CHECKING:
    from sigverify.core.verdict import ImageVerdict
    from sigverify.engine.verifier import Verifier
    from sigverify.objects.types import Image, ImageStreamImage

__all__ = ["Inputs", "finish", "load_inputs", "verify_file"]


def verify_file(
    policy: str,
    keys: str | None,
    document: str | None,
    backend: str,
    expected_identity: str | None,
    output: str,
    write_to: str | None,
) -> NoReturn:
    """Verify the Image or ImageStreamImage in ``document`` ('-' or None: stdin), print the
    verdict, write the object back with ``write_to``, and exit 0 (trusted) or 1."""
    inputs = load_inputs(policy, keys, document, backend)
    finish(inputs, expected_identity, output, write_to)


@dataclass(frozen=True)
class Inputs:
    """What a file-mode call reads before it verifies: the object and the verifier."""

    obj: Image | ImageStreamImage
    image: Image
    verifier: Verifier


def load_inputs(policy: str, keys: str | None, document: str | None, backend: str) -> Inputs:
    """Read the document ('-' or None: stdin) and load the policy, its keys and the backend."""
    from sigverify.objects.documents import read_document_file
    from sigverify.objects.types import ImageStreamImage
    from sigverify.policyfile.holder import load_verifier

    obj = read_document_file(document or "-")
    image = obj.image if isinstance(obj, ImageStreamImage) else obj
    return Inputs(obj, image, load_verifier(policy, keys, backend)[1])


def finish(
    inputs: Inputs, expected_identity: str | None, output: str, write_to: str | None
) -> NoReturn:
    """Verify, print the verdict (on stderr when the object goes to stdout), write the
    object back, and exit 0 (trusted) or 1."""
    try:
        verdict = inputs.verifier.verify_image(inputs.image, expected_identity=expected_identity)
    finally:
        inputs.verifier.backend.close()

    report_stream = sys.stderr if write_to == "-" else sys.stdout
    _report(verdict, output, report_stream)
    if write_to is not None:
        _write_back(inputs.obj, inputs.image, verdict, write_to)
    sys.exit(EXIT_TRUSTED if verdict.trusted else EXIT_UNTRUSTED)


def _report(verdict: ImageVerdict, output: str, stream: Any) -> None:
    from sigverify.render import verdict_to_json, verdict_to_text

    if output == "text":
        stream.write(verdict_to_text(verdict))
    else:
        stream.write(dump_output(verdict_to_json(verdict), output))


def _write_back(
    obj: Image | ImageStreamImage, image: Image, verdict: ImageVerdict, target: str
) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime
    from pathlib import Path

    from sigverify.core.conditions import apply_verdict
    from sigverify.errors import InputError
    from sigverify.objects.documents import dump_document
    from sigverify.objects.types import ImageStreamImage

    now = verdict.verified_at or datetime.now(UTC).replace(microsecond=0)
    updated = apply_verdict(image, verdict, now)
    if isinstance(obj, ImageStreamImage):
        out_obj: Image | ImageStreamImage = replace(obj, image=updated)
    else:
        out_obj = updated
    data = dump_document(out_obj)
    as_yaml = target.endswith((".yaml", ".yml"))
    if as_yaml:
        import yaml
    text = yaml.safe_dump(data, sort_keys=False) if as_yaml else json.dumps(data, indent=2) + "\n"
    if target == "-":
        sys.stdout.write(text)
        return
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from exc
