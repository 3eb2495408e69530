"""Reference mode of ``sigverify verify``: fetch ``NS/STREAM@DIGEST`` from somewhere.

Three places answer: the sigverify HTTP API (``--server``, which verifies with its own
policy), an OpenShift cluster (``--kubeconfig``), or an embedded store file (``--store``).
"""

from __future__ import annotations

import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from sigverify.engine.verifier import Verifier
from sigverify.errors import ClusterError, InputError
from sigverify.imageapi.protocol import ImageAPI
from sigverify.limits import MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH
from sigverify.objects.documents import image_of
from sigverify.objects.types import Image
from sigverify.strict_input import StrictInputError, Wording, read_json
from sigverify.writeback.writer import ConditionWriter, verification_body

__all__ = [
    "ImageName",
    "StreamImageRef",
    "fetch_image",
    "parse_image_target",
    "parse_stream_image_ref",
    "verify_locally",
    "verify_via_service",
]


@dataclass(frozen=True)
class StreamImageRef:
    namespace: str
    name: str  # <stream>@<digest>

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ImageName:
    """An Image by its name, the digest (``oc adm verify-image-signature sha256:…``)."""

    name: str

    def __str__(self) -> str:
        return self.name


# The digests an Image is named by (image.openshift.io: the manifest digest).
_IMAGE_NAME = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")


def parse_image_target(text: str, namespace: str | None) -> StreamImageRef | ImageName:
    """What ``sigverify verify`` is asked about, in the forms ``oc`` takes.

    ``sha256:…`` (an Image by name; cluster-scoped, so ``-n`` does not apply),
    ``NS/STREAM@DIGEST``, or ``STREAM@DIGEST`` in ``namespace`` (``-n``, else the context's).
    """
    if _IMAGE_NAME.fullmatch(text):
        return ImageName(text)
    if text.startswith(("sha256:", "sha512:")):
        raise InputError(f"{text!r} is not an image name (sha256: and 64 lowercase hex digits)")
    if "/" in text or "@" not in text:
        ref = parse_stream_image_ref(text)
        if namespace is not None and namespace != ref.namespace:
            raise InputError(
                f"{text!r} names namespace {ref.namespace!r} but -n says {namespace!r}"
            )
        return ref
    if namespace is None:
        raise InputError(
            f"{text!r} needs a namespace: -n NAMESPACE, a context with a namespace, or "
            "NAMESPACE/STREAM@DIGEST"
        )
    return parse_stream_image_ref(f"{namespace}/{text}")


def parse_stream_image_ref(text: str) -> StreamImageRef:
    """``NAMESPACE/STREAM@DIGEST`` (the ImageStreamImage's namespace and name)."""
    namespace, slash, name = text.partition("/")
    stream, at, digest = name.partition("@")
    if not (slash and at and namespace and stream and digest) or "@" in digest or "/" in name:
        raise InputError(f"{text!r} is not NAMESPACE/STREAM@DIGEST (e.g. demo/app@sha256:…)")
    return StreamImageRef(namespace, name)


def fetch_image(api: ImageAPI, ref: StreamImageRef | ImageName) -> Image:
    if isinstance(ref, ImageName):
        return image_of(api.get_image(ref.name), answer_to="Image")
    document = api.get_imagestreamimage(ref.namespace, ref.name)
    return image_of(document, answer_to="ImageStreamImage")


def verify_locally(
    api: ImageAPI,
    verifier: Verifier,
    ref: StreamImageRef | ImageName,
    *,
    expected_identity: str | None,
    record: bool,
) -> dict[str, Any]:
    """Verify with the local policy; with ``record``, write the conditions back."""
    image = fetch_image(api, ref)
    if not record:
        return verification_body(verifier.verify_image(image, expected_identity=expected_identity))
    writer = ConditionWriter(api, verifier)
    return verification_body(writer.record(image.name, expected_identity=expected_identity))


def _service_tls(token: str | None) -> tuple[dict[str, str], ssl.SSLContext]:
    """The ``Authorization`` header and TLS trust for ``sigverify serve``: ``--token``, else
    ``$SIGVERIFY_TOKEN``, else the state folder's admin token, which goes only to a server
    whose certificate the state folder's CA signed."""
    from sigverify.authn.statedir import client_credentials

    credentials = client_credentials(token)
    if credentials.ca_only:
        context = ssl.create_default_context(cafile=str(credentials.ca_file))
    else:
        context = ssl.create_default_context()
        if credentials.ca_file is not None:
            context.load_verify_locations(cafile=str(credentials.ca_file))
    headers = {"Authorization": f"Bearer {credentials.token}"} if credentials.token else {}
    return headers, context


def verify_via_service(
    server: str,
    ref: StreamImageRef,
    *,
    expected_identity: str | None,
    record: bool,
    timeout: float,
    token: str | None = None,
) -> dict[str, Any]:
    """Ask a running sigverify service; its JSON verdict is returned as it came.

    A bearer token is sent over HTTPS only (as kubectl does); plain http:// is for a server
    running ``--insecure-no-auth`` on loopback.
    """
    base = server.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InputError(f"--server {server!r} must be an http:// or https:// URL")
    path = "/api/v1/namespaces/{}/imagestreamimages/{}/verification".format(
        urllib.parse.quote(ref.namespace, safe=""), urllib.parse.quote(ref.name, safe="@:")
    )
    query: dict[str, str] = {}
    if expected_identity:
        query["expectedIdentity"] = expected_identity
    if record:
        query["record"] = "true"
    url = base + path + ("?" + urllib.parse.urlencode(query) if query else "")
    headers = {"Accept": "application/json"}
    context = None
    if base.startswith("https://"):
        authorization, context = _service_tls(token)
        headers |= authorization
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, method="POST" if record else "GET", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            return _json_body(response.read(MAX_DOCUMENT_BYTES + 1), url)
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_DOCUMENT_BYTES + 1)
        message = _error_message(body) or exc.reason
        raise ClusterError(f"{url}: {exc.code} {message}") from exc
    except TimeoutError as exc:
        raise ClusterError(f"{url}: no answer within {timeout:g} s") from exc
    except urllib.error.URLError as exc:
        raise ClusterError(f"{url}: cannot connect: {exc.reason}") from exc
    except OSError as exc:
        raise ClusterError(f"{url}: {exc}") from exc


# The service's answer: a verdict, or an error body {code, status, message, errors}.
_ANSWER_WORDING = Wording(
    invalid_json="the answer is not JSON",
    invalid_yaml="the answer is not JSON",
    not_a_number="{name} is not a JSON number",
    duplicate_key="the answer repeats the key {key!r}",
    too_deep=f"the answer is nested deeper than {MAX_DOCUMENT_DEPTH} levels",
    empty="the answer is empty",
    too_large="the answer is larger than {limit} bytes",
    not_utf8="the answer is not valid UTF-8 (byte {start})",
)


def _json_body(data: bytes, url: str) -> dict[str, Any]:
    try:
        body = read_json(
            data, _ANSWER_WORDING, max_depth=MAX_DOCUMENT_DEPTH, max_bytes=MAX_DOCUMENT_BYTES
        )
    except StrictInputError as exc:
        raise ClusterError(f"{url}: {exc.located}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("trusted"), bool):
        raise ClusterError(f"{url}: the answer is not a sigverify verdict")
    return body


def _error_message(data: bytes) -> str | None:
    try:
        body = read_json(data, _ANSWER_WORDING, max_depth=MAX_DOCUMENT_DEPTH)
    except StrictInputError:
        return None
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else None
