"""A policy document's plain values read as typed fields, each problem with its place.

Shared by both policy formats (:mod:`sigverify.policyfile.native`,
:mod:`sigverify.policyfile.containers`): field access that refuses unknown and missing fields,
and the pieces of containers-policy.json(5) the native format reuses as they are
(``signedIdentity`` objects, ``insecureAcceptAnything`` and ``reject``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from sigverify.core.policy import (
    ExactReference,
    ExactRepository,
    IdentityRule,
    InsecureAcceptAnything,
    MatchExact,
    MatchRepoDigestOrExact,
    MatchRepository,
    Reject,
    RemapIdentity,
    Requirement,
)
from sigverify.core.reference import DockerReference, ReferenceError, parse_reference
from sigverify.errors import PolicyError
from sigverify.strict_input import scalar_kind

__all__ = [
    "Invalid",
    "entry",
    "field",
    "identity_rule",
    "kind_of",
    "mapping",
    "nonempty_list",
    "nonempty_string",
    "requirement_list",
    "simple_requirement",
    "string",
    "type_of",
]

_Parsed = TypeVar("_Parsed")


class Invalid(Exception):
    """A problem at ``path`` in the document; becomes a PolicyError naming the file."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def field(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def entry(path: str, key: str) -> str:
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def kind_of(value: object) -> str:
    scalar = scalar_kind(value)
    if scalar is not None:
        return scalar
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def mapping(
    value: object, path: str, *, required: frozenset[str], optional: frozenset[str] = frozenset()
) -> dict[str, object]:
    if not isinstance(value, dict):
        raise Invalid(path, f"expected a mapping, got {kind_of(value)}")
    for name in value:
        if name not in required and name not in optional:
            raise Invalid(path, f'unknown field "{name}"')
    for name in sorted(required):
        if name not in value:
            raise Invalid(path, f'missing required field "{name}"')
    return value


def string(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise Invalid(path, f"expected a string, got {kind_of(value)}")
    return value


def nonempty_string(value: object, path: str) -> str:
    text = string(value, path)
    if not text:
        raise Invalid(path, "must not be empty")
    return text


def nonempty_list(value: object, path: str) -> list[object]:
    if not isinstance(value, list):
        raise Invalid(path, f"expected a list, got {kind_of(value)}")
    if not value:
        raise Invalid(path, "the list must not be empty")
    return value


def type_of(value: object, path: str) -> tuple[dict[str, object], str]:
    if not isinstance(value, dict):
        raise Invalid(path, f"expected a mapping, got {kind_of(value)}")
    if "type" not in value:
        raise Invalid(path, 'missing required field "type"')
    return value, string(value["type"], field(path, "type"))


def requirement_list(
    value: object, path: str, parse: Callable[[object, str], _Parsed]
) -> tuple[_Parsed, ...]:
    if not isinstance(value, list):
        raise Invalid(path, f"expected a list of requirements, got {kind_of(value)}")
    if not value:
        # containers/image: "List of verification policy requirements must not be empty".
        raise Invalid(path, "the list of requirements must not be empty")
    return tuple(parse(item, f"{path}[{i}]") for i, item in enumerate(value))


_SIMPLE_IDENTITIES: dict[str, IdentityRule] = {
    "matchExact": MatchExact(),
    "matchRepoDigestOrExact": MatchRepoDigestOrExact(),
    "matchRepository": MatchRepository(),
}
_IDENTITY_TYPES = (*_SIMPLE_IDENTITIES, "exactReference", "exactRepository", "remapIdentity")


def identity_rule(value: object, path: str) -> IdentityRule:
    """A ``signedIdentity`` object (containers-policy.json(5); same in both formats)."""
    document, kind = type_of(value, path)
    if kind in _SIMPLE_IDENTITIES:
        mapping(document, path, required=frozenset({"type"}))
        return _SIMPLE_IDENTITIES[kind]
    if kind == "exactReference":
        mapping(document, path, required=frozenset({"type", "dockerReference"}))
        where = field(path, "dockerReference")
        reference = _reference(document["dockerReference"], where)
        if reference.name_only:
            raise Invalid(where, f"{reference} contains neither a tag nor a digest")
        return ExactReference(reference)
    if kind == "exactRepository":
        mapping(document, path, required=frozenset({"type", "dockerRepository"}))
        return ExactRepository(
            _reference(document["dockerRepository"], field(path, "dockerRepository"))
        )
    if kind == "remapIdentity":
        mapping(document, path, required=frozenset({"type", "prefix", "signedPrefix"}))
        prefix = string(document["prefix"], field(path, "prefix"))
        signed_prefix = string(document["signedPrefix"], field(path, "signedPrefix"))
        try:
            return RemapIdentity(prefix, signed_prefix)
        except PolicyError as exc:
            raise Invalid(path, str(exc)) from None
    raise Invalid(
        field(path, "type"),
        f'unknown signedIdentity type "{kind}"; expected one of {", ".join(_IDENTITY_TYPES)}',
    )


def _reference(value: object, path: str) -> DockerReference:
    text = string(value, path)
    try:
        return parse_reference(text)
    except ReferenceError as exc:
        raise Invalid(path, f"{text!r} is not a valid reference: {exc}") from None


def simple_requirement(document: dict[str, object], kind: str, path: str) -> Requirement | None:
    if kind == "insecureAcceptAnything":
        mapping(document, path, required=frozenset({"type"}))
        return InsecureAcceptAnything()
    if kind == "reject":
        mapping(document, path, required=frozenset({"type"}))
        return Reject()
    return None
