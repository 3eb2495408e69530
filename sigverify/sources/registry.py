"""A Docker Registry HTTP API V2 client for what verification needs: the ``/v2/`` ping, the
token (``Bearer``) and ``Basic`` flows, a manifest by tag or digest, and OpenShift's
signatures extension (``X-Registry-Supports-Signatures: 1``)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from sigverify.limits import MAX_SIGNATURES_PER_IMAGE
from sigverify.sources.auth import Challenge, Credentials, parse_challenge
from sigverify.sources.errors import SourceError
from sigverify.sources.manifest import (
    ACCEPTED_MEDIA_TYPES,
    MAX_MANIFEST_BYTES,
    Manifest,
    read_manifest,
)
from sigverify.sources.transport import Response, TLSSettings, Transport
from sigverify.strict_input import StrictInputError, Wording, read_json

__all__ = ["ExtensionSignature", "RegistryClient", "api_host"]

#: containers/image iolimits.maxSignatureListBodySize.
MAX_SIGNATURE_LIST_BYTES = 4 * 1024 * 1024
_MAX_PING_BYTES = 64 * 1024
_MAX_TOKEN_BYTES = 1024 * 1024
_TOKEN_REDIRECTS = 3
_WORDING = Wording(
    invalid_json="not valid JSON",
    invalid_yaml="not valid JSON",
    not_a_number="{name} is not a number",
    duplicate_key='duplicate key "{key}"',
    too_deep="nested too deep",
    empty="empty",
)


def api_host(host: str) -> str:
    """Where the registry named ``host`` answers (docker.io is served elsewhere)."""
    return "registry-1.docker.io" if host == "docker.io" else host


@dataclass(frozen=True)
class ExtensionSignature:
    """One atomic signature from the registry's signatures extension."""

    name: str
    content: bytes


