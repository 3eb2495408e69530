"""The embedded store served under the OpenShift image API's REST paths and status codes.

``GET``/``LIST``/``PUT`` of ``/apis/image.openshift.io/v1/…`` images, imagestreams,
imagestreamimages and imagestreamtags, plus ``POST``/``DELETE`` of imagesignatures, with
every failure a Kubernetes ``Status`` body (``reason``, ``message``, ``code``, ``details``).
The OpenShift client is tested end to end against it over a real HTTP server, and the
tests in ``tests/imageapi`` hold it to docs/domain.md §1.

Reads answer as kube-apiserver answers kubectl: the object, a ``Table`` or
``PartialObjectMetadata`` as ``Accept`` asks (:mod:`.tables`), lists filtered by label and
field selectors (:mod:`.selectors`; an unsupported one is a 400). Discovery and OpenAPI are
:mod:`.discovery`'s blueprint.

Changes and writes as kube-apiserver: ``watch=true`` on a list streams ``WatchEvent`` lines
(:mod:`.watch`; selectors and ``Accept`` apply to its events; 429 over the bound of
watchers); ``PATCH`` of an Image takes JSON merge, strategic merge and JSON patches
(:mod:`.patch`); ``?dryRun=All`` and ``fieldValidation`` on every write
(:mod:`.write_options`).

Optional bearer-token checks (``tokens``: token → ``"read"`` or ``"write"``) give the 401 and
403 answers a real cluster gives, for the client's fault tests and for serving the store to
others without handing out write access.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from flask import Blueprint, Flask, Response, request

from sigverify.http_body import BodyTooLarge, check_declared_length, read_body
from sigverify.imageapi.errors import BadRequestError, ClusterError, InvalidObjectError, status_of
from sigverify.imageapi.store.discovery import create_discovery_blueprint, resource_list
from sigverify.imageapi.store.image_store import GROUP, GROUP_VERSION, ImageStore
from sigverify.imageapi.store.patch import PATCH_TYPES, apply_patch
from sigverify.imageapi.store.selectors import (
    ListSelector,
    parse_field_selector,
    parse_label_selector,
    selected_page,
)
from sigverify.imageapi.store.tables import (
    NotAcceptable,
    include_object,
    negotiate,
    partial_metadata,
    partial_metadata_list,
    table,
)
from sigverify.imageapi.store.watch import (
    WatchHub,
    WatchLimits,
    is_watch,
    parse_watch_request,
    peer_closed,
    watch_events,
)
from sigverify.imageapi.store.write_options import FieldValidation, dry_run, field_validation
from sigverify.limits import MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH
from sigverify.strict_input import StrictInputError, Wording, read_json

__all__ = [
    "API_PREFIX",
    "WATCH_HUB",
    "Access",
    "create_rest_blueprint",
    "create_store_app",
    "status_body",
]

API_PREFIX = f"/apis/{GROUP_VERSION}"
Access = Literal["read", "write"]
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_VERBS = {"GET": "get", "HEAD": "get", "PUT": "update", "POST": "create", "DELETE": "delete"}
_VERBS |= {"PATCH": "patch"}
#: ``app.extensions`` key of the blueprint's :class:`WatchHub` (the server ends its watches).
WATCH_HUB = "sigverify.watch_hub"


def status_body(
    code: int,
    reason: str,
    message: str,
    *,
    name: str | None = None,
    kind: str | None = None,
    causes: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A ``metav1.Status`` failure, as the API server writes it."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    details: dict[str, Any] = {}
    if name is not None:
        details["name"] = name
    if kind is not None:
        details["group"] = GROUP
        details["kind"] = kind
    if causes:
        details["causes"] = causes
    if details:
        body["details"] = details
    body["code"] = code
    return body


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status, mimetype="application/json")


def _failure(
    code: int, reason: str, message: str, *, name: str | None = None, kind: str | None = None
) -> Response:
    return _json(status_body(code, reason, message, name=name, kind=kind), code)


def _error_response(error: ClusterError, *, name: str | None, kind: str) -> Response:
    code, reason = status_of(error)
    causes = None
    if isinstance(error, InvalidObjectError):
        causes = [
            {"reason": c.reason, "message": c.message, "field": c.field} for c in error.causes
        ]
    return _json(status_body(code, reason, str(error), name=name, kind=kind, causes=causes), code)


# A body the server cannot decode is a 400 BadRequest, as kube-apiserver answers one.
_BODY_WORDING = Wording(
    invalid_json="the body of the request was in an unknown format",
    invalid_yaml="the body of the request was in an unknown format",
    not_a_number="{name} is not a JSON number",
    duplicate_key='duplicate field "{key}"',
    too_deep=f"the body of the request is nested deeper than {MAX_DOCUMENT_DEPTH} levels",
    empty="the body of the request is empty",
    not_utf8="the body of the request is not valid UTF-8 (byte {start})",
)


def _read_body(accepted: tuple[str, ...] = ("application/json",)) -> Any:
    """The request's JSON body, with the server's 413/415/400 answers for bad ones."""
    check_declared_length(MAX_DOCUMENT_BYTES)
    mimetype = request.mimetype or accepted[0]
    if mimetype not in accepted:
        raise _Unsupported(mimetype, accepted)
    raw = read_body(MAX_DOCUMENT_BYTES)
    try:
        return read_json(raw, _BODY_WORDING, max_depth=MAX_DOCUMENT_DEPTH)
    except StrictInputError as exc:
        raise BadRequestError(exc.located) from exc


class _Unsupported(Exception):
    def __init__(self, mimetype: str, accepted: tuple[str, ...]) -> None:
        self.mimetype = mimetype
        self.accepted = accepted


def _dry_run() -> bool:
    return dry_run(request.args)


def create_rest_blueprint(
    store: ImageStore,
    *,
    tokens: Mapping[str, Access] | None = None,
    watch_limits: WatchLimits | None = None,
) -> Blueprint:
    """A blueprint serving ``store`` at :data:`API_PREFIX`; ``tokens`` enables bearer auth.

    The app it is registered on holds its :class:`WatchHub` as ``extensions[WATCH_HUB]``.
    """
    bp = Blueprint("openshift_image_api", __name__, url_prefix=API_PREFIX)
    hub = WatchHub(store, watch_limits)
    bp.record_once(lambda state: state.app.extensions.setdefault(WATCH_HUB, hub))

    def authorize(resource: str, name: str | None, namespace: str | None) -> Response | None:
        if tokens is None:
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        access = tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if access is None:
            return _failure(401, "Unauthorized", "Unauthorized")
        verb = _VERBS.get(request.method, "get")
        if verb == "get" and name is None:
            verb = "watch" if request.args.get("watch") in ("true", "1") else "list"
        if verb not in ("get", "list", "watch") and access != "write":
            subject = f'{resource}.{GROUP} "{name}"' if name else f"{resource}.{GROUP}"
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            return _failure(
                403,
                "Forbidden",
                f'{subject} is forbidden: User "{token.strip()}" cannot {verb} resource '
                f'"{resource}" in API group "{GROUP}" {scope}',
                name=name,
                kind=resource,
            )
        return None

    def serve(
        resource: str,
        name: str | None,
        namespace: str | None,
        handlers: Mapping[str, Callable[[], Response]],
    ) -> Response:
        handler = handlers.get("GET" if request.method == "HEAD" else request.method)
        if handler is None:
            return _failure(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )
        denied = authorize(resource, name, namespace)
        if denied is not None:
            return denied
        try:
            return handler()
        except ClusterError as exc:
            return _error_response(exc, name=name, kind=resource)
        except BodyTooLarge as exc:
            return _failure(413, "RequestEntityTooLarge", str(exc))
        except NotAcceptable as exc:
            return _failure(406, "NotAcceptable", str(exc))
        except _Unsupported as exc:
            return _failure(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f'include: {", ".join(exc.accepted)} (got "{exc.mimetype}")',
            )

    def limit_arg() -> int | None:
        text = request.args.get("limit")
        if text in (None, ""):
            return None
        try:
            return int(text)
        except ValueError as exc:
            raise BadRequestError(f"invalid limit {text!r}: must be an integer") from exc

    def single_arg(name: str) -> str:
        values = request.args.getlist(name)
        if len(values) > 1:
            raise BadRequestError(f"{name} given more than once")
        return values[0] if values else ""

    def list_selector(kind: str) -> ListSelector:
        return ListSelector(
            parse_label_selector(single_arg("labelSelector")),
            parse_field_selector(single_arg("fieldSelector"), kind),
        )

    def include() -> str:
        return include_object(request.args.get("includeObject"))

    def answer(kind: str, obj: dict[str, Any]) -> Response:
        """One object, as ``Accept`` asks: itself, a one-row Table, or its metadata."""
        rendering = negotiate(request.headers.get("Accept", ""), listing=False)
        if rendering.form == "table":
            version = _meta_of(obj).get("resourceVersion")
            meta = {"resourceVersion": version} if version else {}
            rows = table(kind, [obj], meta, include=include(), version=rendering.version)
            return _json(rows)
        if rendering.form == "metadata":
            return _json(partial_metadata(obj, rendering.version))
        return _json(obj)

    def event_rendering(kind: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """Each watch event's object as ``Accept`` asks (as kube-apiserver renders events):
        itself, a one-row Table, or its PartialObjectMetadata."""
        rendering = negotiate(request.headers.get("Accept", ""), listing=True)
        shown = include()
        if rendering.form == "table":

            def one_row(obj: dict[str, Any]) -> dict[str, Any]:
                version = _meta_of(obj).get("resourceVersion")
                meta = {"resourceVersion": version} if version else {}
                return table(kind, [obj], meta, include=shown, version=rendering.version)

            return one_row
        if rendering.form == "metadata":
            return lambda obj: partial_metadata(obj, rendering.version)
        return lambda obj: obj

    def watching(kind: str, namespace: str | None) -> Response:
        watch = parse_watch_request(request.args, kind, namespace, hub.limits)
        selector = list_selector(kind)
        render = event_rendering(kind)
        if not hub.acquire():
            response = _failure(
                429,
                "TooManyRequests",
                f"too many watches: this server process serves at most "
                f"{hub.limits.max_watchers} at a time; retry later",
            )
            response.headers["Retry-After"] = "1"
            return response
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                hub.release()

        closed = peer_closed(request.environ)

        def lines() -> Any:
            try:
                yield from watch_events(
                    hub,
                    watch,
                    render=render,
                    matches=None if selector.empty else selector.matches,
                    peer_closed=closed,
                )
            finally:
                release()

        response = Response(lines(), 200, mimetype="application/json")
        response.call_on_close(release)
        return response

    def listing(kind: str, namespace: str | None) -> Callable[[], Response]:
        def run() -> Response:
            if request.method == "GET" and is_watch(request.args):
                return watching(kind, namespace)
            rendering = negotiate(request.headers.get("Accept", ""), listing=True)
            selector = list_selector(kind)
            items, meta = selected_page(
                store.list_page,
                kind,
                namespace,
                limit_arg(),
                request.args.get("continue") or None,
                selector,
            )
            if rendering.form == "table":
                rows = table(kind, items, meta, include=include(), version=rendering.version)
                return _json(rows)
            if rendering.form == "metadata":
                return _json(partial_metadata_list(items, meta, rendering.version))
            body = {"kind": f"{kind}List", "apiVersion": GROUP_VERSION, "metadata": meta}
            return _json({**body, "items": items})

        return run

    @bp.route("", methods=_ALL_METHODS)
    @bp.route("/", methods=_ALL_METHODS)
    def discovery() -> Response:
        return serve("", None, None, {"GET": lambda: _json(resource_list())})

    @bp.route("/images", methods=_ALL_METHODS)
    def images() -> Response:
        return serve("images", None, None, {"GET": listing("Image", None)})

    @bp.route("/images/<name>", methods=_ALL_METHODS)
    def image(name: str) -> Response:
        return serve(
            "images",
            name,
            None,
            {
                "GET": lambda: answer("Image", store.get_image(name)),
                "PUT": lambda: _put_image(store, name),
                "PATCH": lambda: _patch_image(store, name),
            },
        )

    @bp.route("/imagesignatures", methods=_ALL_METHODS)
    def imagesignatures() -> Response:
        return serve(
            "imagesignatures",
            None,
            None,
            {"POST": lambda: _add_signature(store)},
        )

    @bp.route("/imagesignatures/<name>", methods=_ALL_METHODS)
    def imagesignature(name: str) -> Response:
        def delete() -> Response:
            store.delete_signature(name, dry_run=_dry_run())
            return _json(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "code": 200,
                }
            )

        return serve("imagesignatures", name, None, {"DELETE": delete})

    @bp.route("/imagestreams", methods=_ALL_METHODS)
    def all_imagestreams() -> Response:
        return serve("imagestreams", None, None, {"GET": listing("ImageStream", None)})

    @bp.route("/namespaces/<namespace>/imagestreams", methods=_ALL_METHODS)
    def imagestreams(namespace: str) -> Response:
        return serve("imagestreams", None, namespace, {"GET": listing("ImageStream", namespace)})

    @bp.route("/namespaces/<namespace>/imagestreams/<name>", methods=_ALL_METHODS)
    def imagestream(namespace: str, name: str) -> Response:
        return serve(
            "imagestreams",
            name,
            namespace,
            {"GET": lambda: answer("ImageStream", store.get_imagestream(namespace, name))},
        )

    @bp.route("/namespaces/<namespace>/imagestreamimages/<name>", methods=_ALL_METHODS)
    def imagestreamimage(namespace: str, name: str) -> Response:
        return serve(
            "imagestreamimages",
            name,
            namespace,
            {
                "GET": lambda: answer(
                    "ImageStreamImage", store.get_imagestreamimage(namespace, name)
                )
            },
        )

    @bp.route("/namespaces/<namespace>/imagestreamtags/<name>", methods=_ALL_METHODS)
    def imagestreamtag(namespace: str, name: str) -> Response:
        return serve(
            "imagestreamtags",
            name,
            namespace,
            {"GET": lambda: answer("ImageStreamTag", store.get_imagestreamtag(namespace, name))},
        )

    @bp.route("/<path:rest>", methods=_ALL_METHODS)
    def unknown(rest: str) -> Response:
        return _failure(404, "NotFound", "the server could not find the requested resource")

    return bp


def _written(body: Any, fields: FieldValidation, status: int = 200) -> Response:
    response = _json(body, status)
    for header, value in fields.headers():
        response.headers.add(header, value)
    return response


def _put_image(store: ImageStore, name: str) -> Response:
    """PUT ``images/{name}`` (``dryRun``, ``fieldValidation``)."""
    dry, fields = _dry_run(), field_validation(request.args)
    body = _object_body()

    def stored() -> dict[str, Any] | None:
        try:
            return store.get_image(name)
        except ClusterError:
            return None  # the update answers for it

    fields.check(body, "Image", stored)
    return _written(store.update_image(body, name=name, dry_run=dry), fields)


def _patch_image(store: ImageStore, name: str) -> Response:
    """PATCH ``images/{name}``: the patch of the request's media type, applied in the store's
    write transaction (see :meth:`ImageStore.patch_image`); ``fieldValidation`` looks at
    the patched Image."""
    dry, fields = _dry_run(), field_validation(request.args)
    body = _read_body(PATCH_TYPES)
    kind = request.mimetype

    def patched(current: dict[str, Any]) -> Any:
        result = apply_patch(kind, current, body)
        fields.check(result, "Image", lambda: current)
        return result

    return _written(store.patch_image(name, patched, dry_run=dry), fields)


def _add_signature(store: ImageStore) -> Response:
    """POST ``imagesignatures`` (``dryRun``, ``fieldValidation``)."""
    dry, fields = _dry_run(), field_validation(request.args)
    body = _object_body()
    fields.check(body, "ImageSignature")
    return _written(store.add_signature(body, dry_run=dry), fields, 201)


def _meta_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _object_body() -> dict[str, Any]:
    body = _read_body()
    if not isinstance(body, dict):
        raise BadRequestError("the body of the request must be a JSON object")
    return body


def create_store_app(
    store: ImageStore,
    *,
    tokens: Mapping[str, Access] | None = None,
    watch_limits: WatchLimits | None = None,
) -> Flask:
    """A Flask app serving only the store's REST (the OpenShift API stand-in)."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = None
    app.register_blueprint(create_discovery_blueprint())
    app.register_blueprint(create_rest_blueprint(store, tokens=tokens, watch_limits=watch_limits))

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return _failure(404, "NotFound", "the server could not find the requested resource")

    @app.errorhandler(405)
    def not_allowed(_: Exception) -> Response:
        return _failure(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )

    return app
