"""Signature sources beside the Image object: the lookaside store that containers-registries.d(5)
names, and the registry's signatures extension, with the registry client (manifests, the token
and basic flows, containers-auth.json credentials, containers-certs.d TLS) they need.

An adapter: it touches the network and files, knows no face, and decides nothing. It turns a
pull spec into a typed Image whose signatures carry their source, for the one engine.
"""

from __future__ import annotations

from sigverify.sources.errors import SourceError
from sigverify.sources.remote import (
    SOURCE_IMAGE,
    SOURCE_LOOKASIDE,
    SOURCE_REGISTRY,
    RegistryImage,
    SourceOptions,
    SourceReport,
    fetch_image,
    label_sources,
    parse_pull_spec,
)

__all__ = [
    "SOURCE_IMAGE",
    "SOURCE_LOOKASIDE",
    "SOURCE_REGISTRY",
    "RegistryImage",
    "SourceError",
    "SourceOptions",
    "SourceReport",
    "fetch_image",
    "label_sources",
    "parse_pull_spec",
]
