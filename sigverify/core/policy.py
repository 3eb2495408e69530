"""The trust policy model: requirements, signed-identity rules and scope lookup.

Semantics follow containers-policy.json(5) as implemented by containers/image
(``signature/policy_eval.go``, ``policy_reference_match.go``,
``docker/policyconfiguration/naming.go``); docs/domain.md §4. Pure data and pure functions: the
engine evaluates signatures against these, :mod:`sigverify.policyfile.loader` builds them from
files. Constructors validate, so an invalid policy cannot exist in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from sigverify.core.reference import (
    DOMAIN_PATTERN,
    MAX_NAME_LENGTH,
    DockerReference,
    ReferenceError,
    parse_reference,
)
from sigverify.core.verdict import format_key_id
from sigverify.errors import PolicyError

__all__ = [
    "DEFAULT_SCOPE",
    "ExactReference",
    "ExactRepository",
    "IdentityRule",
    "InsecureAcceptAnything",
    "MatchExact",
    "MatchRepoDigestOrExact",
    "MatchRepository",
    "Policy",
    "Reject",
    "RemapIdentity",
    "Requirement",
    "ScopeMatch",
    "SignedBy",
    "Unsupported",
    "lookup_order",
    "validate_scope",
]

#: ``ScopeMatch.scope`` when no scope of the transport applied and ``default`` was used.
DEFAULT_SCOPE = "default"

_FINGERPRINT = re.compile(r"[0-9A-F]{40}")
_DOMAIN_RE = re.compile(DOMAIN_PATTERN, re.ASCII)
_DOMAIN_PREFIX_RE = re.compile(rf"{DOMAIN_PATTERN}/", re.ASCII)
_NAME_RE = re.compile(
    rf"(?:{DOMAIN_PATTERN}/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*",
    re.ASCII,
)
_PATH_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", re.ASCII)
_WILDCARD_SUFFIX_RE = re.compile(
    r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*",
    re.ASCII,
)


# -- signed identity rules (policy_reference_match.go) ---------------------------------------


@runtime_checkable
class IdentityRule(Protocol):
    """Decides whether a signature's claimed reference is acceptable for the image's."""

    def matches(self, image: DockerReference, signed: DockerReference) -> bool: ...

    def describe(self) -> str: ...


def _match_repo_digest_or_exact(image: DockerReference, signed: DockerReference) -> bool:
    # matchRepoDigestOrExactReferenceValues: a signature naming no tag/digest is never exact.
    if signed.name_only:
        return False
    if image.tag is not None:  # includes an image with both a tag and a digest
        return str(signed) == str(image)
    if image.digest is not None:
        # The manifest digest itself is compared with the signed claim by the engine.
        return signed.name == image.name
    return False


@dataclass(frozen=True)
class MatchExact:
    """``matchExact``: the signature names exactly the image's reference, tag or digest."""

    def matches(self, image: DockerReference, signed: DockerReference) -> bool:
        if image.name_only or signed.name_only:
            return False
        return str(signed) == str(image)

    def describe(self) -> str:
        return "matchExact"


@dataclass(frozen=True)
class MatchRepoDigestOrExact:
    """``matchRepoDigestOrExact``: by tag, exactly; by digest, any tag of the same repository."""

    def matches(self, image: DockerReference, signed: DockerReference) -> bool:
        return _match_repo_digest_or_exact(image, signed)

    def describe(self) -> str:
        return "matchRepoDigestOrExact"


@dataclass(frozen=True)
class MatchRepository:
    """``matchRepository``: the signature names the same repository (tags ignored)."""

    def matches(self, image: DockerReference, signed: DockerReference) -> bool:
        return signed.name == image.name

    def describe(self) -> str:
        return "matchRepository"


