"""An image by its pull spec, with every signature the sources hold for its digest.

The order sources are read in (docs/sources.md): the lookaside store that registries.d names
for the image, then the registry's signatures extension when ``/v2/`` announces it. (The
Image object, when a cluster or store is configured, comes first; its caller reads it.) Each
signature keeps its source. The manifest decides the digest: it is fetched, hashed, and
only signatures for that digest are gathered; a manifest list's own digest is the one
checked, as containers/image checks it. The result is a typed Image, so the one engine
decides.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from sigverify.core.reference import DockerReference, ReferenceError, parse_reference
from sigverify.core.verdict import ImageVerdict
from sigverify.errors import InputError
from sigverify.objects.types import Image, ImageSignature, ObjectMeta
from sigverify.sources.auth import auth_files, find_credentials
from sigverify.sources.errors import SourceError
from sigverify.sources.lookaside import read_lookaside
from sigverify.sources.registries_d import RegistriesConfig, default_lookaside, load_registries_d
from sigverify.sources.registry import RegistryClient
from sigverify.sources.transport import TLSSettings, Transport

__all__ = [
    "SOURCE_IMAGE",
    "SOURCE_LOOKASIDE",
    "SOURCE_REGISTRY",
    "RegistryImage",
    "SourceOptions",
    "SourceReport",
    "fetch_image",
    "label_sources",
    "parse_pull_spec",
]

SOURCE_IMAGE = "image"
SOURCE_LOOKASIDE = "lookaside"
SOURCE_REGISTRY = "registry"
_TRANSPORT = "docker://"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class SourceOptions:
    """How to reach registries and lookaside stores (skopeo's spelling in the CLI)."""

    registries_d: Path | None = None
    authfile: str | None = None
    tls_verify: bool = True
    cert_dir: Path | None = None
    #: Seconds for one request, and for the whole lookup (manifest and every signature).
    timeout: float = 30.0
    deadline: float = 60.0
    retries: int = 2
    #: ``host[:port]`` → may it be contacted; None: any (the CLI). The webhook's no-SSRF gate.
    allowed: Callable[[str], bool] | None = None
    #: Read at most this: registries.d (already loaded), else the directory above.
    registries: RegistriesConfig | None = None
    #: In-memory ``auths`` mappings looked up before any auth file, first first, as
    #: ``(where, auths)`` (the webhook's pod pull secrets; sources.auth.parse_auths).
    auths: tuple[tuple[str, Mapping[str, object]], ...] = ()


@dataclass(frozen=True)
class SourceReport:
    """What one source gave: how many signatures, or why none."""

    source: str
    location: str
    signatures: int
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "location": self.location,
            "signatures": self.signatures,
            "error": self.error,
        }


@dataclass(frozen=True)
class RegistryImage:
    """The image a pull spec names, as the engine reads it."""

    #: The reference as given (normalised): by tag or by digest.
    reference: DockerReference
    digest: str
    media_type: str
    image: Image
    #: Signature name → its source.
    sources: Mapping[str, str]
    reports: tuple[SourceReport, ...]

    @property
    def by_digest(self) -> str:
        return f"{self.reference.name}@{self.digest}"

    @property
    def identity(self) -> str:
        """The reference the policy evaluates, as containers/image does: the pull spec as
        given (a tag is matched exactly by ``matchRepoDigestOrExact``), by digest otherwise."""
        if self.reference.digest is None and self.reference.tag is not None:
            return f"{self.reference.name}:{self.reference.tag}"
        return self.by_digest


def default_cert_dir(host: str) -> Path | None:
    """containers-certs.d(5): the first of ``/etc/containers/certs.d/<host[:port]>`` and
    ``/etc/docker/certs.d/<host[:port]>`` that exists (``~/.config/containers/certs.d``
    first when not root)."""
    roots = [Path("/etc/containers/certs.d"), Path("/etc/docker/certs.d")]
    if os.geteuid() != 0 and os.environ.get("HOME"):
        roots.insert(0, Path(os.environ["HOME"], ".config/containers/certs.d"))
    return next((root / host for root in roots if (root / host).is_dir()), None)


