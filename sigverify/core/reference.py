"""Docker references, parsed and normalised as distribution/reference ``ParseNormalizedNamed``.

The grammar and the normalisation rules are those of containers/image's vendored copy of
docker/distribution (``docker/reference/{regexp,reference,normalize}.go``) and go-digest:

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain "/"] path-component ["/" path-component]*
    domain           := domain-component ["." domain-component]* [":" port-number]
    path-component   := alpha-numeric [separator alpha-numeric]*     (lower case only)
    tag              := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
    digest           := algorithm ":" hex    (sha256/sha384/sha512, lower-case hex of full length)

Normalisation (docs/domain.md §3): ``busybox`` → ``docker.io/library/busybox``; ``index.docker.io``
→ ``docker.io``; the first component is a host only if it contains ``.`` or ``:`` or is
``localhost``. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_REFERENCE_LENGTH",
    "DockerReference",
    "ReferenceError",
    "parse_reference",
]

#: distribution/reference ``NameTotalLengthMax``: the longest repository name (after normalisation).
MAX_NAME_LENGTH = 255
#: Longest input looked at. A valid reference is at most 255 (name) + 1 + 128 (tag) + 1 +
#: 7 + 128 (a sha512 digest) = 520 characters, so this never refuses a valid one; it bounds
#: the work the regular expressions below can be made to do on hostile input.
MAX_REFERENCE_LENGTH = 1024

_DEFAULT_DOMAIN = "docker.io"
_LEGACY_DEFAULT_DOMAIN = "index.docker.io"
_OFFICIAL_REPOSITORY_NAMESPACE = "library"

# regexp.go, rewritten without ambiguity: upstream's separator ``(?:[._]|__|[-]*)`` may match
# the empty string, which makes ``alnum (sep alnum)*`` exponential in a backtracking engine
# (Go's RE2 is linear; Python's ``re`` is not). An empty separator only joins two alnum runs,
# so ``-+`` in its place describes exactly the same language.
_ALPHA_NUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALPHA_NUMERIC}(?:{_SEPARATOR}{_ALPHA_NUMERIC})*"
_DOMAIN_COMPONENT = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
DOMAIN_PATTERN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_NAME = rf"(?:{DOMAIN_PATTERN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_REFERENCE_RE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?", re.ASCII)
_ANCHORED_NAME_RE = re.compile(
    rf"(?:({DOMAIN_PATTERN})/)?({_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)", re.ASCII
)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")
_TAG_RE = re.compile(_TAG, re.ASCII)
_DIGEST_RE = re.compile(_DIGEST, re.ASCII)
# go-digest: DigestRegexpAnchored, and the hex lengths of the algorithms it can compute.
_GO_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+", re.ASCII)
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_LOWER_HEX_RE = re.compile(r"[a-f0-9]+")


class ReferenceError(ValueError):
    """A string that is not a valid Docker reference."""


@dataclass(frozen=True)
class DockerReference:
    """A parsed, normalised Docker reference: ``domain/path[:tag][@digest]``.

    ``domain`` is empty only in one corner of the grammar, when an explicit host is not a
    valid domain but is a valid path component (``a_b.com/c``); upstream then treats the
    whole name as the path, and so do we.
    """

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    # Both texts are computed once and kept on the instance (past the frozen __setattr__;
    # not functools.cached_property, which in Python 3.11 takes one lock for all instances):
    # the engine compares and quotes them several times for every signature.
    @property
    def name(self) -> str:
        """The repository name, ``docker.io/library/busybox``: no tag, no digest."""
        try:
            return self.__dict__["_name"]  # type: ignore[no-any-return]
        except KeyError:
            name = f"{self.domain}/{self.path}" if self.domain else self.path
            object.__setattr__(self, "_name", name)
            return name

    @property
    def name_only(self) -> bool:
        """True when the reference carries neither a tag nor a digest."""
        return self.tag is None and self.digest is None

    @property
    def text(self) -> str:
        """The normalised reference as a string, as ``str()`` gives it."""
        try:
            return self.__dict__["_text"]  # type: ignore[no-any-return]
        except KeyError:
            text = self.name
            if self.tag is not None:
                text += ":" + self.tag
            if self.digest is not None:
                text += "@" + self.digest
            object.__setattr__(self, "_text", text)
            return text

    def __str__(self) -> str:
        return self.text


def parse_reference(text: str) -> DockerReference:
    """Parse and normalise ``text`` exactly as ``reference.ParseNormalizedNamed`` does.

    Raises :class:`ReferenceError` with a message saying what is wrong.
    """
    if not isinstance(text, str):
        raise ReferenceError(f"a reference must be a string, not {type(text).__name__}")
    if not text:
        raise ReferenceError("the reference is empty")
    if len(text) > MAX_REFERENCE_LENGTH:
        raise ReferenceError(
            f"the reference is {len(text)} characters long; no valid reference is longer "
            f"than {MAX_REFERENCE_LENGTH}"
        )
    if _IDENTIFIER_RE.fullmatch(text):
        raise ReferenceError(
            "invalid repository name: a 64-character hexadecimal string is an image ID, "
            "not a repository name"
        )
    domain, remainder = _split_docker_domain(text)
    remote_name = remainder.split(":", 1)[0]
    if remote_name.lower() != remote_name:
        raise ReferenceError("invalid reference format: repository name must be lowercase")
    return _parse(f"{domain}/{remainder}", text)


def _split_docker_domain(name: str) -> tuple[str, str]:
    """normalize.go ``splitDockerDomain``."""
    first, slash, rest = name.partition("/")
    if not slash or (not any(c in first for c in ".:") and first != "localhost"):
        domain, remainder = _DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == _LEGACY_DEFAULT_DOMAIN:
        domain = _DEFAULT_DOMAIN
    if domain == _DEFAULT_DOMAIN and "/" not in remainder:
        remainder = f"{_OFFICIAL_REPOSITORY_NAMESPACE}/{remainder}"
    return domain, remainder


def _parse(text: str, original: str) -> DockerReference:
    """reference.go ``Parse`` on the already-normalised string."""
    match = _REFERENCE_RE.fullmatch(text)
    if match is None:
        if _REFERENCE_RE.fullmatch(text.lower()) is not None:
            raise ReferenceError("invalid reference format: repository name must be lowercase")
        raise ReferenceError(_diagnose(original))
    name, tag, digest = match.group(1), match.group(2), match.group(3)
    if len(name) > MAX_NAME_LENGTH:
        raise ReferenceError(
            f"repository name must not be more than {MAX_NAME_LENGTH} characters "
            f"({name[:40]}… is {len(name)})"
        )
    if digest is not None:
        _validate_digest(digest)
    name_match = _ANCHORED_NAME_RE.fullmatch(name)
    assert name_match is not None  # the name matched the same grammar above
    domain, path = name_match.group(1) or "", name_match.group(2)
    return DockerReference(domain=domain, path=path, tag=tag, digest=digest)


def _validate_digest(digest: str) -> None:
    """go-digest ``Digest.Validate``: only algorithms it can compute, full-length lower hex."""
    algorithm, _, encoded = digest.partition(":")
    expected_length = _DIGEST_HEX_LENGTHS.get(algorithm)
    if expected_length is None:
        if _GO_DIGEST_RE.fullmatch(digest) is None:
            raise ReferenceError(f"invalid digest format: {digest!r}")
        raise ReferenceError(
            f"unsupported digest algorithm {algorithm!r} (sha256, sha384 or sha512 expected)"
        )
    if len(encoded) != expected_length:
        raise ReferenceError(
            f"invalid digest length: a {algorithm} digest has {expected_length} hex digits, "
            f"not {len(encoded)}"
        )
    if _LOWER_HEX_RE.fullmatch(encoded) is None:
        raise ReferenceError(f"invalid digest format: {algorithm} hex digits must be lower case")


def _diagnose(text: str) -> str:
    """Say which part of a reference that failed the grammar is at fault.

    Upstream only says "invalid reference format"; we keep those words and add the part.
    """
    rest, at, digest = text.partition("@")
    if at and _DIGEST_RE.fullmatch(digest) is None:
        return f"invalid reference format: invalid digest {digest!r}"
    last_slash = rest.rfind("/")
    colon = rest.find(":", last_slash + 1)
    name, tag = (rest[:colon], rest[colon + 1 :]) if colon != -1 else (rest, None)
    if tag is not None and _TAG_RE.fullmatch(tag) is None:
        return (
            f"invalid reference format: invalid tag {tag!r} (a tag is 1-128 characters of "
            "A-Z a-z 0-9 _ . - and does not start with . or -)"
        )
    if not name:
        return "invalid reference format: the repository name is missing"
    if name.endswith("/") or "//" in name:
        return "invalid reference format: empty path component"
    return f"invalid reference format: invalid repository name {name!r}"
