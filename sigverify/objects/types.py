"""Typed, immutable models of the ``image.openshift.io/v1`` objects sigverify reads and writes.

Field names follow openshift/api ``image/v1/types.go`` in snake_case. Every model carries a
:class:`Preserved` record of the JSON object it was read from (unknown members, explicit
nulls, key order, the original text of times), so that writing a model back gives the very
object that was read, plus only the changes made on purpose: an Image update (PUT) stores
exactly what the client sends, so a dropped member is data destroyed on the cluster.

Update models with :func:`dataclasses.replace`; the preserved record follows the copy.
Loading and dumping live in :mod:`sigverify.objects.schemas`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "CONDITION_STATUSES",
    "NOTHING_PRESERVED",
    "Image",
    "ImageLayer",
    "ImageManifest",
    "ImageSignature",
    "ImageStreamImage",
    "ObjectMeta",
    "Preserved",
    "SignatureCondition",
    "SignatureIssuer",
    "SignatureSubject",
    "format_time",
    "parse_time",
]

#: corev1.ConditionStatus values.
CONDITION_STATUSES = ("True", "False", "Unknown")

# RFC 3339 as Go's time.Parse(time.RFC3339, …) accepts it (metav1.Time.UnmarshalJSON):
# upper-case T and Z, optional fractional seconds, a numeric offset or Z.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|([+-])(\d{2}):(\d{2}))"
)


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 time into an aware UTC datetime; raise ``ValueError`` if invalid.

    Fractions beyond microseconds are truncated (metav1.Time keeps whole seconds anyway).
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an RFC 3339 time")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, sign, off_hours, off_minutes = match.groups()[6:]
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        value = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an RFC 3339 time: {exc}") from exc
    if sign is not None:
        if int(off_hours) > 23 or int(off_minutes) > 59:
            raise ValueError(f"{text!r} has an invalid UTC offset")
        offset = timedelta(hours=int(off_hours), minutes=int(off_minutes))
        try:
            value = value - offset if sign == "+" else value + offset
        except OverflowError as exc:
            raise ValueError(f"{text!r} is out of range") from exc
    return value


def format_time(value: datetime) -> str:
    """metav1.Time's JSON form: RFC 3339, UTC, whole seconds (``2026-11-27T07:00:00Z``).

    A naive datetime is taken to be UTC.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    v = value.astimezone(UTC)
    # Explicit padding: strftime("%Y") does not zero-pad years before 1000 on glibc.
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z"


@dataclass(frozen=True)
class Preserved:
    """What a model keeps from its source JSON object so it can be written back unchanged.

    ``unknown``: members the model has no field for, with their values as read.
    ``nulls``: known members that were an explicit ``null`` (written back as ``null`` while
    the field stays unset). ``order``: the source object's member order. ``times``: the
    original text of time members, given back while the parsed value is unchanged. A known
    member listed in ``order`` was present, so an empty list read as ``[]`` stays ``[]``.
    """

    unknown: Mapping[str, Any] = field(default_factory=dict)
    nulls: frozenset[str] = frozenset()
    order: tuple[str, ...] = ()
    times: Mapping[str, str] = field(default_factory=dict)


#: The preserved record of a model built in code rather than read from JSON.
NOTHING_PRESERVED = Preserved()


@dataclass(frozen=True)
class ObjectMeta:
    """``metadata``: the members sigverify reads; everything else is preserved as read."""

    name: str | None = None
    namespace: str | None = None
    resource_version: str | None = None
    labels: Mapping[str, str] | None = None
    annotations: Mapping[str, str] | None = None
    preserved: Preserved = field(default=NOTHING_PRESERVED, repr=False)


@dataclass(frozen=True)
class ImageLayer:
    """One entry of ``Image.dockerImageLayers``."""

    name: str | None = None
    size: int | None = None
    media_type: str | None = None
    preserved: Preserved = field(default=NOTHING_PRESERVED, repr=False)


