"""Bounded HTTP(S) GETs for the registry, its token service and lookaside stores.

Everything a registry sends is hostile: each answer is read up to a cap, each request has a
timeout cut to what is left of the whole lookup's deadline, retries are few and only for
answers that say "try again" (a connection that failed, 429, 502, 503, 504), redirects are
followed only where the caller allows them (the token flow), never from https to http, and a
host the caller does not allow is never contacted (the webhook's no-SSRF rule).
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from sigverify.sources.errors import SourceError

__all__ = ["Response", "TLSSettings", "Transport", "host_of"]

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_USER_AGENT = "sigverify"


@dataclass(frozen=True)
class Response:
    """One answer: ``body`` holds at most the cap plus one byte (``oversize`` then)."""

    url: str
    status: int
    headers: Message
    body: bytes
    oversize: bool

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return str(value) if value is not None else None


@dataclass(frozen=True)
class TLSSettings:
    """``tls_verify`` and containers-certs.d(5) files: ``*.crt`` CAs (added to the system
    ones), ``*.cert`` + ``*.key`` client pairs."""

    verify: bool = True
    cert_dir: Path | None = None

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.cert_dir is not None:
            _load_cert_dir(context, self.cert_dir)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def _load_cert_dir(context: ssl.SSLContext, folder: Path) -> None:
    try:
        names = sorted(p.name for p in folder.iterdir())
    except FileNotFoundError:
        return  # containers/image: a missing certs.d directory is no error
    except OSError as exc:
        raise SourceError(f"cannot read certificate directory {folder}: {exc.strerror}") from exc
    try:
        for name in names:
            if name.endswith(".crt"):
                context.load_verify_locations(cafile=str(folder / name))
        for name in names:
            if name.endswith(".cert"):
                key = folder / (name.removesuffix(".cert") + ".key")
                if not key.exists():
                    raise SourceError(f"client certificate {folder / name} has no key {key.name}")
                context.load_cert_chain(str(folder / name), str(key))
            elif (
                name.endswith(".key")
                and not (folder / (name.removesuffix(".key") + ".cert")).exists()
            ):
                raise SourceError(f"client key {folder / name} has no certificate")
    except (ssl.SSLError, OSError) as exc:
        raise SourceError(f"cannot load certificates from {folder}: {exc}") from exc


def host_of(url: str) -> str:
    """``host[:port]`` of ``url`` as a registry is named (the port only when given)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port is not None else host


class Transport:
    """GETs under one deadline (``time.monotonic()`` value) for one lookup."""

    def __init__(
        self,
        *,
        timeout: float,
        deadline: float,
        retries: int = 2,
        backoff: float = 0.2,
        allowed: Callable[[str], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self.retries = retries
        self.backoff = backoff
        self.allowed = allowed
        self._clock = clock
        self._sleep = sleep

    def check_allowed(self, url: str) -> None:
        """Refuse, before any connection, a host the caller does not allow."""
        if self.allowed is not None and not self.allowed(host_of(url)):
            raise SourceError(f"{host_of(url)} is not on the allow-list; not contacted")

    def get(
        self,
        url: str,
        *,
        context: ssl.SSLContext,
        max_bytes: int,
        headers: Mapping[str, str] | None = None,
        redirects: int = 0,
        drop_auth_on_redirect: bool = True,
    ) -> Response:
        """GET ``url``; retried on a failed connection or a "try again" status."""
        attempt = 0
        while True:
            try:
                response = self._follow(url, context, max_bytes, dict(headers or {}), redirects)
            except _Retryable as exc:
                if attempt >= self.retries or not self._wait(attempt):
                    raise SourceError(f"{exc.what}: {exc}") from None
                attempt += 1
                continue
            if (
                response.status in _RETRY_STATUSES
                and attempt < self.retries
                and self._wait(attempt)
            ):
                attempt += 1
                continue
            return response

    def _wait(self, attempt: int) -> bool:
        pause = self.backoff * (2**attempt)
        if self._clock() + pause >= self.deadline:
            return False
        self._sleep(pause)
        return True

    def _follow(
        self,
        url: str,
        context: ssl.SSLContext,
        max_bytes: int,
        headers: dict[str, str],
        redirects: int,
    ) -> Response:
        for _ in range(redirects + 1):
            response = self._once(url, context, max_bytes, headers)
            location = response.header("Location")
            if response.status not in (301, 302, 303, 307, 308) or not redirects or not location:
                return response
            target = urljoin(url, location)
            if urlsplit(target).scheme not in ("http", "https") or (
                urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https"
            ):
                raise SourceError(f"{url} redirected to {target!r}: refused")
            if host_of(target) != host_of(url):
                headers.pop("Authorization", None)  # credentials stay with their host
            url = target
        raise SourceError(f"{url}: more than {redirects} redirects")

    def _once(
        self, url: str, context: ssl.SSLContext, max_bytes: int, headers: dict[str, str]
    ) -> Response:
        self.check_allowed(url)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError(f"{url!r} is not an http or https URL")
        left = self.deadline - self._clock()
        if left <= 0:
            raise SourceError(f"{host_of(url)}: no answer before the deadline")
        timeout = min(self.timeout, left)
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=timeout, context=context
            )
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            connection.request("GET", target, headers={"User-Agent": _USER_AGENT, **headers})
            answer = connection.getresponse()
            # At most the cap plus one byte, whatever Content-Length claims.
            body = _read_bounded(answer, max_bytes + 1, self.deadline, self._clock)
            oversize = len(body) > max_bytes
            return Response(url, answer.status, answer.headers, body, oversize)
        except ssl.SSLCertVerificationError as exc:
            raise SourceError(
                f"{host_of(url)}: TLS certificate not trusted: {exc.verify_message}"
            ) from None
        except ssl.SSLError as exc:
            raise _Retryable(host_of(url), f"TLS failed: {exc.reason or exc}") from None
        except TimeoutError:
            raise _Retryable(host_of(url), f"no answer within {timeout:g} s") from None
        except ConnectionRefusedError:
            raise _Retryable(host_of(url), "connection refused") from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Retryable(host_of(url), str(exc) or type(exc).__name__) from None
        finally:
            connection.close()


class _Retryable(Exception):
    def __init__(self, what: str, message: str) -> None:
        super().__init__(message)
        self.what = f"cannot reach {what}"


def _read_bounded(
    answer: http.client.HTTPResponse, limit: int, deadline: float, clock: Callable[[], float]
) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        if clock() > deadline:
            raise TimeoutError
        chunk = answer.read1(min(65536, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)