@dataclass(frozen=True)
class ExactReference:
    """``exactReference``: the signature names exactly ``reference``, whatever the image."""

    reference: DockerReference

    def __post_init__(self) -> None:
        if self.reference.name_only:
            raise PolicyError(
                f"exactReference {self.reference} contains neither a tag nor a digest"
            )

    def matches(self, image: DockerReference, signed: DockerReference) -> bool:
        if signed.name_only:
            return False
        return str(signed) == str(self.reference)

    def describe(self) -> str:
        return f"exactReference {self.reference}"


@dataclass(frozen=True)
class ExactRepository:
    """``exactRepository``: the signature names ``repository`` (any tag or digest)."""

    repository: DockerReference

    def matches(self, image: DockerReference, signed: DockerReference) -> bool:
        return signed.name == self.repository.name

    def describe(self) -> str:
        return f"exactRepository {self.repository.name}"


def _validate_remap_prefix(label: str, value: str) -> None:
    # policy_config.go validateIdentityRemappingPrefix: a host[:port], or a name that starts
    # with one. Like upstream, "shortname" and "ns/shortname" pass here and never match.
    if _DOMAIN_RE.fullmatch(value) or (
        _NAME_RE.fullmatch(value) and _DOMAIN_PREFIX_RE.match(value)
    ):
        return
    raise PolicyError(f"remapIdentity {label} {value!r} is not valid")


@dataclass(frozen=True)
class RemapIdentity:
    """``remapIdentity``: rewrite the image's ``prefix`` to ``signed_prefix``, then
    ``matchRepoDigestOrExact``. The prefix matches whole components only: ``example.com/ns``
    matches ``example.com/ns/app`` but not ``example.com/ns2/app``."""

    prefix: str
    signed_prefix: str

    def __post_init__(self) -> None:
        _validate_remap_prefix("prefix", self.prefix)
        _validate_remap_prefix("signedPrefix", self.signed_prefix)

    def _matches_prefix(self, image: DockerReference) -> bool:
        # Only the name is compared, so "/" is the only separator that can follow the prefix;
        # a host:port prefix must match the whole host:port.
        name = image.name
        if len(name) == len(self.prefix):
            return name == self.prefix
        return name.startswith(self.prefix) and name[len(self.prefix) : len(self.prefix) + 1] == "/"

    def remap(self, image: DockerReference) -> DockerReference | None:
        """The image reference as the signer named it; ``None`` if the rewrite is invalid."""
        if not self._matches_prefix(image):
            return image
        rewritten = self.signed_prefix + str(image)[len(self.prefix) :]
        try:
            remapped = parse_reference(rewritten)
        except ReferenceError:
            return None
        # reference.ParseNamed: the rewritten string must already be in normalized form.
        return remapped if str(remapped) == rewritten else None

    def matches(self, image: DockerReference, signed: DockerReference) -> bool:
        remapped = self.remap(image)
        return remapped is not None and _match_repo_digest_or_exact(remapped, signed)

    def describe(self) -> str:
        return f"remapIdentity {self.prefix} as {self.signed_prefix}"


# -- requirements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InsecureAcceptAnything:
    """``insecureAcceptAnything``: accepts any image, signed or not."""

    def describe(self) -> str:
        return "insecureAcceptAnything"


@dataclass(frozen=True)
class Reject:
    """``reject``: rejects every image."""

    def describe(self) -> str:
        return "reject"


