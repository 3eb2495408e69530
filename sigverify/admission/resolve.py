"""From the ``image`` string of a container to the Image whose signatures decide.

Rules (issue 5, §2):

- **By digest** (``name@sha256:…``, with or without a tag): when the name is
  ``<internal registry host>/<namespace>/<stream>``, the ImageStreamImage
  ``<stream>@<digest>`` of that namespace — the registry serves only what the stream holds;
  otherwise the cluster-scoped Image named by the digest.
- **By tag**: when the name is ``<internal registry host>/<namespace>/<stream>``, the
  ImageStreamTag ``<stream>:<tag>``; a short name (``app:v1``) is tried as an ImageStreamTag of
  the pod's namespace whose ``lookupPolicy.local`` is set. Any other tag is *unpinned*: we
  never ask a registry what it points to, so the admission configuration's unpinned-tag rule
  decides.

The identity an image is verified for is the reference the pod pulls, except for the internal
registry, whose Images carry the reference they were imported from (``dockerImageReference``)
and are verified for that, as ``oc adm verify-image-signature`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from sigverify.core.reference import DockerReference, ReferenceError, parse_reference
from sigverify.errors import NotFoundError

__all__ = ["ImageLookup", "Resolution", "ResolutionKind", "Resolver", "parse_text"]


class ImageLookup(Protocol):
    """The part of the cluster's ImageAPI admission reads (it never writes)."""

    def get_imagestreamimage(self, namespace: str, name: str) -> dict[str, Any]: ...

    def get_image(self, name: str) -> dict[str, Any]: ...

    def get_imagestreamtag(self, namespace: str, name: str) -> dict[str, Any]: ...


class ResolutionKind(StrEnum):
    IMAGE = "image"  # an Image was found: verify it
    UNPINNED = "unpinned"  # a tag that no image stream resolves
    NOT_FOUND = "not-found"  # a digest (or stream tag) the cluster does not know
    INVALID = "invalid"  # not a valid image reference


@dataclass(frozen=True)
class Resolution:
    """What one container image string resolved to."""

    kind: ResolutionKind
    text: str
    reference: DockerReference | None = None
    image: Mapping[str, Any] | None = None  # the Image document (kind IMAGE)
    expected_identity: str | None = None  # None: the Image's own dockerImageReference
    pinned: str | None = None  # by-digest reference to run instead of a resolved tag
    via: str = ""  # the object that resolved it, for messages
    message: str = ""

    @property
    def digest(self) -> str | None:
        if self.image is not None:
            name = self.image.get("metadata", {}).get("name")
            return name if isinstance(name, str) else None
        return self.reference.digest if self.reference else None


def parse_text(text: str) -> DockerReference | ReferenceError:
    """``parse_reference(text)``, or the error it raised (without its traceback)."""
    try:
        return parse_reference(text)
    except ReferenceError as exc:
        return exc.with_traceback(None)


def _short_name(text: str) -> str | None:
    """``app`` for ``app``/``app:v1``/``app@sha256:…`` (no registry, no namespace), else None."""
    name = text.split("@", 1)[0]
    if "/" in name:
        return None
    return name.split(":", 1)[0]