class RegistryClient:
    """One repository of one registry, under one :class:`Transport` (one deadline)."""

    def __init__(
        self,
        host: str,
        repository: str,
        *,
        transport: Transport,
        tls: TLSSettings,
        credentials: Credentials | None,
    ) -> None:
        self.host = host
        self.repository = repository
        self._transport = transport
        self._tls = tls
        self._context = tls.context()
        self._credentials = credentials
        self._base = f"https://{api_host(host)}"
        self._authorization: str | None = None
        self._pinged = False
        self.supports_signatures = False

    # -- the ping and authentication ---------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/``: is it a registry, does it serve signatures, how does it authenticate.

        With ``tls_verify`` off, a registry that does not speak TLS is tried over http, as
        containers/image does for insecure registries."""
        try:
            response = self._transport.get(
                f"{self._base}/v2/", context=self._context, max_bytes=_MAX_PING_BYTES
            )
        except SourceError:
            if self._tls.verify:
                raise
            self._base = f"http://{api_host(self.host)}"
            response = self._transport.get(
                f"{self._base}/v2/", context=self._context, max_bytes=_MAX_PING_BYTES
            )
        if response.status not in (200, 401):
            raise SourceError(f"{self.host}: /v2/ answered {response.status}; not a registry?")
        self._pinged = True
        self.supports_signatures = response.header("X-Registry-Supports-Signatures") == "1"
        if response.status == 401:
            self._authorize(response)

    def _authorize(self, response: Response) -> None:
        challenge = parse_challenge(response.header("WWW-Authenticate"))
        if challenge is None:
            raise SourceError(f"{self.host}: asks for authentication without a usable challenge")
        if challenge.scheme == "basic":
            if self._credentials is None:
                raise SourceError(
                    f"{self.host}: authentication required and no credentials found "
                    "(--authfile, $REGISTRY_AUTH_FILE)"
                )
            self._authorization = "Basic " + _basic(self._credentials)
        elif challenge.scheme == "bearer":
            self._authorization = "Bearer " + self._token(challenge)
        else:
            raise SourceError(
                f"{self.host}: unsupported authentication scheme {challenge.scheme!r}"
            )

    def _token(self, challenge: Challenge) -> str:
        realm = challenge.params.get("realm")
        if not realm or urlsplit(realm).scheme not in ("http", "https"):
            raise SourceError(f"{self.host}: the Bearer challenge names no usable realm")
        query = {"scope": f"repository:{self.repository}:pull"}
        if challenge.params.get("service"):
            query["service"] = challenge.params["service"]
        headers = {}
        if self._credentials is not None:
            headers["Authorization"] = "Basic " + _basic(self._credentials)
        separator = "&" if urlsplit(realm).query else "?"
        response = self._transport.get(
            realm + separator + urlencode(sorted(query.items())),
            context=self._context,
            max_bytes=_MAX_TOKEN_BYTES,
            headers=headers,
            redirects=_TOKEN_REDIRECTS,
        )
        if response.status in (401, 403):
            raise SourceError(f"{self.host}: the token service refused the credentials")
        if response.status != 200 or response.oversize:
            raise SourceError(f"{self.host}: the token service answered {response.status}")
        try:
            value = read_json(response.body.decode("utf-8"), _WORDING, max_depth=8)
        except (UnicodeDecodeError, StrictInputError):
            raise SourceError(f"{self.host}: the token service answered no JSON") from None
        token = value.get("token") or value.get("access_token") if isinstance(value, dict) else None
        if not isinstance(token, str) or not token or not token.isprintable():
            raise SourceError(f"{self.host}: the token service answered no token")
        return token

    def _get(self, path: str, *, accept: str | None, max_bytes: int) -> Response:
        if not self._pinged:
            self.ping()
        for attempt in range(2):
            headers = {}
            if accept:
                headers["Accept"] = accept
            if self._authorization:
                headers["Authorization"] = self._authorization
            response = self._transport.get(
                self._base + path, context=self._context, max_bytes=max_bytes, headers=headers
            )
            if response.status != 401 or attempt:
                return response
            # A scope the ping's answer did not cover: one more challenge, then it stands.
            self._authorize(response)
        raise AssertionError("unreachable")

    # -- manifests and signatures --------------------------------------------------------

    def manifest(self, reference: str, *, digest: str | None) -> Manifest:
        """The manifest named by tag or digest ``reference``; ``digest`` when it is one."""
        where = f"{self.host}/{self.repository}{'@' if digest else ':'}{reference}"
        response = self._get(
            f"/v2/{self.repository}/manifests/{reference}",
            accept=", ".join(ACCEPTED_MEDIA_TYPES),
            max_bytes=MAX_MANIFEST_BYTES,
        )
        if response.status == 404:
            raise SourceError(f"{where}: manifest unknown")
        if response.status in (401, 403):
            raise SourceError(f"{where}: access denied ({response.status}); check the credentials")
        if response.status != 200:
            raise SourceError(f"{where}: the registry answered {response.status}")
        if response.oversize:
            raise SourceError(f"{where}: the manifest is larger than {MAX_MANIFEST_BYTES} bytes")
        return read_manifest(where, response.body, response.header("Content-Type"), digest)

    def signatures(self, digest: str) -> list[ExtensionSignature]:
        """The atomic signatures the extension holds for ``digest`` (404: none).

        Only entries with ``schemaVersion`` 2 and ``type`` ``atomic`` count (containers/image
        skips the others)."""
        where = f"{self.host}: signatures extension"
        response = self._get(
            f"/extensions/v2/{self.repository}/signatures/{digest}",
            accept="application/json",
            max_bytes=MAX_SIGNATURE_LIST_BYTES,
        )
        if response.status == 404:
            return []
        if response.status != 200:
            raise SourceError(f"{where} answered {response.status}")
        if response.oversize:
            raise SourceError(f"{where}: larger than {MAX_SIGNATURE_LIST_BYTES} bytes")
        try:
            value = read_json(response.body.decode("utf-8"), _WORDING, max_depth=8)
        except (UnicodeDecodeError, StrictInputError) as exc:
            detail = exc.message if isinstance(exc, StrictInputError) else "not UTF-8"
            raise SourceError(f"{where}: {detail}") from None
        entries = value.get("signatures") if isinstance(value, dict) else None
        if not isinstance(entries, list):
            raise SourceError(f"{where}: no signatures list")
        found: list[ExtensionSignature] = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise SourceError(f"{where}: signatures[{index}] is not an object")
            if entry.get("schemaVersion") != 2 or entry.get("type") != "atomic":
                continue
            name, content = entry.get("name", ""), entry.get("content")
            if not isinstance(name, str) or not isinstance(content, str):
                raise SourceError(f"{where}: signatures[{index}] has no name or content string")
            try:
                blob = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                raise SourceError(f"{where}: signatures[{index}].content is not base64") from None
            found.append(ExtensionSignature(name, blob))
            if len(found) > MAX_SIGNATURES_PER_IMAGE:
                raise SourceError(
                    f"{where}: more than {MAX_SIGNATURES_PER_IMAGE} signatures; none are used"
                )
        return found


def _basic(credentials: Credentials) -> str:
    pair = f"{credentials.username}:{credentials.password}".encode()
    return base64.b64encode(pair).decode("ascii")
