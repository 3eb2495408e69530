"""Reading a lookaside signature store, as containers/image reads it
(``docker/docker_image_src.go``, ``docs/signature-protocols.md``): ``base`` + ``/`` + the
repository path + ``@<algorithm>=<hex>/signature-N``, N from 1 until the first one that is
missing (404 over http(s), no such file for ``file://``); any other answer is an error."""

from __future__ import annotations

import os
import ssl
import stat
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from sigverify.limits import MAX_SIGNATURE_BLOB_BYTES, MAX_SIGNATURES_PER_IMAGE
from sigverify.sources.errors import SourceError
from sigverify.sources.transport import Transport

__all__ = ["LookasideSignature", "read_lookaside", "signature_url"]


@dataclass(frozen=True)
class LookasideSignature:
    """``signature-<index>``; ``content`` holds at most the blob cap plus one byte, so an
    oversized blob reaches the engine, which refuses it by size."""

    index: int
    url: str
    content: bytes


def signature_url(base: str, repository: str, digest: str, index: int) -> str:
    """``base/<repository>@<algorithm>=<hex>/signature-<index>`` (URL path concatenation,
    as containers/image builds it)."""
    algorithm, _, hex_digest = digest.partition(":")
    parts = urlsplit(base)
    path = f"{parts.path}/{repository}@{algorithm}={hex_digest}/signature-{index}"
    return parts._replace(path=path).geturl()


def read_lookaside(
    base: str,
    repository: str,
    digest: str,
    *,
    transport: Transport,
    context: ssl.SSLContext,
) -> list[LookasideSignature]:
    """Every signature of ``digest`` in the store at ``base``; :class:`SourceError` when the
    store fails or holds more than ``MAX_SIGNATURES_PER_IMAGE``."""
    scheme = urlsplit(base).scheme
    if scheme not in ("file", "http", "https"):
        raise SourceError(f"lookaside {base!r}: unsupported URL scheme {scheme!r}")
    if scheme != "file":
        transport.check_allowed(base)
    found: list[LookasideSignature] = []
    for index in range(1, MAX_SIGNATURES_PER_IMAGE + 2):
        url = signature_url(base, repository, digest, index)
        content = _read_file(url) if scheme == "file" else _read_http(url, transport, context)
        if content is None:
            return found
        if index > MAX_SIGNATURES_PER_IMAGE:
            raise SourceError(
                f"lookaside {base}: more than {MAX_SIGNATURES_PER_IMAGE} signatures; none are used"
            )
        found.append(LookasideSignature(index, url, content))
    raise AssertionError("unreachable")


def _read_file(url: str) -> bytes | None:
    path = unquote(urlsplit(url).path)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SourceError(f"lookaside {url}: {exc.strerror}") from exc
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise SourceError(f"lookaside {url}: not a regular file")
        return handle.read(MAX_SIGNATURE_BLOB_BYTES + 1)


def _read_http(url: str, transport: Transport, context: ssl.SSLContext) -> bytes | None:
    response = transport.get(url, context=context, max_bytes=MAX_SIGNATURE_BLOB_BYTES)
    if response.status == 404:
        return None
    if response.status != 200:
        raise SourceError(f"lookaside {url}: answered {response.status}")
    return response.body
