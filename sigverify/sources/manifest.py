"""The manifest a registry serves: its media type, and its digest computed from the bytes.

containers/image: a signature counts only for the digest of the manifest actually fetched, so
the digest is always computed here, never taken from a header; a manifest fetched by digest
whose bytes hash to anything else is refused. Docker schema 1 is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sigverify.sources.errors import SourceError
from sigverify.strict_input import StrictInputError, Wording, read_json

__all__ = [
    "ACCEPTED_MEDIA_TYPES",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "MAX_MANIFEST_BYTES",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Manifest",
    "digest_of",
    "read_manifest",
]

#: containers/image iolimits.maxManifestBodySize.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_SCHEMA1 = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)
ACCEPTED_MEDIA_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
LISTS = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
_ALGORITHMS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
_WORDING = Wording(
    invalid_json="the manifest is not valid JSON",
    invalid_yaml="the manifest is not valid JSON",
    not_a_number="{name} is not a number",
    duplicate_key='duplicate key "{key}"',
    too_deep="the manifest is nested too deep",
    empty="the manifest is empty",
)


@dataclass(frozen=True)
class Manifest:
    """The manifest bytes as fetched, their media type and digest."""

    body: bytes
    media_type: str
    digest: str

    @property
    def is_list(self) -> bool:
        """A manifest list or OCI index: its own digest is what a pod names and is signed."""
        return self.media_type in LISTS


def digest_of(body: bytes, algorithm: str = "sha256") -> str:
    """``algorithm:hex`` of ``body``; only sha256 and sha512 can be computed."""
    hasher = _ALGORITHMS.get(algorithm)
    if hasher is None:
        raise SourceError(f"digest algorithm {algorithm!r} is not supported (sha256, sha512)")
    return f"{algorithm}:{hasher(body).hexdigest()}"


def read_manifest(
    where: str, body: bytes, content_type: str | None, expected: str | None
) -> Manifest:
    """Check ``body`` (as served for ``where``) and compute its digest; ``expected`` is the
    digest it was fetched by, if any."""
    if expected is not None:
        algorithm = expected.partition(":")[0]
        digest = digest_of(body, algorithm)
        if digest != expected:
            raise SourceError(
                f"{where}: the registry served a manifest whose bytes hash to {digest}, "
                f"not to the digest asked for"
            )
    else:
        digest = digest_of(body)
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    try:
        value = read_json(body.decode("utf-8"), _WORDING, max_depth=32)
    except UnicodeDecodeError:
        raise SourceError(f"{where}: the manifest is not UTF-8 text") from None
    except StrictInputError as exc:
        raise SourceError(f"{where}: {exc.message}") from None
    if not isinstance(value, dict):
        raise SourceError(f"{where}: the manifest is not a JSON object")
    schema = value.get("schemaVersion")
    if media_type in _SCHEMA1 or schema == 1:
        raise SourceError(
            f"{where}: Docker schema 1 manifests are refused (deprecated, and their digest "
            "is not that of the bytes a signature names); push the image as schema 2 or OCI"
        )
    if schema != 2:
        raise SourceError(f"{where}: unsupported manifest schemaVersion {schema!r}")
    declared = value.get("mediaType")
    if media_type not in ACCEPTED_MEDIA_TYPES:
        # application/json or no type: the body says which (as containers/image guesses).
        if declared in ACCEPTED_MEDIA_TYPES:
            media_type = str(declared)
        elif "manifests" in value:
            media_type = OCI_INDEX
        elif "config" in value and "layers" in value:
            media_type = OCI_MANIFEST
        else:
            raise SourceError(f"{where}: unsupported manifest type {content_type!r}")
    elif declared is not None and declared != media_type:
        raise SourceError(
            f"{where}: the manifest says it is {declared!r} but was served as {media_type!r}"
        )
    return Manifest(body, media_type, digest)