@dataclass(frozen=True)
class SignedBy:
    """``signedBy``: at least ``min_signers`` distinct trusted keys signed the image.

    ``fingerprints`` are primary-key fingerprints (a subkey signature counts for its primary).
    A signature counts when it verified, its signer is trusted, it claims the image's manifest
    digest and ``identity`` accepts its claimed reference.
    """

    fingerprints: frozenset[str]
    identity: IdentityRule = field(default_factory=MatchRepoDigestOrExact)
    min_signers: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.fingerprints, frozenset):
            object.__setattr__(self, "fingerprints", frozenset(self.fingerprints))
        if not self.fingerprints:
            raise PolicyError("signedBy needs at least one key")
        for fingerprint in self.fingerprints:
            if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
                raise PolicyError(
                    f"signedBy key {fingerprint!r} is not a 40-digit upper-case hex fingerprint"
                )
        if not isinstance(self.identity, IdentityRule):
            raise PolicyError(f"signedBy identity {self.identity!r} is not an identity rule")
        if (
            isinstance(self.min_signers, bool)
            or not isinstance(self.min_signers, int)
            or not 1 <= self.min_signers <= len(self.fingerprints)
        ):
            raise PolicyError(
                f"minSigners must be between 1 and {len(self.fingerprints)} (the number of "
                f"distinct keys), not {self.min_signers!r}"
            )

    def describe(self) -> str:
        # Once per requirement, kept on the instance (see DockerReference.name): the engine
        # quotes it in the verdict of every signature.
        try:
            return self.__dict__["_description"]  # type: ignore[no-any-return]
        except KeyError:
            pass
        keys = [format_key_id(f[-16:]) for f in sorted(self.fingerprints)]
        if self.min_signers == 1:
            who = " or ".join(keys)
        else:
            who = f"{self.min_signers} of {', '.join(keys)}"
        description = f"signedBy {who} ({self.identity.describe()})"
        object.__setattr__(self, "_description", description)
        return description


@dataclass(frozen=True)
class Unsupported:
    """A requirement valid in containers-policy.json that sigverify cannot evaluate
    (``sigstoreSigned``, ``signedBaseLayer``, ``signedBy`` with a non-``GPGKeys`` key type).

    It never passes: an image in its scope is rejected with ``reason``. (containers/image
    itself rejects ``signedBaseLayer`` and the other key types at evaluation time.)
    """

    kind: str
    reason: str

    def describe(self) -> str:
        return f"{self.kind} (not supported by sigverify: rejects every image)"


Requirement = InsecureAcceptAnything | Reject | SignedBy | Unsupported
_REQUIREMENT_TYPES = (InsecureAcceptAnything, Reject, SignedBy, Unsupported)


# -- scopes (docker/policyconfiguration/naming.go, policy_eval.go) --------------------------


def lookup_order(image: DockerReference) -> tuple[str, ...]:
    """The scopes tried for ``image``, most specific first; ``default`` follows the last.

    Exact reference, the repository, each parent namespace, ``host[:port]``, then
    ``*.<suffix>`` for each DNS suffix of the host (port stripped; never the bare host),
    then the transport-wide ``""``.

    containers/image never looks up a reference without a tag or digest (the docker
    transport adds ``:latest``) nor one with both (it refuses those). **Ours**: a name-only
    reference is looked up as ``name:latest``; one with both is looked up by
    ``name@digest`` and then by ``name:tag``.
    """
    name = image.name
    order: list[str] = []
    if image.digest is not None:
        order.append(f"{name}@{image.digest}")
    if image.tag is not None:
        order.append(f"{name}:{image.tag}")
    if image.name_only:
        order.append(f"{name}:latest")
    namespace = name
    while True:
        order.append(namespace)
        slash = namespace.rfind("/")
        if slash == -1:
            break
        namespace = namespace[:slash]
    host = namespace.split(":", 1)[0]
    while "." in host:
        host = host[host.index(".") + 1 :]
        order.append("*." + host)
    order.append("")
    return tuple(order)


def _suggestion(scope: str) -> str | None:
    try:
        parsed = parse_reference(scope)
    except ReferenceError:
        return None
    return parsed.name if parsed.name_only else str(parsed)


