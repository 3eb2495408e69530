"""The OpenShift image API over HTTPS, with the ``kubernetes`` package's client machinery.

Credentials come from a kubeconfig (any context; client certificates, tokens and exec
plugins as the ``kubernetes`` package supports them), from the pod's service account
(in-cluster token and CA, the token re-read as it rotates), or from an explicit server URL
and bearer token. Objects are read and written as raw JSON (never through the generated
models, which would drop members they do not know), so an Image PUT back is the Image read.

Every failure becomes one class of :mod:`sigverify.imageapi.errors`: unreachable, timeout,
401, 403, 404, 409 (conflict or already exists), 410, 400/422 (with the server's causes),
5xx. No request is retried here: a retry is the caller's decision (the write-back re-reads
on a conflict; the reconciler moves on and counts the error).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from sigverify.errors import InputError
from sigverify.imageapi.errors import (
    AlreadyExistsError,
    BadRequestError,
    Cause,
    ClusterError,
    ClusterServerError,
    ClusterTimeout,
    ClusterUnreachable,
    ConflictError,
    ExpiredError,
    ForbiddenError,
    InvalidObjectError,
    NotFoundError,
    UnauthorizedError,
)
from sigverify.imageapi.options import (
    DEFAULT_CONNECT_TIMEOUT_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    ClusterOptions,
)
from sigverify.imageapi.protocol import JSONObject, Page
from sigverify.limits import MAX_ENVELOPE_DEPTH
from sigverify.strict_input import StrictInputError, Wording, read_json

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "MAX_RESPONSE_BYTES",
    "ClusterOptions",
    "OpenShiftImageAPI",
    "connect",
    "context_namespace",
]

API = "/apis/image.openshift.io/v1"
CORE_API = "/api/v1"
#: Largest response body read (a page of a list included), in bytes.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_PATH_SAFE = "@:"
# An answer is an object, or a list of them under items[i]: MAX_ENVELOPE_DEPTH leaves each
# object the whole of MAX_DOCUMENT_DEPTH. Size is capped by the read (MAX_RESPONSE_BYTES).
_ANSWER_WORDING = Wording(
    invalid_json="not JSON",
    invalid_yaml="not JSON",
    not_a_number="{name} is not a JSON number",
    duplicate_key="duplicate key {key!r}",
    too_deep=f"nested deeper than {MAX_ENVELOPE_DEPTH} levels",
    empty="empty",
)


def _configuration(options: ClusterOptions) -> Any:
    configuration = k8s_client.Configuration()
    try:
        if options.server:
            configuration.host = options.server.rstrip("/")
            token = options.token
            if token is None and options.token_file:
                token = Path(options.token_file).read_text(encoding="utf-8").strip()
            if token:
                configuration.api_key = {"authorization": f"Bearer {token}"}
            if options.ca_file:
                configuration.ssl_ca_cert = options.ca_file
        elif options.in_cluster or (
            options.kubeconfig is None
            and not os.environ.get("KUBECONFIG")
            and os.environ.get("KUBERNETES_SERVICE_HOST")
        ):
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=options.kubeconfig,
                context=options.context,
                client_configuration=configuration,
                persist_config=False,
            )
    except (k8s_config.ConfigException, OSError, ValueError) as exc:
        where = options.token_file if options.server else (options.kubeconfig or "kubeconfig")
        raise InputError(f"cannot load the cluster credentials: {exc}", path=where) from exc
    if options.insecure_skip_tls_verify:
        configuration.verify_ssl = False
    # One attempt per request; retrying is the caller's decision (module docstring).
    configuration.retries = urllib3.Retry(total=0, redirect=0, raise_on_redirect=True)
    return configuration


def context_namespace(options: ClusterOptions) -> str | None:
    """The namespace of the kubeconfig context ``options`` names (else the current one):
    kubectl's and oc's default for ``-n``. ``None`` when the context sets none."""
    try:
        contexts, current = k8s_config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
            config_file=options.kubeconfig
        )
    except (k8s_config.ConfigException, OSError, ValueError) as exc:
        raise InputError(
            f"cannot load the cluster credentials: {exc}", path=options.kubeconfig or "kubeconfig"
        ) from exc
    if options.context is not None:
        chosen = next((c for c in contexts if c.get("name") == options.context), None)
        if chosen is None:
            raise InputError(
                f"no context {options.context!r} in the kubeconfig",
                path=options.kubeconfig or "kubeconfig",
            )
    else:
        chosen = current
    namespace = (chosen or {}).get("context", {}).get("namespace")
    return namespace if isinstance(namespace, str) and namespace else None


def connect(options: ClusterOptions) -> OpenShiftImageAPI:
    """An :class:`OpenShiftImageAPI` for the cluster ``options`` name."""
    configuration = _configuration(options)
    return OpenShiftImageAPI(
        k8s_client.ApiClient(configuration),
        timeout=options.timeout,
        connect_timeout=options.connect_timeout,
    )


def _status_message(data: bytes, status: int, reason: str) -> tuple[str, str, list[Cause]]:
    """The ``message``, ``reason`` and causes of a Kubernetes ``Status`` body, if it is one."""
    try:
        body = read_json(data, _ANSWER_WORDING, max_depth=MAX_ENVELOPE_DEPTH)
    except StrictInputError:
        body = None  # not a Status: the HTTP status line says what happened
    if isinstance(body, dict) and body.get("kind") == "Status":
        causes = [
            Cause(str(c.get("reason", "")), str(c.get("message", "")), str(c.get("field", "")))
            for c in (body.get("details") or {}).get("causes") or []
            if isinstance(c, dict)
        ]
        return str(body.get("message") or reason), str(body.get("reason") or ""), causes
    return f"HTTP {status} {reason}".strip(), "", []


class OpenShiftImageAPI:
    """``ImageAPI`` over an OpenShift API server."""

    def __init__(
        self,
        api_client: Any,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
    ) -> None:
        self._client = api_client
        self._timeout = (connect_timeout, timeout)
        self.host: str = api_client.configuration.host

    def __repr__(self) -> str:
        return f"OpenShiftImageAPI({self.host!r})"

    def close(self) -> None:
        self._client.close()

    # -- transport ------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: JSONObject | None = None,
    ) -> JSONObject:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        query_params = [(k, v) for k, v in (query or {}).items() if v not in (None, "")]
        what = f"{method} {path}"
        try:
            _, url, header_params, _, _ = self._client.param_serialize(
                method=method,
                resource_path=path,
                query_params=query_params or None,
                header_params=headers,
                auth_settings=["BearerToken"],
            )
            # The body goes as the dict read (the client json.dumps it): no model in between.
            response = self._client.call_api(
                method,
                url,
                header_params=header_params,
                body=body,
                _request_timeout=self._timeout,
            )
            raw = response.response
            try:
                data = raw.read(MAX_RESPONSE_BYTES + 1)
            finally:
                raw.release_conn()
        except k8s_client.ApiException as exc:  # the client's wrapping of TLS failures
            raise ClusterUnreachable(
                f"cannot reach the API server at {self.host} ({what}): {exc.reason}"
            ) from exc
        except urllib3.exceptions.MaxRetryError as exc:
            raise self._transport_error(exc.reason or exc, what) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._transport_error(exc, what) from exc
        if len(data) > MAX_RESPONSE_BYTES:
            raise ClusterServerError(
                f"the API server's answer to {what} is larger than {MAX_RESPONSE_BYTES} bytes",
                502,
            )
        status = int(response.status)
        if 200 <= status < 300:
            try:
                result = read_json(data, _ANSWER_WORDING, max_depth=MAX_ENVELOPE_DEPTH)
            except StrictInputError as exc:
                raise ClusterServerError(
                    f"the API server answered {what} with a body sigverify refuses: {exc.located}",
                    502,
                ) from exc
            if not isinstance(result, dict):
                raise ClusterServerError(
                    f"the API server answered {what} with JSON that is not an object", 502
                )
            return result
        raise self._status_error(status, str(response.reason or ""), data, what)

    def _transport_error(self, error: BaseException, what: str) -> ClusterError:
        # urllib3's NewConnectionError subclasses ConnectTimeoutError: test it first.
        if isinstance(error, urllib3.exceptions.NewConnectionError):
            detail = str(error).rpartition(": ")[2] or str(error)
            return ClusterUnreachable(
                f"cannot reach the API server at {self.host} ({what}): {detail}"
            )
        if isinstance(error, urllib3.exceptions.ConnectTimeoutError):
            return ClusterTimeout(
                f"connecting to the API server at {self.host} timed out after "
                f"{self._timeout[0]:g}s ({what})"
            )
        if isinstance(error, urllib3.exceptions.TimeoutError | TimeoutError):
            return ClusterTimeout(
                f"the API server at {self.host} did not answer within {self._timeout[1]:g}s "
                f"({what})"
            )
        if isinstance(error, urllib3.exceptions.SSLError):
            return ClusterUnreachable(
                f"TLS with the API server at {self.host} failed ({what}): {error}"
            )
        return ClusterUnreachable(f"cannot reach the API server at {self.host} ({what}): {error}")

    def _status_error(self, status: int, reason: str, data: bytes, what: str) -> ClusterError:
        message, status_reason, causes = _status_message(data, status, reason)
        if status == 401:
            return UnauthorizedError(
                f"the API server at {self.host} did not accept the credentials (401 "
                f"Unauthorized, {what}): {message}"
            )
        if status == 403:
            return ForbiddenError(f"permission denied (403 Forbidden, {what}): {message}")
        if status == 404:
            return NotFoundError(message)
        if status == 409:
            if status_reason == "AlreadyExists":
                return AlreadyExistsError(message)
            return ConflictError(message)
        if status == 410:
            return ExpiredError(message)
        if status == 422:
            return InvalidObjectError(message, causes)
        if status in (400, 413, 415):
            return BadRequestError(f"the API server refused {what} ({status}): {message}")
        if status == 504 or status_reason == "Timeout":
            return ClusterTimeout(f"the API server timed out on {what} ({status}): {message}")
        return ClusterServerError(
            f"the API server failed on {what} ({status} {reason}): {message}", status
        )

    # -- ImageAPI -------------------------------------------------------------------------

    def create(self, path: str, body: JSONObject) -> JSONObject:
        """``POST`` ``body`` to ``path``: the review APIs (TokenReview, SubjectAccessReview)."""
        return self._request("POST", path, body=body)

    def ping(self) -> None:
        self._request("GET", API)

    def get_image(self, name: str) -> JSONObject:
        return self._request("GET", f"{API}/images/{quote(name, safe=_PATH_SAFE)}")

    def get_imagestreamimage(self, namespace: str, name: str) -> JSONObject:
        return self._request(
            "GET",
            f"{API}/namespaces/{quote(namespace, safe='')}/imagestreamimages/"
            f"{quote(name, safe=_PATH_SAFE)}",
        )

    def get_imagestreamtag(self, namespace: str, name: str) -> JSONObject:
        return self._request(
            "GET",
            f"{API}/namespaces/{quote(namespace, safe='')}/imagestreamtags/"
            f"{quote(name, safe=_PATH_SAFE)}",
        )

    # -- pull credentials (admission; read-only, docs/admission.md "RBAC") ----------------

    def get_secret(self, namespace: str, name: str) -> JSONObject:
        """A Secret of ``namespace`` (the webhook reads pods' image pull secrets)."""
        return self._request(
            "GET",
            f"{CORE_API}/namespaces/{quote(namespace, safe='')}/secrets/{quote(name, safe='')}",
        )

    def get_service_account(self, namespace: str, name: str) -> JSONObject:
        """A ServiceAccount of ``namespace`` (for its ``imagePullSecrets``)."""
        return self._request(
            "GET",
            f"{CORE_API}/namespaces/{quote(namespace, safe='')}/serviceaccounts/"
            f"{quote(name, safe='')}",
        )

    def _list(self, path: str, limit: int | None, continue_token: str | None) -> Page:
        body = self._request("GET", path, query={"limit": limit, "continue": continue_token})
        items = body.get("items")
        if items is None:
            items = []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ClusterServerError(f"the API server's list at {path} has malformed items", 502)
        token = (body.get("metadata") or {}).get("continue") or None
        return items, token if isinstance(token, str) else None

    def list_objects(
        self, path: str, limit: int | None = None, continue_token: str | None = None
    ) -> Page:
        """One page of any list under the API server (``/api/v1/pods``): ``sigverify audit
        --workloads cluster`` lists workloads through the same client, read-only."""
        if not path.startswith(("/api/", "/apis/")):
            raise InputError(f"not an API path: {path!r}")
        return self._list(path, limit, continue_token)

    def list_images(self, limit: int | None = None, continue_token: str | None = None) -> Page:
        return self._list(f"{API}/images", limit, continue_token)

    def list_imagestreams(
        self,
        namespace: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Page:
        path = (
            f"{API}/namespaces/{quote(namespace, safe='')}/imagestreams"
            if namespace
            else f"{API}/imagestreams"
        )
        return self._list(path, limit, continue_token)

    def update_image(self, image: JSONObject) -> JSONObject:
        name = (image.get("metadata") or {}).get("name")
        if not isinstance(name, str) or not name:
            raise InputError("the Image to update has no metadata.name", path="metadata.name")
        return self._request("PUT", f"{API}/images/{quote(name, safe=_PATH_SAFE)}", body=image)
