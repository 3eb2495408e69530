"""Docker reference parsing and normalisation: the cases of distribution/reference's
normalize_test.go and reference_test.go (as vendored by containers/image)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigverify.core.reference import (
    MAX_REFERENCE_LENGTH,
    DockerReference,
    ReferenceError,
    parse_reference,
)

SHA256 = "sha256:" + "f" * 64
SHA512 = "sha512:" + "f" * 128


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        # normalize.go: docker.io default, library/ for official images, index.docker.io legacy
        ("busybox", "docker.io/library/busybox"),
        ("busybox:latest", "docker.io/library/busybox:latest"),
        ("library/busybox", "docker.io/library/busybox"),
        ("docker.io/busybox", "docker.io/library/busybox"),
        ("docker.io/library/busybox", "docker.io/library/busybox"),
        ("index.docker.io/busybox", "docker.io/library/busybox"),
        ("index.docker.io/library/debian", "docker.io/library/debian"),
        ("index.docker.io/docker/docker", "docker.io/docker/docker"),
        ("fooo/bar", "docker.io/fooo/bar"),
        ("other/library", "docker.io/other/library"),
        # the first component is a host only with "." or ":" or as "localhost"
        ("localhost/repo", "localhost/repo"),
        ("localhost:5000/ns/repo:tag", "localhost:5000/ns/repo:tag"),
        ("notlocalhost/repo", "docker.io/notlocalhost/repo"),
        ("127.0.0.1:5000/docker/docker", "127.0.0.1:5000/docker/docker"),
        ("127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase"),
        ("example.com:8000/private/moonbase", "example.com:8000/private/moonbase"),
        ("test:5000/repo", "test:5000/repo"),
        ("foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080"),
        # no slash: "host:port" is a repository with a tag
        ("test.com:5000", "docker.io/library/test.com:5000"),
        ("foo_bar.com:8080", "docker.io/library/foo_bar.com:8080"),
        ("test_com", "docker.io/library/test_com"),
        # path components: separators, lengths
        ("docker---rules/docker", "docker.io/docker---rules/docker"),
        ("dock__er/docker", "docker.io/dock__er/docker"),
        ("d/docker", "docker.io/d/docker"),
        ("jess/t", "docker.io/jess/t"),
        (
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
        ),
        (
            "b.gcr.io/test.example.com/my-app:test.example.com",
            "b.gcr.io/test.example.com/my-app:test.example.com",
        ),
        ("xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com"),
        # a 64-hex path with a host is a name, not an image ID
        (
            "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        ),
        # tags may be upper case; hosts keep their case (only the path must be lower case)
        ("lowercase:Uppercase", "docker.io/library/lowercase:Uppercase"),
        ("Example.COM/repo", "Example.COM/repo"),
        # digests, and the rare tag+digest
        ("busybox@" + SHA256, "docker.io/library/busybox@" + SHA256),
        ("test:5000/repo:tag@" + SHA256, "test:5000/repo:tag@" + SHA256),
        (
            "xn--7o8h.com/myimage:xn--7o8h.com@" + SHA512,
            "xn--7o8h.com/myimage:xn--7o8h.com@" + SHA512,
        ),
        ("busybox@sha384:" + "a" * 96, "docker.io/library/busybox@sha384:" + "a" * 96),
    ],
)
def test_normalisation(text: str, normalized: str) -> None:
    assert str(parse_reference(text)) == normalized


def test_components() -> None:
    ref = parse_reference("localhost:5000/ns/app:v1@" + SHA256)
    assert ref == DockerReference("localhost:5000", "ns/app", "v1", SHA256)
    assert ref.name == "localhost:5000/ns/app"
    assert not ref.name_only


def test_name_only() -> None:
    ref = parse_reference("quay.io/acme/app")
    assert ref == DockerReference("quay.io", "acme/app", None, None)
    assert ref.name_only
    assert str(ref) == ref.name == "quay.io/acme/app"


def test_invalid_host_becomes_part_of_the_path() -> None:
    # reference.go: "a_b.com" is host-like for splitDockerDomain but not a valid domain, so the
    # grammar matches it as a path component and the domain stays empty (as upstream).
    ref = parse_reference("a_b.com/c")
    assert ref == DockerReference("", "a_b.com/c")
    assert ref.name == "a_b.com/c"


def test_longest_name() -> None:
    # The 255-character limit applies to the name only, not the tag (reference_test.go) ...
    name = "quay.io/" + "a/" * 123 + "a"
    assert len(name) == 255
    assert (
        str(parse_reference(name + ":tag-puts-this-over-max")) == name + ":tag-puts-this-over-max"
    )
    with pytest.raises(ReferenceError, match="must not be more than 255 characters"):
        parse_reference(name + "b")


def test_length_limit_counts_the_normalized_name() -> None:
    # ... and to the name after normalisation: "docker.io/" is counted.
    text = "a/" * 122 + "a"  # 245 characters, 255 with "docker.io/"
    assert parse_reference(text).name == "docker.io/" + text
    with pytest.raises(ReferenceError, match="must not be more than 255 characters"):
        parse_reference(text + "b")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the reference is empty"),
        (":justtag", "invalid reference format: the repository name is missing"),
        ("@" + SHA256, "invalid reference format: the repository name is missing"),
        ("Uppercase:tag", "invalid reference format: repository name must be lowercase"),
        ("docker/Docker", "invalid reference format: repository name must be lowercase"),
        ("docker.io/docker/Docker", "repository name must be lowercase"),
        ("test:5000/Uppercase/lowercase:tag", "repository name must be lowercase"),
        (
            "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "a 64-character hexadecimal string is an image ID",
        ),
        ("a/" * 128 + "a:tag", "repository name must not be more than 255 characters"),
        ("x" * 250, "repository name must not be more than 255 characters"),
        ("a" * (MAX_REFERENCE_LENGTH + 1), "no valid reference is longer than 1024"),
        ("aa/asdf$$^/aa", "invalid repository name 'aa/asdf$$^/aa'"),
        ("-docker", "invalid repository name '-docker'"),
        ("-docker/docker", "invalid repository name"),
        ("docker-/docker", "invalid repository name"),
        ("____/____", "invalid repository name"),
        ("dock..er/docker", "invalid repository name"),
        ("dock_.er/docker", "invalid repository name"),
        ("docker///docker", "empty path component"),
        ("docker/", "empty path component"),
        ("https://github.com/docker/docker", "empty path component"),
        ("busybox:-bad", "invalid tag '-bad'"),
        ("busybox:" + "t" * 129, "invalid tag"),
        ("busybox:bad tag", "invalid tag 'bad tag'"),
        ("busybox\n", "invalid repository name"),
        (" busybox", "invalid repository name"),
        ("büsybox", "invalid repository name"),
        ("repo@sha256:" + "f" * 34, "invalid digest length: a sha256 digest has 64 hex digits"),
        ("repo@sha256:" + "f" * 65, "invalid digest length"),
        ("repo@sha256:" + "F" * 64, "sha256 hex digits must be lower case"),
        ("validname@invaliddigest:" + "f" * 64, "unsupported digest algorithm 'invaliddigest'"),
        ("repo@md5:" + "f" * 32, "unsupported digest algorithm 'md5'"),
        ("repo@sha256:" + "g" * 64, "invalid digest"),
        ("repo@sha256", "invalid digest 'sha256'"),
        ("busybox:latest@", "invalid digest ''"),
    ],
)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(ReferenceError) as caught:
        parse_reference(text)
    assert message in str(caught.value)


def test_not_a_string() -> None:
    with pytest.raises(ReferenceError, match="a reference must be a string, not int"):
        parse_reference(42)  # type: ignore[arg-type]


def test_reference_error_is_a_value_error() -> None:
    assert issubclass(ReferenceError, ValueError)


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 1000 + "!",
        "a-" * 500 + "!",
        "a." * 500 + "/",
        "a" * 500 + ":" + "b" * 500 + "!",
        "a/" * 500 + "A",
        "a__" * 300 + "_",
        "a" * 500 + "@" + "s" * 500,
    ],
)
def test_hostile_input_is_rejected(hostile: str) -> None:
    # Upstream's separator regexp can match the empty string, which a backtracking engine
    # turns into exponential work; ours cannot (these finish instantly, or not at all).
    with pytest.raises(ReferenceError):
        parse_reference(hostile)


_COMPONENT = st.from_regex(r"[a-z0-9]{1,8}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,8}){0,2}", fullmatch=True)
_HOST = st.sampled_from(
    [
        "",
        "docker.io/",
        "index.docker.io/",
        "quay.io/",
        "localhost/",
        "localhost:5000/",
        "registry.example.com:8443/",
        "10.0.0.1:5000/",
        "Example.COM/",
    ]
)
_TAG = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_DIGEST = st.from_regex(r"sha256:[a-f0-9]{64}", fullmatch=True)


@given(
    host=_HOST,
    components=st.lists(_COMPONENT, min_size=1, max_size=4),
    tag=st.none() | _TAG,
    digest=st.none() | _DIGEST,
)
def test_normalisation_is_idempotent(
    host: str, components: list[str], tag: str | None, digest: str | None
) -> None:
    text = host + "/".join(components)
    text += f":{tag}" if tag is not None else ""
    text += f"@{digest}" if digest is not None else ""
    parsed = parse_reference(text)
    assert parse_reference(str(parsed)) == parsed
    assert (parsed.tag, parsed.digest) == (tag, digest)
    assert str(parsed).startswith(parsed.name)
    domain = parsed.domain
    assert (
        domain == "docker.io"
        or "." in domain
        or ":" in domain
        or domain == "localhost"
        or (
            # the upstream corner: a host-like first component that is not a valid domain
            domain == "" and "_" in parsed.path.split("/")[0]
        )
    )
    assert parsed.path.endswith("/".join(components[-1:]))