def validate_scope(scope: str) -> None:
    """Refuse a scope that can never match anything :func:`lookup_order` produces.

    containers/image accepts any string as a docker scope (its validation is a FIXME) and a
    mistyped scope then silently never applies. **Ours**: such a scope is a policy error,
    with the normalized spelling suggested when there is one.
    """
    if not isinstance(scope, str):
        raise PolicyError(f"scope {scope!r} is not a string")
    if scope == "":
        return
    if scope.startswith("*."):
        suffix = scope[2:]
        if _WILDCARD_SUFFIX_RE.fullmatch(suffix) and len(scope) <= MAX_NAME_LENGTH:
            return
        raise PolicyError(
            f'wildcard scope {scope!r} is not valid: write "*." followed by a DNS suffix '
            'without a port, e.g. "*.example.com"'
        )
    last_component = scope.rsplit("/", 1)[-1]
    if "/" in scope and ("@" in scope or ":" in last_component):
        _validate_exact_scope(scope)
        return
    host, _, path = scope.partition("/")
    components = path.split("/") if path else []
    host_like = "." in host or ":" in host or host == "localhost"
    if (
        _DOMAIN_RE.fullmatch(host)
        and host_like
        and host != "index.docker.io"
        and all(_PATH_COMPONENT_RE.fullmatch(c) for c in components)
        and len(scope) <= MAX_NAME_LENGTH
    ):
        return
    suggestion = _suggestion(scope)
    if suggestion is not None and suggestion != scope:
        raise PolicyError(
            f"scope {scope!r} never matches: images are looked up by their normalized "
            f"reference; did you mean {suggestion!r}?"
        )
    raise PolicyError(
        f'scope {scope!r} is not valid: expected a host[:port] ("quay.io"), a repository or '
        'namespace ("quay.io/acme"), an exact reference ("quay.io/acme/app:v1" or '
        '"…@sha256:…"), a wildcard ("*.example.com") or ""'
    )


def _validate_exact_scope(scope: str) -> None:
    try:
        parsed = parse_reference(scope)
    except ReferenceError as exc:
        raise PolicyError(f"scope {scope!r} is not a valid reference: {exc}") from exc
    if parsed.tag is not None and parsed.digest is not None:
        raise PolicyError(
            f"scope {scope!r} has both a tag and a digest and would never match; use one"
        )
    if str(parsed) != scope:
        raise PolicyError(
            f"scope {scope!r} never matches: images are looked up by their normalized "
            f"reference; did you mean {str(parsed)!r}?"
        )


@dataclass(frozen=True)
class ScopeMatch:
    """The scope that applies to an image and its requirements (all must accept)."""

    scope: str
    requirements: tuple[Requirement, ...]

    @property
    def label(self) -> str:
        """``scope`` for humans: the transport-wide ``""`` scope is spelled out."""
        return '"" (every image of the transport)' if self.scope == "" else self.scope


def _requirements(value: Iterable[Requirement], where: str) -> tuple[Requirement, ...]:
    requirements = tuple(value)
    if not requirements:
        # containers/image: "List of verification policy requirements must not be empty".
        raise PolicyError(f"{where}: the list of requirements must not be empty")
    for requirement in requirements:
        if not isinstance(requirement, _REQUIREMENT_TYPES):
            raise PolicyError(f"{where}: {requirement!r} is not a policy requirement")
    return requirements


@dataclass(frozen=True)
class Policy:
    """``default`` plus the scopes of one transport. First match wins; lists never merge."""

    default: tuple[Requirement, ...]
    scopes: Mapping[str, tuple[Requirement, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "default", _requirements(self.default, "default"))
        scopes: dict[str, tuple[Requirement, ...]] = {}
        for scope, requirements in self.scopes.items():
            validate_scope(scope)
            scopes[scope] = _requirements(requirements, f"scope {scope!r}")
        object.__setattr__(self, "scopes", MappingProxyType(scopes))

    def requirements_for(self, image: DockerReference) -> ScopeMatch:
        """The first scope of :func:`lookup_order` the policy has, else ``default``."""
        for scope in lookup_order(image):
            requirements = self.scopes.get(scope)
            if requirements is not None:
                return ScopeMatch(scope, requirements)
        return ScopeMatch(DEFAULT_SCOPE, self.default)

    def fingerprints(self) -> frozenset[str]:
        """Every primary fingerprint any ``signedBy`` of the policy trusts."""
        found: set[str] = set()
        for requirements in (self.default, *self.scopes.values()):
            for requirement in requirements:
                if isinstance(requirement, SignedBy):
                    found.update(requirement.fingerprints)
        return frozenset(found)
