"""The policy model: scope lookup (policy_eval.go, policyconfiguration/naming.go) and the
signed-identity rules (policy_reference_match.go), with containers/image's own test tables."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigverify.core.policy import (
    DEFAULT_SCOPE,
    ExactReference,
    ExactRepository,
    IdentityRule,
    InsecureAcceptAnything,
    MatchExact,
    MatchRepoDigestOrExact,
    MatchRepository,
    Policy,
    Reject,
    RemapIdentity,
    Requirement,
    ScopeMatch,
    SignedBy,
    Unsupported,
    lookup_order,
    validate_scope,
)
from sigverify.core.reference import DockerReference, parse_reference
from sigverify.errors import PolicyError

DIGEST = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
OTHER_DIGEST = "sha256:" + "a" * 64
FULL_RHEL = "registry.access.redhat.com/rhel7/rhel:7.2.3"
UNTAGGED_RHEL = "registry.access.redhat.com/rhel7/rhel"
FPR_A = "A" * 40
FPR_B = "B" * 24 + "0123456789ABCDEF"
FPR_C = "C" * 40


def ref(text: str) -> DockerReference:
    return parse_reference(text)


# -- lookup order ------------------------------------------------------------------------------

NAMESPACES = {
    "example.com/ns/repo": ["example.com/ns/repo", "example.com/ns", "example.com", "*.com"],
    "example.com/repo": ["example.com/repo", "example.com", "*.com"],
    "localhost/ns/repo": ["localhost/ns/repo", "localhost/ns", "localhost"],
    "localhost/repo": ["localhost/repo", "localhost"],
    "notlocalhost/repo": [
        "docker.io/notlocalhost/repo",
        "docker.io/notlocalhost",
        "docker.io",
        "*.io",
    ],
    "docker.io/repo": ["docker.io/library/repo", "docker.io/library", "docker.io", "*.io"],
    "repo": ["docker.io/library/repo", "docker.io/library", "docker.io", "*.io"],
    "yet.another.example.com:8443/ns/repo": [
        "yet.another.example.com:8443/ns/repo",
        "yet.another.example.com:8443/ns",
        "yet.another.example.com:8443",
        "*.another.example.com",
        "*.example.com",
        "*.com",
    ],
}


@pytest.mark.parametrize("name", sorted(NAMESPACES))
@pytest.mark.parametrize("suffix", [":tag", "@" + DIGEST])
def test_lookup_order_matches_naming_test(name: str, suffix: str) -> None:
    # docker/policyconfiguration/naming_test.go: identity, then namespaces; then "".
    expected = NAMESPACES[name]
    assert lookup_order(ref(name + suffix)) == (expected[0] + suffix, *expected, "")


def test_lookup_order_for_a_name_only_reference_uses_latest() -> None:
    assert lookup_order(ref("quay.io/acme/app"))[:2] == (
        "quay.io/acme/app:latest",
        "quay.io/acme/app",
    )


def test_lookup_order_for_tag_and_digest_tries_digest_then_tag() -> None:
    assert lookup_order(ref(f"quay.io/acme/app:v1@{DIGEST}"))[:3] == (
        f"quay.io/acme/app@{DIGEST}",
        "quay.io/acme/app:v1",
        "quay.io/acme/app",
    )


def test_lookup_order_of_a_bare_ip_host() -> None:
    # Wildcards are built from the host's DNS-like suffixes, port stripped.
    assert lookup_order(ref("10.0.0.1:5000/app:1"))[2:] == (
        "10.0.0.1:5000",
        "*.0.0.1",
        "*.0.1",
        "*.1",
        "",
    )


@given(
    image=st.sampled_from(
        [
            "busybox",
            "quay.io/acme/team/app:v1",
            f"quay.io/acme/app@{DIGEST}",
            f"quay.io/acme/app:v1@{DIGEST}",
            "a.b.example.com:5000/ns/app:1",
            "localhost/app:1",
        ]
    ),
    data=st.data(),
)
def test_every_scope_in_the_lookup_order_is_a_valid_scope_that_matches(
    image: str, data: st.DataObject
) -> None:
    order = lookup_order(ref(image))
    chosen = data.draw(st.sampled_from(order))
    validate_scope(chosen)
    policy = Policy(default=(Reject(),), scopes={chosen: reqs(chosen)})
    assert policy.requirements_for(ref(image)) == ScopeMatch(chosen, reqs(chosen))
    # A more specific scope, when present, wins over it.
    position = order.index(chosen)
    if position > 0:
        better = order[data.draw(st.integers(0, position - 1))]
        both = Policy(default=(Reject(),), scopes={chosen: reqs(chosen), better: reqs(better)})
        assert both.requirements_for(ref(image)).scope == better


# -- scope lookup ------------------------------------------------------------------------------


def reqs(label: str) -> tuple[Requirement, ...]:
    # A distinguishable requirement list per scope.
    return (Unsupported(label, "test marker"),)


def scope_of(policy: Policy, image: str) -> str:
    match = policy.requirements_for(ref(image))
    assert match.requirements == (policy.scopes.get(match.scope) or policy.default)
    return match.scope


@pytest.fixture
def policy() -> Policy:
    scopes = [
        "docker.io/library/busybox:latest",
        f"docker.io/library/busybox@{DIGEST}",
        "docker.io/library/busybox",
        "docker.io/library",
        "docker.io",
        "quay.io/acme/app:v1",
        "quay.io/acme",
        "localhost:5000",
        "localhost",
        "*.example.com",
        "*.deep.example.com",
        "*.org",
        "registry.example.net/team",
    ]
    return Policy(default=(Reject(),), scopes={s: reqs(s) for s in scopes})


@pytest.mark.parametrize(
    ("image", "scope"),
    [
        # exact reference beats the repository, which beats the namespace
        ("busybox:latest", "docker.io/library/busybox:latest"),
        ("busybox", "docker.io/library/busybox:latest"),
        (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}"),
        (f"busybox@{OTHER_DIGEST}", "docker.io/library/busybox"),
        ("busybox:1.36", "docker.io/library/busybox"),
        ("alpine:3", "docker.io/library"),
        ("someone/tool:1", "docker.io"),
        ("quay.io/acme/app:v1", "quay.io/acme/app:v1"),
        ("quay.io/acme/app:v2", "quay.io/acme"),
        ("quay.io/acme/team/app:v2", "quay.io/acme"),
        # whole components only: quay.io/acmecorp is not in quay.io/acme
        ("quay.io/acmecorp/app:1", "default"),
        ("quay.io/acme-other/app:1", "default"),
        # host and port are matched exactly
        ("localhost:5000/app:1", "localhost:5000"),
        ("localhost/app:1", "localhost"),
        ("localhost:5001/app:1", "default"),
        # wildcards: any depth below the suffix, most specific suffix first, port ignored
        ("a.example.com/app:1", "*.example.com"),
        ("a.b.example.com/app:1", "*.example.com"),
        ("x.deep.example.com/app:1", "*.deep.example.com"),
        ("y.x.deep.example.com:8443/app:1", "*.deep.example.com"),
        ("deep.example.com/app:1", "*.example.com"),
        ("a.example.com:5000/app:1", "*.example.com"),
        ("example.org/app:1", "*.org"),
        # a wildcard never matches the bare domain
        ("example.com/app:1", "default"),
        # a namespace is not a wildcard
        ("registry.example.net/team/app:1", "registry.example.net/team"),
        ("registry.example.net/other/app:1", "default"),
        ("other.example.net/team/app:1", "default"),
    ],
)
def test_requirements_for(policy: Policy, image: str, scope: str) -> None:
    assert scope_of(policy, image) == scope


def test_transport_scope_applies_before_default() -> None:
    policy = Policy(
        default=(Reject(),),
        scopes={"": (InsecureAcceptAnything(),), "quay.io": reqs("quay")},
    )
    assert policy.requirements_for(ref("quay.io/a/b:1")) == ScopeMatch("quay.io", reqs("quay"))
    match = policy.requirements_for(ref("docker.io/a/b:1"))
    assert match == ScopeMatch("", (InsecureAcceptAnything(),))
    assert match.label == '"" (every image of the transport)'


def test_default_applies_last() -> None:
    policy = Policy(default=(Reject(),), scopes={"quay.io": reqs("quay")})
    match = policy.requirements_for(ref("docker.io/a/b:1"))
    assert match == ScopeMatch(DEFAULT_SCOPE, (Reject(),))
    assert match.scope == match.label == "default"


def test_first_match_wins_and_lists_are_not_merged() -> None:
    # policy_eval.go: the most specific scope's list is used alone, even when a less specific
    # scope would reject: nothing is inherited from quay.io or from default.
    own = (SignedBy(frozenset({FPR_A})),)
    policy = Policy(default=(Reject(),), scopes={"quay.io": (Reject(),), "quay.io/acme": own})
    assert policy.requirements_for(ref("quay.io/acme/app:1")).requirements == own


def test_scopes_are_read_only() -> None:
    policy = Policy(default=(Reject(),), scopes={"quay.io": reqs("q")})
    with pytest.raises(TypeError):
        policy.scopes["docker.io"] = reqs("d")  # type: ignore[index]


def test_fingerprints_of_every_signed_by() -> None:
    policy = Policy(
        default=(SignedBy(frozenset({FPR_A})),),
        scopes={
            "quay.io": (SignedBy(frozenset({FPR_B, FPR_C}), min_signers=2), Reject()),
            "docker.io": (InsecureAcceptAnything(),),
        },
    )
    assert policy.fingerprints() == frozenset({FPR_A, FPR_B, FPR_C})


# -- policy validation -------------------------------------------------------------------------


def test_empty_default_is_refused() -> None:
    with pytest.raises(PolicyError, match="default: the list of requirements must not be empty"):
        Policy(default=())


def test_empty_scope_list_is_refused() -> None:
    with pytest.raises(
        PolicyError, match=re.escape("scope 'quay.io': the list of requirements must not")
    ):
        Policy(default=(Reject(),), scopes={"quay.io": ()})


def test_non_requirement_is_refused() -> None:
    with pytest.raises(PolicyError, match="default: 'reject' is not a policy requirement"):
        Policy(default=("reject",))  # type: ignore[arg-type]


def test_invalid_scope_is_refused_by_the_model() -> None:
    with pytest.raises(PolicyError, match=re.escape("scope 'Quay.io/Acme' is not valid")):
        Policy(default=(Reject(),), scopes={"Quay.io/Acme": (Reject(),)})


@pytest.mark.parametrize(
    "scope",
    [
        "",
        "quay.io",
        "Quay.IO",
        "localhost",
        "localhost:5000",
        "10.0.0.1:5000",
        "quay.io/acme",
        "quay.io/acme/app",
        "docker.io/library",
        "docker.io/library/busybox",
        "quay.io/acme/app:v1",
        "quay.io/acme/app:V1.2_x",
        f"quay.io/acme/app@{DIGEST}",
        "localhost:5000/app:1",
        "*.com",
        "*.example.com",
        "*.a-b.example.com",
    ],
)
def test_valid_scopes(scope: str) -> None:
    validate_scope(scope)


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        (
            "busybox",
            "never matches: images are looked up by their normalized reference; "
            "did you mean 'docker.io/library/busybox'?",
        ),
        ("busybox:latest", "did you mean 'docker.io/library/busybox:latest'?"),
        ("library/busybox", "did you mean 'docker.io/library/busybox'?"),
        ("bogus/key-data-example", "did you mean 'docker.io/bogus/key-data-example'?"),
        ("index.docker.io/library/busybox", "did you mean 'docker.io/library/busybox'?"),
        ("docker.io/busybox:1", "did you mean 'docker.io/library/busybox:1'?"),
        ("quay.io/Acme", "scope 'quay.io/Acme' is not valid"),
        ("quay.io/acme/", "is not valid"),
        ("quay.io//acme", "is not valid"),
        ("https://quay.io/acme", "scope 'https://quay.io/acme' is not valid"),
        ("quay.io/acme app", "is not valid"),
        ("quay.io/*", "is not valid"),
        ("*", "is not valid"),
        ("*example.com", "is not valid"),
        ("*.", "wildcard scope '*.' is not valid"),
        ("*.example.com:5000", "without a port"),
        ("*.*.example.com", "wildcard scope"),
        ("*.example.com/ns", "wildcard scope"),
        ("quay.io/acme/app:v1@" + DIGEST, "has both a tag and a digest"),
        ("quay.io/acme/app:-v1", "is not a valid reference: invalid reference format: invalid tag"),
        ("quay.io/acme/app@sha256:abc", "invalid digest 'sha256:abc'"),
        ("quay.io/acme/app@sha256:" + "a" * 63, "invalid digest length"),
        ("quay.io/" + "a" * 250, "is not valid"),
    ],
)
def test_invalid_scopes(scope: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        validate_scope(scope)
    assert message in str(caught.value)


# -- signed identity rules ---------------------------------------------------------------------

# policy_reference_match_test.go prmExactMatchTestTable (symmetric).
EXACT_TABLE = [
    ("busybox:latest", "busybox:latest", True),
    (FULL_RHEL, FULL_RHEL, True),
    (f"busybox@{DIGEST}", f"busybox@{DIGEST}", True),
    ("library/busybox:latest", "busybox:latest", True),
    ("docker.io/library/busybox:latest", "busybox:latest", True),
    (f"library/busybox@{DIGEST}", f"busybox@{DIGEST}", True),
    ("busybox:latest", "busybox:notlatest", False),
    ("busybox:latest", "notbusybox:latest", False),
    ("busybox:latest", "hostname/library/busybox:notlatest", False),
    ("hostname/library/busybox:latest", "busybox:notlatest", False),
    ("busybox:latest", FULL_RHEL, False),
    (f"busybox@{DIGEST}", f"notbusybox@{DIGEST}", False),
    ("busybox:latest", f"busybox@{DIGEST}", False),
    (f"busybox@{DIGEST}", f"busybox@{OTHER_DIGEST}", False),
    ("busybox", "busybox:latest", False),
    ("busybox", f"busybox@{DIGEST}", False),
    ("busybox", "busybox", False),
    (f"busybox:latest@{DIGEST}", f"busybox:latest@{DIGEST}", True),
    (f"busybox:latest@{DIGEST}", f"busybox:latest@{OTHER_DIGEST}", False),
    (f"busybox:latest@{DIGEST}", f"busybox:notlatest@{DIGEST}", False),
    (f"busybox:latest@{DIGEST}", f"busybox@{DIGEST}", False),
    (f"busybox:latest@{DIGEST}", "busybox:latest", False),
]

# prmRepositoryMatchTestTable (symmetric).
REPOSITORY_TABLE = [
    ("busybox:latest", "busybox:latest", True),
    (FULL_RHEL, FULL_RHEL, True),
    (f"busybox@{DIGEST}", f"busybox@{DIGEST}", True),
    ("library/busybox:latest", "busybox:latest", True),
    ("docker.io/library/busybox:latest", "busybox:latest", True),
    (f"library/busybox@{DIGEST}", f"busybox@{DIGEST}", True),
    ("busybox:latest", "busybox:notlatest", True),
    (FULL_RHEL + "tagsuffix", FULL_RHEL, True),
    ("library/busybox:latest", "busybox:notlatest", True),
    ("busybox:latest", "library/busybox:notlatest", True),
    ("docker.io/library/busybox:notlatest", "busybox:latest", True),
    ("busybox:notlatest", "docker.io/library/busybox:latest", True),
    ("busybox:latest", f"busybox@{DIGEST}", True),
    (f"busybox@{DIGEST}", f"busybox@{OTHER_DIGEST}", True),
    ("busybox", "busybox:notlatest", True),
    (FULL_RHEL, UNTAGGED_RHEL, True),
    ("busybox", f"busybox@{DIGEST}", True),
    ("library/busybox", "busybox", True),
    ("docker.io/library/busybox", "busybox", True),
    ("busybox:latest", "notbusybox:latest", False),
    ("hostname/library/busybox:latest", "busybox:notlatest", False),
    ("busybox:latest", FULL_RHEL, False),
    (f"busybox@{DIGEST}", f"notbusybox@{DIGEST}", False),
    (f"busybox:latest@{DIGEST}", f"busybox:latest@{DIGEST}", True),
    (f"busybox:latest@{DIGEST}", f"busybox:latest@{OTHER_DIGEST}", True),
    (f"busybox:latest@{DIGEST}", f"busybox:notlatest@{DIGEST}", True),
    (f"busybox:latest@{DIGEST}", f"busybox@{DIGEST}", True),
    (f"busybox:latest@{DIGEST}", "busybox:latest", True),
]

# matchRepoDigestOrExactTestTable (image, signature; asymmetric).
REPO_DIGEST_OR_EXACT_TABLE = [
    ("busybox:latest", "busybox:notlatest", False),
    (FULL_RHEL + "tagsuffix", FULL_RHEL, False),
    ("library/busybox:latest", "busybox:notlatest", False),
    ("busybox:latest", "library/busybox:notlatest", False),
    ("docker.io/library/busybox:notlatest", "busybox:latest", False),
    ("busybox:notlatest", "docker.io/library/busybox:latest", False),
    ("busybox", "busybox:latest", False),
    ("busybox:latest", "busybox", False),
    ("busybox", f"busybox@{DIGEST}", False),
    (f"busybox@{DIGEST}", "busybox", False),
    (FULL_RHEL, UNTAGGED_RHEL, False),
    ("busybox", "busybox", False),
    ("busybox:latest", f"busybox@{DIGEST}", False),
    (f"busybox@{DIGEST}", "busybox:latest", True),
    (f"busybox@{DIGEST}", f"busybox@{OTHER_DIGEST}", True),
    (f"busybox:latest@{DIGEST}", "busybox:latest", False),
    (f"busybox:latest@{DIGEST}", "busybox:notlatest", False),
    ("busybox:latest", f"busybox:latest@{DIGEST}", False),
    (f"busybox:latest@{DIGEST}", f"busybox:latest@{OTHER_DIGEST}", False),
    (f"busybox:latest@{DIGEST}", f"busybox:notlatest@{OTHER_DIGEST}", False),
]


def both_ways(table: list[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
    return [*table, *((b, a, result) for a, b, result in table)]


@pytest.mark.parametrize(("image", "signed", "result"), both_ways(EXACT_TABLE))
def test_match_exact(image: str, signed: str, result: bool) -> None:
    assert MatchExact().matches(ref(image), ref(signed)) is result


@pytest.mark.parametrize(("image", "signed", "result"), both_ways(REPOSITORY_TABLE))
def test_match_repository(image: str, signed: str, result: bool) -> None:
    assert MatchRepository().matches(ref(image), ref(signed)) is result


REPO_DIGEST_OR_EXACT_CASES = [
    # accepts everything matchExact accepts, rejects everything matchRepository rejects, …
    *(c for c in both_ways(EXACT_TABLE) if c[2]),
    *(c for c in both_ways(REPOSITORY_TABLE) if not c[2]),
    # … and the asymmetric cases in between.
    *REPO_DIGEST_OR_EXACT_TABLE,
]


@pytest.mark.parametrize(("image", "signed", "result"), REPO_DIGEST_OR_EXACT_CASES)
def test_match_repo_digest_or_exact(image: str, signed: str, result: bool) -> None:
    assert MatchRepoDigestOrExact().matches(ref(image), ref(signed)) is result


@pytest.mark.parametrize(("expected", "signed", "result"), both_ways(EXACT_TABLE))
def test_exact_reference(expected: str, signed: str, result: bool) -> None:
    parsed = ref(expected)
    if parsed.name_only:
        with pytest.raises(PolicyError, match="contains neither a tag nor a digest"):
            ExactReference(parsed)
        return
    # The image's own reference is irrelevant: only the configured one counts.
    unrelated_image = ref("quay.io/unrelated/image:1")
    assert ExactReference(parsed).matches(unrelated_image, ref(signed)) is result


@pytest.mark.parametrize(("repository", "signed", "result"), both_ways(REPOSITORY_TABLE))
def test_exact_repository(repository: str, signed: str, result: bool) -> None:
    unrelated_image = ref("quay.io/unrelated/image:1")
    assert ExactRepository(ref(repository)).matches(unrelated_image, ref(signed)) is result


@pytest.mark.parametrize(
    ("image", "prefix", "matches"),
    [
        # TestPRMRemapIdentityRefMatchesPrefix: a host prefix …
        ("docker.io/image", "docker.io", True),
        ("docker.io/image", "example.com", False),
        ("example.com:5000/image", "example.com:5000", True),
        ("example.com:50000/image", "example.com:5000", False),
        ("example.com:5000/image", "example.com", False),
        ("example.com/foo", "example.com", True),
        ("example.com/foo/bar", "example.com", True),
        ("example.com/foo/bar:baz", "example.com", True),
        (f"example.com/foo/bar@{DIGEST}", "example.com", True),
        # … and a namespace or repository prefix: whole components only
        ("docker.io/ns/image", "docker.io/library", False),
        ("example.com/library", "docker.io/library", False),
        ("docker.io/libraryy/image", "docker.io/library", False),
        ("docker.io/library/busybox", "docker.io/library", True),
        ("example.com/ns/image", "example.com/ns", True),
        ("example.com/ns2/image", "example.com/ns", False),
        ("example.com/n2/image", "example.com/ns", False),
        ("example.com", "example.com/library/busybox", False),
        ("example.com:5000/ns/image", "example.com/ns", False),
        ("example.com/ns/image", "example.com:5000/ns", False),
        ("docker.io/library/busybox", "docker.io/library/busybox", True),
        ("example.com/library/busybox", "docker.io/library/busybox", False),
        ("docker.io/library/busybox2", "docker.io/library/busybox", False),
        ("example.com/ns/image", "example.com/ns/image", True),
        ("example.com/ns/imag2", "example.com/ns/image", False),
        ("example.com/ns/imagee", "example.com/ns/image", False),
        ("example.com:5000/ns/image", "example.com/ns/image", False),
        ("example.com/ns/image", "example.com:5000/ns/image", False),
        ("example.com/ns/image:tag", "example.com/ns/image", True),
        (f"example.com/ns/image@{DIGEST}", "example.com/ns/image", True),
        (f"example.com/ns/image:tag@{DIGEST}", "example.com/ns/image", True),
    ],
)
def test_remap_identity_prefix(image: str, prefix: str, matches: bool) -> None:
    rule = RemapIdentity(prefix, "docker.io/library/signed-prefix")
    remapped = rule.remap(ref(image))
    assert remapped is not None
    assert (remapped != ref(image)) is matches


@pytest.mark.parametrize(
    ("prefix", "signed_prefix", "image", "expected"),
    [
        # TestPRMRemapIdentityRemapReferencePrefix
        (
            "mirror.example",
            "vendor.example",
            "mirror.example/ns/image:tag",
            "vendor.example/ns/image:tag",
        ),
        (
            "mirror.example",
            "vendor.example",
            "different.com/ns/image:tag",
            "different.com/ns/image:tag",
        ),
        (
            "mirror.example/ns",
            "vendor.example/vendor-ns",
            "mirror.example/different-ns/image:tag",
            "mirror.example/different-ns/image:tag",
        ),
        (
            "docker.io",
            "not-docker-signed.example/ns",
            "busybox",
            "not-docker-signed.example/ns/library/busybox",
        ),
        (
            "example.com/mirror",
            "example.com/vendor",
            "example.com/mirror/image:tag",
            "example.com/vendor/image:tag",
        ),
        (
            "example.com/ns/mirror",
            "example.com/ns/vendor",
            "example.com/ns/mirror:tag",
            "example.com/ns/vendor:tag",
        ),
        (
            "mirror.example",
            "vendor.example",
            "prefixmirror.example/ns/image:tag",
            "prefixmirror.example/ns/image:tag",
        ),
        (
            "docker.io",
            "not-docker-signed.example",
            "busybox",
            "not-docker-signed.example/library/busybox",
        ),
        (
            "docker.io/library",
            "not-docker-signed.example/ns",
            "busybox",
            "not-docker-signed.example/ns/busybox",
        ),
        (
            "docker.io/library/busybox",
            "not-docker-signed.example/ns/notbusybox",
            "busybox",
            "not-docker-signed.example/ns/notbusybox",
        ),
        ("mirror.example", "vendor.example", "mirror.example/image", "vendor.example/image"),
        (
            "mirror.example",
            "vendor.example",
            "mirror.example/image:tag",
            "vendor.example/image:tag",
        ),
        (
            "mirror.example",
            "vendor.example",
            f"mirror.example/image@{DIGEST}",
            f"vendor.example/image@{DIGEST}",
        ),
        (
            "mirror.example",
            "vendor.example",
            f"mirror.example/image:tag@{DIGEST}",
            f"vendor.example/image:tag@{DIGEST}",
        ),
        # rewrites creating an invalid or a non-normalized reference fail
        ("mirror.example/ns/image", "vendor.example:5000", "mirror.example/ns/image:tag", None),
        (
            "mirror.example/ns/image",
            "vendor.example:5000",
            f"mirror.example/ns/image@{DIGEST}",
            None,
        ),
        ("mirror.example/ns/image", "notlocalhost", "mirror.example/ns/image:tag", None),
    ],
)
def test_remap_identity_rewrite(
    prefix: str, signed_prefix: str, image: str, expected: str | None
) -> None:
    remapped = RemapIdentity(prefix, signed_prefix).remap(ref(image))
    assert (str(remapped) if remapped is not None else None) == expected


@pytest.mark.parametrize(
    ("prefix", "signed_prefix", "image", "signed", "result"),
    [
        # TestPRMRemapIdentityMatchesDockerReference
        (
            "does-not-match.com",
            "does-not-match.rewritten",
            "busybox:latest",
            "busybox:latest",
            True,
        ),
        (
            "does-not-match.com",
            "does-not-match.rewritten",
            "busybox:latest",
            "notbusybox:latest",
            False,
        ),
        ("mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:1", True),
        (
            "mirror.example",
            "public.com",
            "mirror.example/busybox:1",
            "public.com/busybox:not1",
            False,
        ),
        (
            "mirror.example",
            "docker.io/library",
            "mirror.example/busybox:latest",
            "busybox:latest",
            True,
        ),
        (
            "mirror.example",
            "docker.io/library",
            "mirror.example/alpine:latest",
            "busybox:latest",
            False,
        ),
        ("docker.io/library", "original.com", "copied:latest", "original.com/copied:latest", True),
        (
            "docker.io/library",
            "original.com",
            "copied:latest",
            "original.com/ns/copied:latest",
            False,
        ),
        ("busybox", "example.com/busybox", "busybox:latest", "example.com/busybox:latest", False),
        (
            "docker.io/library/busybox",
            "busybox",
            "docker.io/library/busybox:latest",
            "busybox:latest",
            False,
        ),
        # by digest: any signature of the remapped repository
        (
            "mirror.example",
            "public.com",
            f"mirror.example/busybox@{DIGEST}",
            "public.com/busybox:1",
            True,
        ),
        (
            "mirror.example",
            "public.com",
            f"mirror.example/busybox@{DIGEST}",
            "mirror.example/busybox:1",
            False,
        ),
        # the unmapped image still matches itself (no rewrite happened)
        (
            "mirror.example",
            "public.com",
            "other.example/busybox:1",
            "other.example/busybox:1",
            True,
        ),
    ],
)
def test_remap_identity_matches(
    prefix: str, signed_prefix: str, image: str, signed: str, result: bool
) -> None:
    assert RemapIdentity(prefix, signed_prefix).matches(ref(image), ref(signed)) is result


@pytest.mark.parametrize(("image", "signed", "result"), [c for c in REPO_DIGEST_OR_EXACT_CASES])
def test_remap_identity_without_rewrite_is_match_repo_digest_or_exact(
    image: str, signed: str, result: bool
) -> None:
    rule = RemapIdentity("never-causes-a-rewrite.example", "never-causes-a-rewrite.example")
    assert rule.matches(ref(image), ref(signed)) is result


@pytest.mark.parametrize(
    "prefix",
    [
        "localhost",
        "example.com",
        "example.com:80",
        "example.com/repo",
        "example.com/ns1/ns2/ns3/repo.with.dots-dashes_underscores",
        "example.com:80/ns1/ns2/ns3/repo.with.dots-dashes_underscores",
        "shortname",  # accepted upstream too; never matches a normalized name
        "ns/shortname",
    ],
)
def test_remap_identity_valid_prefixes(prefix: str) -> None:
    RemapIdentity(prefix, prefix)


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "repo_with_underscores",
        "example.com/",
        "example.com/UPPERCASEISINVALID",
        "example.com/repo/",
        "example.com/repo:tag",
        f"example.com/repo@{DIGEST}",
        f"example.com/repo:tag@{DIGEST}",
    ],
)
def test_remap_identity_invalid_prefixes(prefix: str) -> None:
    with pytest.raises(
        PolicyError, match=re.escape(f"remapIdentity prefix {prefix!r} is not valid")
    ):
        RemapIdentity(prefix, "example.com")
    with pytest.raises(
        PolicyError, match=re.escape(f"remapIdentity signedPrefix {prefix!r} is not valid")
    ):
        RemapIdentity("example.com", prefix)


@pytest.mark.parametrize(
    ("rule", "description"),
    [
        (MatchExact(), "matchExact"),
        (MatchRepoDigestOrExact(), "matchRepoDigestOrExact"),
        (MatchRepository(), "matchRepository"),
        (ExactReference(ref("busybox:1")), "exactReference docker.io/library/busybox:1"),
        (ExactRepository(ref("busybox:1")), "exactRepository docker.io/library/busybox"),
        (RemapIdentity("mirror.example", "quay.io"), "remapIdentity mirror.example as quay.io"),
    ],
)
def test_identity_rules_describe_themselves(rule: IdentityRule, description: str) -> None:
    assert isinstance(rule, IdentityRule)
    assert rule.describe() == description


# -- requirements ------------------------------------------------------------------------------


def test_signed_by_defaults() -> None:
    requirement = SignedBy(frozenset({FPR_A}))
    assert requirement.identity == MatchRepoDigestOrExact()
    assert requirement.min_signers == 1
    assert requirement.describe() == "signedBy 0xAAAAAAAAAAAAAAAA (matchRepoDigestOrExact)"


def test_signed_by_describes_alternatives_and_quorum() -> None:
    either = SignedBy(frozenset({FPR_B, FPR_A}), MatchRepository())
    assert either.describe() == (
        "signedBy 0xAAAAAAAAAAAAAAAA or 0x0123456789ABCDEF (matchRepository)"
    )
    quorum = SignedBy(frozenset({FPR_A, FPR_B, FPR_C}), min_signers=2)
    assert quorum.describe() == (
        "signedBy 2 of 0xAAAAAAAAAAAAAAAA, 0x0123456789ABCDEF, 0xCCCCCCCCCCCCCCCC "
        "(matchRepoDigestOrExact)"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fingerprints": frozenset()}, "signedBy needs at least one key"),
        ({"fingerprints": frozenset({"a" * 40})}, "is not a 40-digit upper-case hex fingerprint"),
        ({"fingerprints": frozenset({"0x" + "A" * 38})}, "is not a 40-digit upper-case hex"),
        ({"fingerprints": frozenset({"A" * 16})}, "is not a 40-digit upper-case hex"),
        (
            {"fingerprints": frozenset({FPR_A}), "min_signers": 0},
            "minSigners must be between 1 and 1",
        ),
        (
            {"fingerprints": frozenset({FPR_A}), "min_signers": 2},
            "(the number of distinct keys), not 2",
        ),
        ({"fingerprints": frozenset({FPR_A, FPR_B}), "min_signers": 3}, "between 1 and 2"),
        ({"fingerprints": frozenset({FPR_A}), "min_signers": True}, "not True"),
        ({"fingerprints": frozenset({FPR_A}), "identity": "matchExact"}, "is not an identity rule"),
    ],
)
def test_signed_by_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        SignedBy(**kwargs)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_signed_by_accepts_any_iterable_of_fingerprints() -> None:
    assert SignedBy({FPR_A, FPR_B}, min_signers=2).fingerprints == frozenset({FPR_A, FPR_B})  # type: ignore[arg-type]


def test_simple_requirements_describe_themselves() -> None:
    assert InsecureAcceptAnything().describe() == "insecureAcceptAnything"
    assert Reject().describe() == "reject"
    unsupported = Unsupported("sigstoreSigned", "cannot check sigstore")
    assert (
        unsupported.describe() == "sigstoreSigned (not supported by sigverify: rejects every image)"
    )
    assert unsupported.reason == "cannot check sigstore"