@dataclass(frozen=True)
class ImageManifest:
    """One entry of ``Image.dockerImageManifests`` (a manifest list's sub-manifest)."""

    digest: str | None = None
    media_type: str | None = None
    manifest_size: int | None = None
    architecture: str | None = None
    os: str | None = None
    variant: str | None = None
    preserved: Preserved = field(default=NOTHING_PRESERVED, repr=False)


@dataclass(frozen=True)
class SignatureCondition:
    """One observation about a signature (``Trusted``, ``ForImage``, ``Expired``, ``Revoked``)."""

    type: str
    status: str
    last_probe_time: datetime | None = None
    last_transition_time: datetime | None = None
    reason: str | None = None
    message: str | None = None
    preserved: Preserved = field(default=NOTHING_PRESERVED, repr=False)


@dataclass(frozen=True)
class SignatureIssuer:
    """``issuedBy``: who issued the signing key."""

    organization: str | None = None
    common_name: str | None = None
    preserved: Preserved = field(default=NOTHING_PRESERVED, repr=False)


@dataclass(frozen=True)
class SignatureSubject:
    """``issuedTo``: who owns the signing key; ``publicKeyID`` is always written."""

    organization: str | None = None
    common_name: str | None = None
    public_key_id: str | None = None
    preserved: Preserved = field(default=NOTHING_PRESERVED, repr=False)


@dataclass(frozen=True)
class ImageSignature:
    """One entry of ``Image.signatures``; ``content`` is the raw signature blob."""

    metadata: ObjectMeta
    type: str
    content: bytes
    conditions: tuple[SignatureCondition, ...] = ()
    image_identity: str | None = None
    signed_claims: Mapping[str, str] | None = None
    created: datetime | None = None
    issued_by: SignatureIssuer | None = None
    issued_to: SignatureSubject | None = None
    preserved: Preserved = field(default=NOTHING_PRESERVED, repr=False)

    @property
    def name(self) -> str:
        """``metadata.name``: ``<imageName>@<signatureName>``."""
        return self.metadata.name or ""

    def condition(self, condition_type: str) -> SignatureCondition | None:
        """The first condition of ``condition_type``, if any."""
        for condition in self.conditions:
            if condition.type == condition_type:
                return condition
        return None


@dataclass(frozen=True)
class Image:
    """A cluster-scoped Image, named by its manifest digest."""

    metadata: ObjectMeta
    api_version: str | None = None
    kind: str | None = None
    docker_image_reference: str | None = None
    #: ``runtime.RawExtension``: any JSON value, kept as read.
    docker_image_metadata: Any = None
    docker_image_metadata_version: str | None = None
    docker_image_manifest: str | None = None
    docker_image_layers: tuple[ImageLayer, ...] = ()
    signatures: tuple[ImageSignature, ...] = ()
    docker_image_signatures: tuple[bytes, ...] = ()
    docker_image_manifest_media_type: str | None = None
    docker_image_config: str | None = None
    docker_image_manifests: tuple[ImageManifest, ...] = ()
    preserved: Preserved = field(default=NOTHING_PRESERVED, repr=False)

    @property
    def name(self) -> str:
        """``metadata.name``: the manifest digest ``sha256:<64 hex>``."""
        return self.metadata.name or ""

    @property
    def resource_version(self) -> str | None:
        """``metadata.resourceVersion``, to send back on update."""
        return self.metadata.resource_version

    def signature(self, name: str) -> ImageSignature | None:
        """The first signature named ``name``, if any."""
        for signature in self.signatures:
            if signature.name == name:
                return signature
        return None


@dataclass(frozen=True)
class ImageStreamImage:
    """A namespaced, read-only view ``<stream>@<digest>`` of an Image."""

    metadata: ObjectMeta
    image: Image
    api_version: str | None = None
    kind: str | None = None
    preserved: Preserved = field(default=NOTHING_PRESERVED, repr=False)

    @property
    def name(self) -> str:
        """``metadata.name``: ``<stream>@<digest>``."""
        return self.metadata.name or ""

    @property
    def namespace(self) -> str | None:
        """``metadata.namespace``."""
        return self.metadata.namespace
