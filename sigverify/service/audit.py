# mypy: disallow-untyped-decorators=False
"""``GET /api/v1/audit``: the policy audit of the service's image API with its current policy,
as ``sigverify audit`` makes it (:func:`sigverify.audit.scan.audit_image_api`), in JSON, CSV
or the self-contained HTML page.

The audit runs first (so a failure is a status, not half a body); the answer is then rendered
piece by piece (JSON image by image, CSV line by line, HTML a block of table rows at a time)
and written in writes of about :data:`CHUNK_BYTES`, its text never built whole. Bad
parameters are 400 with one message.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from flask import Response, current_app, request, stream_with_context
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from sigverify.audit.html import CONTENT_SECURITY_POLICY, iter_html
from sigverify.audit.keyfacts import key_facts
from sigverify.audit.render import CSV_TABLES, csv_lines, iter_json, report_to_json
from sigverify.audit.scan import audit_image_api, check_namespace, nothing_audited
from sigverify.errors import InputError, NotFoundError
from sigverify.service.errors import MalformedRequest
from sigverify.service.state import EXTENSION, ServiceState
from sigverify.service.views import _observed

__all__ = ["CHUNK_BYTES", "FORMATS", "audit"]

audit = Blueprint(
    "audit",
    __name__,
    url_prefix="/api/v1",
    description="Policy audit reports: what is signed, by whom, what the policy would deny.",
)

#: Media type of each ``format``.
FORMATS = {
    "json": "application/json",
    "csv": "text/csv",
    "html": "text/html",
}
#: Pieces of the streamed answer are gathered up to this size before each write.
CHUNK_BYTES = 64 * 1024
_PARAMETERS = ("namespace", "format", "table")


def _namespace(value: str) -> None:
    try:
        check_namespace(value, "namespace")
    except InputError as exc:
        # the 400's message names the parameter already: "namespace: 'X' is not ..."
        raise ValidationError(str(exc).removeprefix("namespace ")) from exc


class AuditArgsSchema(Schema):
    class Meta:
        unknown = RAISE

    namespace = fields.String(
        validate=_namespace,
        metadata={"description": "only the ImageStreams of this namespace (default: all, "
                  "plus the Images no tag points at)"},
    )  # fmt: skip
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(list(FORMATS)),
        metadata={"description": "json (the report document), csv (one table) or html"},
    )
    table = fields.String(
        load_default="images",
        validate=validate.OneOf(list(CSV_TABLES)),
        metadata={"description": "the CSV table (read with format=csv only)"},
    )


_JSON_REPORT = {
    "type": "object",
    "description": "sigverify audit -o json's document (docs/audit.md)",
    "required": ["schemaVersion", "policy", "namespace", "totals", "images"],
    "properties": {
        "schemaVersion": {"type": "string"},
        "policy": {"type": "string"},
        "namespace": {"type": "string", "nullable": True},
        "totals": {"type": "object"},
        "images": {"type": "array", "items": {"type": "object"}},
    },
}
_RESPONSE = {
    "description": "The report, streamed.",
    "content": {
        FORMATS["json"]: {"schema": _JSON_REPORT},
        FORMATS["csv"]: {"schema": {"type": "string"}},
        FORMATS["html"]: {"schema": {"type": "string"}},
    },
}


def _single_values() -> None:
    """A parameter given twice is refused (which one would the caller mean?)."""
    for name in _PARAMETERS:
        if len(request.args.getlist(name)) > 1:
            raise MalformedRequest(f"{name}: given more than once")


def _chunks(pieces: Iterable[str]) -> Iterator[bytes]:
    buffered: list[bytes] = []
    size = 0
    for piece in pieces:
        data = piece.encode("utf-8")
        buffered.append(data)
        size += len(data)
        if size >= CHUNK_BYTES:
            yield b"".join(buffered)
            buffered, size = [], 0
    if buffered:
        yield b"".join(buffered)


@audit.route("/audit", methods=["GET"])
@audit.arguments(AuditArgsSchema, location="query", error_status_code=400, unknown=RAISE)
@audit.doc(responses={"200": _RESPONSE})
@audit.alt_response(404, response="NOT_FOUND")
@audit.alt_response(502, response="BAD_GATEWAY")
@audit.alt_response(503, response="SERVICE_UNAVAILABLE")
@audit.alt_response(504, response="GATEWAY_TIMEOUT")
def get_audit(args: dict[str, Any]) -> Response:
    """Audit the image API with the current policy (read-only): every tagged Image of
    ``namespace`` (all namespaces when absent, plus the Images no tag points at).

    404 when there is nothing to audit (an unknown namespace, or one without imported tags).
    """
    _single_values()
    state: ServiceState = current_app.extensions[EXTENSION]
    namespace: str | None = args.get("namespace")
    output: str = args["format"]
    with _observed(state, "audit"):  # the audit's time; the streaming is the client's
        in_use = state.holder.in_use()
        report = audit_image_api(
            state.api,
            in_use.verifier,
            policy=state.holder.status().source,
            namespace=namespace,
            keys=key_facts(in_use.loaded.policy, in_use.loaded.keyring),
            now=state.clock(),
        )
    if nothing_audited(report):
        raise NotFoundError(
            f"nothing to audit in namespace {namespace!r}: no such namespace, or no "
            "ImageStream there has an imported tag"
            if namespace
            else "nothing to audit in the image API: it has no Images and no ImageStreams"
        )
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    pieces: Iterable[str]
    if output == "csv":
        pieces = csv_lines(report, args["table"])
    elif output == "html":
        pieces = iter_html(report_to_json(report))
        # the page's own policy, as a header too: served from this origin, it must not
        # reach it (or anything) either
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    else:
        pieces = iter_json(report_to_json(report))
    return Response(stream_with_context(_chunks(pieces)), mimetype=FORMATS[output], headers=headers)
