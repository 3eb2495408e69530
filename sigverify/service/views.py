# mypy: disallow-untyped-decorators=False
"""The HTTP API: verify by reference (GET, no side effects), verify and record (POST),
verify a posted Image or ImageStreamImage, and the health, readiness and metrics endpoints."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Response, current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema
from webargs.flaskparser import FlaskParser

from sigverify.core.verdict import ImageVerdict
from sigverify.engine.cache import Lookup, Origin, document_key, verdict_key
from sigverify.errors import ClusterError, PolicyError
from sigverify.http_body import check_declared_length, read_body
from sigverify.limits import MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH
from sigverify.objects.documents import image_of, load_document
from sigverify.objects.types import Image
from sigverify.service.errors import MalformedRequest, UnsupportedMediaType
from sigverify.service.schemas import (
    HealthSchema,
    ReadinessSchema,
    RecordArgsSchema,
    VerificationSchema,
    VerifyArgsSchema,
    dumps_unchanged,
)
from sigverify.service.state import EXTENSION, CachedAnswer, ServiceState
from sigverify.strict_input import (
    StrictInputError,
    Wording,
    json_path,
    read_json,
    read_json_like_yaml,
)
from sigverify.writeback.writer import WriteConflictError, verification_body

__all__ = ["health", "verification"]


class _QueryParser(FlaskParser):
    """flask-smorest's argument parser, with the arguments of an empty query string loaded
    once per schema: a warm GET has none, and webargs' parse of them (location data, a
    marshmallow load of nothing) cost as much as its cache lookup. Only schema instances,
    whose defaults are constants here (tests/service/test_cached_answers.py compares the
    two); anything else is parsed each time."""

    def __init__(self) -> None:
        super().__init__()
        self._empty: dict[tuple[Schema, object], dict[str, Any]] = {}

    def parse(self, argmap: Any, req: Any = None, *, location: str | None = None, **kw: Any) -> Any:
        if (
            location != "query"
            or not isinstance(argmap, Schema)
            or kw.get("validate") is not None
            or (req if req is not None else request).query_string
        ):
            return super().parse(argmap, req, location=location, **kw)
        key = (argmap, kw.get("unknown"))
        loaded = self._empty.get(key)
        if loaded is None:
            loaded = super().parse(argmap, req, location=location, **kw)
            self._empty[key] = dict(loaded)
        return dict(loaded)  # each view gets its own


verification = Blueprint(
    "verification",
    __name__,
    url_prefix="/api/v1",
    description="Verify image signatures against the trust policy, and record the verdicts.",
)
verification.ARGUMENTS_PARSER = _QueryParser()
health = Blueprint("health", __name__, description="Liveness, readiness and metrics.")
# Instances, not classes: given a class, webargs makes a new schema on every request.
_VERIFY_ARGS = VerifyArgsSchema()
_RECORD_ARGS = RecordArgsSchema()

_ERRORS = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "REQUEST_ENTITY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


def _errors(*codes: int) -> Callable[[Any], Any]:
    """Document the error answers ``codes`` of a view. flask-smorest's ``alt_response`` wraps
    the view in a function that only passes the call on (one per code, each costing a
    coroutine check on every request); the view keeps the documentation and drops them."""

    def decorate(view: Any) -> Any:
        for code in codes:
            documented = verification.alt_response(code, response=_ERRORS[code])(view)
            view._apidoc = documented._apidoc
        return view

    return decorate


def _state() -> ServiceState:
    state: ServiceState = current_app.extensions[EXTENSION]
    return state


@contextmanager
def _observed(state: ServiceState, endpoint: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    except ClusterError as exc:
        state.metrics.child(state.metrics.api_errors, type(exc).__name__).inc()
        raise
    finally:
        state.metrics.child(state.metrics.latency, endpoint).observe(time.perf_counter() - started)


def _answer(body: dict[str, Any]) -> Response | dict[str, Any]:
    """A verification body as the response flask-smorest would make of it: when dumping it
    through VerificationSchema changes nothing (the usual case), without the dump."""
    if dumps_unchanged(body):
        return jsonify(body)
    return body


def _count(state: ServiceState, trusted: bool, reason: str) -> None:
    result = "trusted" if trusted else "untrusted"
    state.metrics.child(state.metrics.verifications, result, reason).inc()


def _rendered(verdict: ImageVerdict) -> CachedAnswer:
    """The answer to keep in the verdict cache: the response text :func:`_answer` makes of
    ``verdict`` (rendered here, once), or the verdict when its body must be dumped."""
    body = verification_body(verdict)
    text = jsonify(body).get_data() if dumps_unchanged(body) else None
    return CachedAnswer(verdict.trusted, verdict.reason.value, text, None if text else verdict)


def _respond(answer: CachedAnswer) -> Response | dict[str, Any]:
    """The response of a cached answer: what ``jsonify`` made of its body (the same text,
    content type and length), or the body for flask-smorest to dump."""
    if answer.text is not None:
        mimetype = current_app.json.mimetype  # type: ignore[attr-defined]  # jsonify's
        return current_app.response_class(answer.text, mimetype=mimetype)
    assert answer.verdict is not None
    return verification_body(answer.verdict)


def _verified(
    state: ServiceState, image: Image, expected_identity: str | None, origin: Origin
) -> Response | dict[str, Any]:
    """Verify through the cache (for answers without side effects), count, answer."""
    verifier = state.holder.verifier()
    key = verdict_key(
        image,
        origin=origin,
        expected_identity=expected_identity,
        revision=verifier.revision,
        now=state.clock(),
        bucket_seconds=state.settings.cache_ttl_seconds,
    )
    return _through_cache(
        state,
        key,
        lambda: _rendered(verifier.verify_image(image, expected_identity=expected_identity)),
    )


def _verified_stored(
    state: ServiceState, namespace: str, name: str, expected_identity: str | None
) -> Response | dict[str, Any]:
    """Verify ImageStreamImage ``name`` of ``namespace`` through the cache, count, answer.

    The answer is kept by the document the image API returned (:func:`document_key`), so a
    cached one is found without loading the document; a document is loaded (and its errors
    answered) whenever its answer is not cached."""
    document = state.api.get_imagestreamimage(namespace, name)
    try:
        verifier = state.holder.verifier()
    except PolicyError:
        image_of(document, answer_to="ImageStreamImage")  # its error first, as it always was
        raise
    key = document_key(
        document,
        origin=Origin.STORED,
        expected_identity=expected_identity,
        revision=verifier.revision,
        now=state.clock(),
        bucket_seconds=state.settings.cache_ttl_seconds,
    )
    if key is None:
        image = image_of(document, answer_to="ImageStreamImage")
        return _verified(state, image, expected_identity, Origin.STORED)

    def compute() -> CachedAnswer:
        image = image_of(document, answer_to="ImageStreamImage")
        return _rendered(verifier.verify_image(image, expected_identity=expected_identity))

    return _through_cache(state, key, compute)


def _through_cache(
    state: ServiceState, key: Hashable, compute: Callable[[], CachedAnswer]
) -> Response | dict[str, Any]:
    answer, lookup = state.cache.get_or_compute(key, compute)
    outcome = lookup.value if isinstance(lookup, Lookup) else str(lookup)
    state.metrics.child(state.metrics.cache, outcome).inc()
    _count(state, answer.trusted, answer.reason)
    return _respond(answer)


def _stream_image(state: ServiceState, namespace: str, name: str) -> Image:
    """The image of ImageStreamImage ``name`` in ``namespace``, read from the image API."""
    document = state.api.get_imagestreamimage(namespace, name)
    return image_of(document, answer_to="ImageStreamImage")


@verification.route("/namespaces/<namespace>/imagestreamimages/<name>/verification")
class StreamImageVerification(MethodView):
    @verification.arguments(_VERIFY_ARGS, location="query")
    @verification.response(200, VerificationSchema)
    @_errors(400, 404, 422, 502, 503, 504)
    def get(self, args: dict[str, Any], namespace: str, name: str) -> Response | dict[str, Any]:
        """Verify ``<stream>@<digest>`` in ``namespace``; no side effects (cached verdicts)."""
        state = _state()
        with _observed(state, "verification_get"):
            return _verified_stored(state, namespace, name, args.get("expectedIdentity"))

    @verification.arguments(_RECORD_ARGS, location="query")
    @verification.response(200, VerificationSchema)
    @_errors(400, 404, 409, 422, 502, 503, 504)
    def post(self, args: dict[str, Any], namespace: str, name: str) -> Response | dict[str, Any]:
        """Verify afresh; with ``record=true`` also write the conditions back to the Image.

        The write reads the whole Image, applies the verdict, and PUTs it with the
        resourceVersion read, retrying on conflicts; it is skipped when nothing changed and
        the probe times are recent. 409 when the Image kept changing under every attempt.
        """
        state = _state()
        expected = args.get("expectedIdentity")
        with _observed(state, "verification_post"):
            image = _stream_image(state, namespace, name)
            if not args.get("record"):
                verifier = state.holder.verifier()
                verdict = verifier.verify_image(image, expected_identity=expected)
                _count(state, verdict.trusted, verdict.reason.value)
                return _answer(verification_body(verdict))
            try:
                result = state.writer().record(
                    image.name,
                    expected_identity=expected,
                    only=args.get("signature") or None,
                )
            except WriteConflictError:
                state.metrics.writes.labels("gave_up").inc()
                raise
            state.metrics.conflicts.inc(result.conflicts)
            state.metrics.writes.labels("written" if result.written else "unchanged").inc()
            _count(state, result.verdict.trusted, result.verdict.reason.value)
            return _answer(verification_body(result))


_DOCUMENT_BODY = {
    "required": True,
    "description": "An Image or ImageStreamImage (image.openshift.io/v1), as JSON or YAML.",
    "content": {
        media: {"schema": {"type": "object", "additionalProperties": True}}
        for media in ("application/json", "application/yaml")
    },
}


@verification.route("/verify", methods=["POST"])
@verification.arguments(_VERIFY_ARGS, location="query")
@verification.doc(requestBody=_DOCUMENT_BODY)
@verification.response(200, VerificationSchema)
@_errors(400, 413, 415, 422, 503)
def verify_document(args: dict[str, Any]) -> Response | dict[str, Any]:
    """Verify a posted Image or ImageStreamImage (nothing is read from or written to the API)."""
    state = _state()
    with _observed(state, "verify_document"):
        image = _posted_image()
        return _verified(state, image, args.get("expectedIdentity"), Origin.POSTED)


# A body that is not JSON at all is 400 (MalformedRequest); a JSON document that is not an
# Image is 422 (DocumentError, from load_document).
_BODY_WORDING = Wording(
    invalid_json="the body is not valid JSON",
    invalid_yaml="the body is not valid YAML",
    not_a_number="{name} is not a JSON number",
    duplicate_key="duplicate key {key!r}",
    too_deep=f"the body is nested deeper than {MAX_DOCUMENT_DEPTH} levels",
    empty="the body is empty",
    not_utf8="the body is not valid UTF-8 (byte {start})",
)


def _posted_image() -> Image:
    check_declared_length(MAX_DOCUMENT_BYTES)  # 413 comes before 415, as it always did
    mimetype = request.mimetype or ""
    yaml_body = mimetype in ("application/yaml", "application/x-yaml", "text/yaml")
    if mimetype not in ("application/json", "") and not yaml_body:
        raise UnsupportedMediaType(
            f"unsupported media type {mimetype!r}: send application/json or application/yaml"
        )
    data = read_body(MAX_DOCUMENT_BYTES)
    # JSON or YAML, the body is read by the one strict reader: anything it refuses (syntax,
    # duplicate keys, NaN, depth, UTF-8) is 400 in both, as every body endpoint answers.
    as_yaml = yaml_body and not data.lstrip(b" \t\r\n").startswith((b"{", b"["))
    try:
        if as_yaml:
            document = read_json_like_yaml(data, _BODY_WORDING, max_depth=MAX_DOCUMENT_DEPTH)
        else:
            document = read_json(data, _BODY_WORDING, max_depth=MAX_DOCUMENT_DEPTH)
    except StrictInputError as exc:
        raise MalformedRequest(exc.message, path=json_path(exc.path) or None) from exc
    if document is None:
        raise MalformedRequest(_BODY_WORDING.empty)
    return image_of(load_document(document))


@health.route("/healthz")
@health.response(200, HealthSchema)
def healthz() -> dict[str, Any]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@health.route("/readyz")
@health.response(200, ReadinessSchema)
@health.alt_response(503, schema=ReadinessSchema, description="Not ready")
def readyz() -> Any:
    """Readiness: a policy and keyring are loaded and the image API answers (its state is
    refreshed in the background; this answers within a second, from the last known state).

    A refused reload (broken new policy) keeps the service ready on the old policy; the
    error is shown under ``policy.error``.
    """
    state = _state()
    state.holder.check()
    status = state.holder.status()
    upstream = state.upstream.state()  # cached: never waits on the API server for long
    api_error = upstream.error if not upstream.reachable else None
    ready = status.loaded and upstream.reachable
    body = {
        "ready": ready,
        "policy": {
            "loaded": status.loaded,
            "source": status.source,
            "revision": status.revision,
            "loadedAt": status.loaded_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            if status.loaded_at
            else None,
            "error": status.error,
            "reloads": status.reloads,
        },
        "imageAPI": {"kind": state.api_kind, "reachable": upstream.reachable, "error": api_error},
    }
    return ReadinessSchema().dump(body), (200 if ready else 503)


@health.route("/metrics")
@health.response(200, description="Prometheus text exposition format.")
def metrics() -> Response:
    """Prometheus metrics (every worker's, under gunicorn)."""
    from sigverify.service.metrics import CONTENT_TYPE_LATEST

    return Response(_state().metrics.exposition(), mimetype=CONTENT_TYPE_LATEST.split(";")[0])