def _image_of(document: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    image = document.get("image")
    if not isinstance(image, Mapping):
        raise NotFoundError(f"{where} has no image")
    return image


class Resolver:
    """Resolves container image strings against the cluster's image API."""

    def __init__(self, api: ImageLookup, internal_registry_hosts: tuple[str, ...]) -> None:
        self._api = api
        self._internal = frozenset(internal_registry_hosts)

    def _internal_stream(self, reference: DockerReference) -> tuple[str, str] | None:
        if reference.domain not in self._internal:
            return None
        parts = reference.path.split("/")
        return (parts[0], parts[1]) if len(parts) == 2 else None

    def resolve(
        self, text: str, namespace: str, parsed: DockerReference | ReferenceError | None = None
    ) -> Resolution:
        """Resolve ``text`` for a pod in ``namespace``; ``ClusterError`` if the API fails.

        ``parsed`` is what :func:`parse_text` made of ``text`` already, if anything (an
        admission parses each image string once, for its treatment and every resolution).
        """
        reference = parsed if parsed is not None else parse_text(text)
        if isinstance(reference, ReferenceError):
            return Resolution(ResolutionKind.INVALID, text, message=str(reference))
        stream = self._internal_stream(reference)
        if reference.digest:
            return self._by_digest(text, reference, stream)
        if stream is not None:
            return self._by_stream_tag(text, reference, stream)
        short = _short_name(text)
        if short is not None and namespace:
            local = self._by_local_lookup(text, reference, namespace, short)
            if local is not None:
                return local
        return Resolution(
            ResolutionKind.UNPINNED,
            text,
            reference,
            message="it names a tag, not a digest, and no image stream resolves it",
        )

    def _by_digest(
        self, text: str, reference: DockerReference, stream: tuple[str, str] | None
    ) -> Resolution:
        digest = reference.digest
        assert digest is not None
        if stream is not None:
            namespace, name = stream
            via = f"imagestreamimage {namespace}/{name}@{digest}"
            try:
                document = self._api.get_imagestreamimage(namespace, f"{name}@{digest}")
            except NotFoundError:
                return Resolution(
                    ResolutionKind.NOT_FOUND,
                    text,
                    reference,
                    via=via,
                    message=f"image stream {namespace}/{name} holds no image {digest}",
                )
            return Resolution(
                ResolutionKind.IMAGE, text, reference, image=_image_of(document, via), via=via
            )
        via = f"image {digest}"
        try:
            image = self._api.get_image(digest)
        except NotFoundError:
            return Resolution(
                ResolutionKind.NOT_FOUND,
                text,
                reference,
                via=via,
                message=f"the cluster has no Image {digest}, so it has no signatures to check",
            )
        return Resolution(
            ResolutionKind.IMAGE,
            text,
            reference,
            image=image,
            expected_identity=f"{reference.name}@{digest}",
            via=via,
        )

    def _by_stream_tag(
        self, text: str, reference: DockerReference, stream: tuple[str, str]
    ) -> Resolution:
        namespace, name = stream
        tag = reference.tag or "latest"
        via = f"imagestreamtag {namespace}/{name}:{tag}"
        try:
            document = self._api.get_imagestreamtag(namespace, f"{name}:{tag}")
        except NotFoundError:
            return Resolution(
                ResolutionKind.UNPINNED,
                text,
                reference,
                via=via,
                message=f"image stream tag {namespace}/{name}:{tag} does not exist",
            )
        image = self._as_stored(namespace, name, _image_of(document, via), via)
        digest = image.get("metadata", {}).get("name")
        return Resolution(
            ResolutionKind.IMAGE,
            text,
            reference,
            image=image,
            pinned=f"{reference.name}@{digest}" if isinstance(digest, str) else None,
            via=via,
        )

    def _as_stored(
        self, namespace: str, stream: str, image: Mapping[str, Any], via: str
    ) -> Mapping[str, Any]:
        """The Image as an ImageStreamImage shows it, so a tag is judged as its digest is.

        An ImageStreamTag's Image carries the tag event's pull spec as its
        ``dockerImageReference``; under the ``Local`` reference policy that is the internal
        registry's, not the reference the image was imported (and signed) as. Only then is
        the ImageStreamImage fetched, to verify for the same identity as the pinned digest.
        """
        pull = image.get("dockerImageReference")
        digest = image.get("metadata", {}).get("name")
        if not (isinstance(pull, str) and isinstance(digest, str)):
            return image
        try:
            internal = parse_reference(pull).domain in self._internal
        except ReferenceError:
            internal = False
        if not internal:
            return image
        try:
            document = self._api.get_imagestreamimage(namespace, f"{stream}@{digest}")
        except NotFoundError:
            return image
        return _image_of(document, via)

    def _by_local_lookup(
        self, text: str, reference: DockerReference, namespace: str, stream: str
    ) -> Resolution | None:
        tag = reference.tag or "latest"
        via = f"imagestreamtag {namespace}/{stream}:{tag}"
        try:
            document = self._api.get_imagestreamtag(namespace, f"{stream}:{tag}")
        except NotFoundError:
            return None
        lookup = document.get("lookupPolicy")
        if not (isinstance(lookup, Mapping) and lookup.get("local") is True):
            return None  # without local lookup the runtime pulls docker.io/library/<name>
        tagged = _image_of(document, via)
        pull = tagged.get("dockerImageReference")
        digest = tagged.get("metadata", {}).get("name")
        # What OpenShift's local lookup would run: the tag event's pull spec, by digest.
        pinned = pull if isinstance(pull, str) and isinstance(digest, str) and "@" in pull else None
        image = self._as_stored(namespace, stream, tagged, via)
        return Resolution(
            ResolutionKind.IMAGE, text, reference, image=image, pinned=pinned, via=via
        )