def parse_pull_spec(text: str) -> DockerReference:
    """``docker://HOST[:PORT]/REPO[:TAG|@DIGEST]`` (the transport prefix optional); a
    reference with neither tag nor digest means ``:latest``, as in containers/image."""
    spec = text.removeprefix(_TRANSPORT)
    if spec.startswith("//"):
        raise InputError(f"{text!r}: docker:// is followed by //")
    try:
        reference = parse_reference(spec)
    except ReferenceError as exc:
        raise InputError(f"{text!r} is not a valid image reference: {exc}") from exc
    if reference.digest is not None and reference.tag is not None:
        raise InputError(f"{text!r}: give a tag or a digest, not both")
    if reference.name_only:
        reference = replace(reference, tag="latest")
    return reference


def fetch_image(reference: DockerReference, options: SourceOptions) -> RegistryImage:
    """Fetch the manifest (its digest from its bytes), then the signatures of that digest
    from each source. :class:`SourceError` when the manifest cannot be had; a source that
    fails later is reported in ``reports`` and adds no signature (never a trust)."""
    clock_start = time.monotonic()
    transport = Transport(
        timeout=options.timeout,
        deadline=clock_start + options.deadline,
        retries=options.retries,
        allowed=options.allowed,
    )
    host, repository = reference.domain, reference.path
    tls = TLSSettings(options.tls_verify, options.cert_dir or default_cert_dir(host))
    credentials = find_credentials(
        host,
        repository,
        auth_files(options.authfile),
        explicit=bool(options.authfile),
        first=options.auths,
    )
    client = RegistryClient(host, repository, transport=transport, tls=tls, credentials=credentials)
    transport.check_allowed(f"https://{host}/")
    if reference.digest is not None:
        manifest = client.manifest(reference.digest, digest=reference.digest)
    else:
        manifest = client.manifest(reference.tag or "latest", digest=None)
    digest = manifest.digest

    signatures: list[ImageSignature] = []
    sources: dict[str, str] = {}
    reports: list[SourceReport] = []

    def add(name: str, content: bytes, source: str) -> None:
        full = f"{digest}@{name}"
        if full in sources:
            full = f"{digest}@{source}-{len(signatures) + 1}"
        signatures.append(
            ImageSignature(metadata=ObjectMeta(name=full), type="atomic", content=content)
        )
        sources[full] = source

    registries = options.registries or load_registries_d(options.registries_d)
    base = registries.lookaside_for(reference) or default_lookaside()
    try:
        found = read_lookaside(base, repository, digest, transport=transport, context=tls.context())
    except SourceError as exc:
        reports.append(SourceReport(SOURCE_LOOKASIDE, base, 0, str(exc)))
    else:
        for item in found:
            add(f"lookaside-{item.index}", item.content, SOURCE_LOOKASIDE)
        reports.append(SourceReport(SOURCE_LOOKASIDE, base, len(found)))

    where = f"{host}/extensions/v2/{repository}/signatures"
    if client.supports_signatures:
        try:
            listed = client.signatures(digest)
        except SourceError as exc:
            reports.append(SourceReport(SOURCE_REGISTRY, where, 0, str(exc)))
        else:
            for index, entry in enumerate(listed, 1):
                given = entry.name
                suffix = given.partition("@")[2] if given.startswith(f"{digest}@") else ""
                name = suffix if _SAFE_NAME.fullmatch(suffix) else f"registry-{index}"
                add(name, entry.content, SOURCE_REGISTRY)
            reports.append(SourceReport(SOURCE_REGISTRY, where, len(listed)))

    image = Image(
        metadata=ObjectMeta(name=digest),
        docker_image_reference=f"{reference.name}@{digest}",
        docker_image_manifest_media_type=manifest.media_type,
        signatures=tuple(signatures),
    )
    return RegistryImage(
        reference=reference,
        digest=digest,
        media_type=manifest.media_type,
        image=image,
        sources=MappingProxyType(sources),
        reports=tuple(reports),
    )


def label_sources(verdict: ImageVerdict, sources: Mapping[str, str]) -> ImageVerdict:
    """``verdict`` with each signature's source named (the engine never names it)."""
    return replace(
        verdict,
        signatures=tuple(replace(s, source=sources.get(s.name)) for s in verdict.signatures),
    )
