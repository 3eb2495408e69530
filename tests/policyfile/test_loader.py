"""Policy files: both formats, key resolution, and a corpus of malformed files, each with
the exact PolicyError it must produce. Keys are real (loaded by gpg)."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from sigverify.core.policy import (
    DEFAULT_SCOPE,
    ExactReference,
    ExactRepository,
    InsecureAcceptAnything,
    MatchExact,
    MatchRepoDigestOrExact,
    MatchRepository,
    Reject,
    RemapIdentity,
    SignedBy,
    Unsupported,
)
from sigverify.core.reference import DockerReference, parse_reference
from sigverify.errors import PolicyError
from sigverify.limits import MAX_POLICY_BYTES
from sigverify.openpgp.keyring import Keyring, PublicKey
from sigverify.policyfile import native as policy_native
from sigverify.policyfile.loader import LoadedPolicy, load_policy, parse_policy_document

DATA = Path(__file__).parent / "data" / "policies"
REPO = Path(__file__).resolve().parents[2]
#: The "skopeo testing key" (public-key.gpg) and the second fixture key (public-key-2.gpg).
FPR_1 = "1D8230F6CDB6A06716E414C1DB72F2188BB46CC8"
FPR_1_SUBKEY = "639109B08C9782973617E7FE9823CCA2EFCB559B"
FPR_2 = "E3EB7611D815211F141946B5B0CDE60B42557346"
REDHAT_RELEASE_2 = "567E347AD0044ADE55BA8A5F199E2F91FD431D51"


@pytest.fixture(scope="session")
def keys_dir(containers_image_fixtures: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A keys directory holding the two containers/image fixture keys."""
    folder = tmp_path_factory.mktemp("policy-keys")
    shutil.copy(containers_image_fixtures / "public-key.gpg", folder / "skopeo-testing.gpg")
    shutil.copy(containers_image_fixtures / "public-key-2.gpg", folder / "second.gpg")
    return folder


def load(name: str, keys: Path | None = None, **kwargs: object) -> LoadedPolicy:
    return load_policy(DATA / name, keys_dir=keys, **kwargs)  # type: ignore[arg-type]


def error_of(name: str, keys: Path | None = None, **kwargs: object) -> str:
    with pytest.raises(PolicyError) as caught:
        load(name, keys, **kwargs)
    return str(caught.value)


def ref(text: str) -> DockerReference:
    return parse_reference(text)


# -- the native format -------------------------------------------------------------------------


def test_native_yaml(keys_dir: Path) -> None:
    loaded = load("valid/native.yaml", keys_dir)
    assert loaded.format == "sigverify"
    assert loaded.source == str(DATA / "valid/native.yaml")
    policy = loaded.policy
    assert policy.default == (Reject(),)
    assert policy.scopes["quay.io/acme"] == (
        SignedBy(frozenset({FPR_1}), MatchRepoDigestOrExact(), 1),
    )
    assert policy.scopes["quay.io/acme/prod"] == (
        SignedBy(frozenset({FPR_1, FPR_2}), MatchRepository(), 2),
    )
    assert policy.scopes["registry.example.com/mirror"] == (
        SignedBy(
            frozenset({FPR_1}),
            RemapIdentity("registry.example.com/mirror", "quay.io/acme"),
        ),
    )
    assert policy.scopes["docker.io/library"] == (InsecureAcceptAnything(),)
    assert policy.scopes["*.example.org"] == (
        SignedBy(frozenset({FPR_1}), ExactReference(ref("quay.io/acme/base:1"))),
        SignedBy(frozenset({FPR_2}), ExactRepository(ref("quay.io/acme/base"))),
    )
    assert [key.fingerprint for key in loaded.keyring] == sorted([FPR_1, FPR_2])
    assert policy.requirements_for(ref("quay.io/acme/prod/app:1")).scope == "quay.io/acme/prod"
    assert policy.requirements_for(ref("busybox")).scope == "docker.io/library"
    assert policy.requirements_for(ref("quay.io/other/app:1")).scope == DEFAULT_SCOPE


def test_native_json(keys_dir: Path) -> None:
    loaded = load("valid/native.json", keys_dir)
    assert loaded.format == "sigverify"
    assert loaded.policy.default == (InsecureAcceptAnything(),)
    assert loaded.policy.scopes == {
        "quay.io/acme/app:v1": (SignedBy(frozenset({FPR_1}), MatchExact()),),
        "localhost:5000": (Reject(),),
    }
    assert [key.fingerprint for key in loaded.keyring] == [FPR_1]


def test_keyring_holds_only_the_keys_the_policy_names(keys_dir: Path, tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "apiVersion: sigverify/v1\nkind: TrustPolicy\n"
        f"default: [{{type: signedBy, keys: ['{FPR_2}']}}]\n"
    )
    loaded = load_policy(policy, keys_dir=keys_dir)
    assert [key.fingerprint for key in loaded.keyring] == [FPR_2]
    assert loaded.policy.fingerprints() == frozenset({FPR_2})


def test_a_subkey_names_its_primary(keys_dir: Path, tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "apiVersion: sigverify/v1\nkind: TrustPolicy\n"
        f"default: [{{type: signedBy, keys: ['{FPR_1_SUBKEY}']}}]\n"
    )
    assert load_policy(policy, keys_dir=keys_dir).policy.default == (SignedBy(frozenset({FPR_1})),)


def test_keys_directory_is_relative_to_the_policy_file(keys_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    shutil.copytree(keys_dir, tmp_path / "keys")
    policy = tmp_path / "policies" / "p.yaml"
    policy.write_text(
        "apiVersion: sigverify/v1\nkind: TrustPolicy\nkeysDirectory: ../keys\n"
        "default: [{type: signedBy, keys: ['0xDB72F2188BB46CC8']}]\n"
    )
    assert load_policy(policy).policy.default == (SignedBy(frozenset({FPR_1})),)


def test_keys_dir_argument_replaces_keys_directory(keys_dir: Path, tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "apiVersion: sigverify/v1\nkind: TrustPolicy\nkeysDirectory: does-not-exist\n"
        f"default: [{{type: signedBy, keys: ['{FPR_1}']}}]\n"
    )
    assert load_policy(policy, keys_dir=keys_dir).policy.default == (SignedBy(frozenset({FPR_1})),)


def test_a_policy_without_signed_by_needs_no_keys() -> None:
    loaded = parse_policy_document(
        b"apiVersion: sigverify/v1\nkind: TrustPolicy\ndefault: [{type: reject}]\n",
        source="inline",
        keys_dir=None,
        base_dir=Path("/nonexistent"),
    )
    assert loaded.policy.default == (Reject(),)
    assert len(loaded.keyring) == 0


def test_revision_follows_policy_bytes_and_keys(keys_dir: Path, tmp_path: Path) -> None:
    text = "apiVersion: sigverify/v1\nkind: TrustPolicy\ndefault: [{type: signedBy, keys: [%s]}]\n"
    first = parse_policy_document(
        (text % FPR_1).encode(), source="a", keys_dir=keys_dir, base_dir=tmp_path
    )
    again = parse_policy_document(
        (text % FPR_1).encode(), source="b", keys_dir=keys_dir, base_dir=tmp_path
    )
    other_key = parse_policy_document(
        (text % FPR_2).encode(), source="a", keys_dir=keys_dir, base_dir=tmp_path
    )
    spaced = parse_policy_document(
        (text % FPR_1).encode() + b"\n", source="a", keys_dir=keys_dir, base_dir=tmp_path
    )
    assert first.revision == again.revision
    assert len({first.revision, other_key.revision, spaced.revision}) == 3
    assert len(first.revision) == 64


def test_redhat_example_policy() -> None:
    loaded = load_policy(REPO / "policies" / "redhat.yaml")
    trusted = (SignedBy(frozenset({REDHAT_RELEASE_2})),)
    assert loaded.policy.default == (Reject(),)
    assert dict(loaded.policy.scopes) == {
        "registry.redhat.io": trusted,
        "registry.access.redhat.com": trusted,
    }
    assert [key.fingerprint for key in loaded.keyring] == [REDHAT_RELEASE_2]
    assert (
        loaded.policy.requirements_for(ref("registry.redhat.io/ubi9/ubi:latest")).requirements
        == trusted
    )
    assert loaded.policy.requirements_for(ref("quay.io/acme/app:1")).requirements == (Reject(),)


def test_containers_policy_example() -> None:
    loaded = load_policy(REPO / "policies" / "containers-policy.json")
    assert loaded.format == "containers-policy.json"
    policy = loaded.policy
    assert policy.requirements_for(ref("registry.redhat.io/ubi9:1")).requirements == (
        SignedBy(frozenset({REDHAT_RELEASE_2})),
    )
    beta = policy.requirements_for(ref("registry.redhat.io/beta/x:1")).requirements
    assert beta == (
        SignedBy(frozenset({REDHAT_RELEASE_2, "B08B659EE86AF623BC90E8DB938A80CAF21541EB"})),
    )
    mirror = policy.requirements_for(ref("mirror.example.com:5000/redhat/ubi9:1"))
    assert mirror.requirements == (
        SignedBy(
            frozenset({REDHAT_RELEASE_2}),
            RemapIdentity("mirror.example.com:5000/redhat", "registry.redhat.io"),
        ),
    )
    assert policy.requirements_for(ref("busybox:1")).requirements == (InsecureAcceptAnything(),)
    assert policy.requirements_for(ref("quay.io/x/y:1")).scope == DEFAULT_SCOPE


# -- containers-policy.json --------------------------------------------------------------------


@pytest.fixture
def containers_dir(keys_dir: Path, tmp_path: Path) -> Path:
    """A directory with keys/ beside the policy files written into it."""
    shutil.copytree(keys_dir, tmp_path / "keys")
    return tmp_path


def write_json(folder: Path, document: object, name: str = "policy.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(document, indent=2))
    return path


def gpg_signed_by(**fields: object) -> dict[str, object]:
    return {"type": "signedBy", "keyType": "GPGKeys", **fields}


def test_containers_policy_key_sources(containers_dir: Path, keys_dir: Path) -> None:
    key_data = base64.b64encode((keys_dir / "second.gpg").read_bytes()).decode()
    path = write_json(
        containers_dir,
        {
            "default": [{"type": "reject"}],
            "transports": {
                "docker": {
                    "quay.io/one": [gpg_signed_by(keyPath="keys/skopeo-testing.gpg")],
                    "quay.io/both": [
                        gpg_signed_by(
                            keyPaths=[
                                "keys/skopeo-testing.gpg",
                                str(containers_dir / "keys/second.gpg"),
                            ],
                            signedIdentity={"type": "matchRepository"},
                        )
                    ],
                    "quay.io/inline": [gpg_signed_by(keyData=key_data)],
                    "": [{"type": "insecureAcceptAnything"}],
                },
                "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]},
            },
        },
    )
    loaded = load_policy(path, keys_dir=Path("/ignored/for/containers-policy.json"))
    assert loaded.format == "containers-policy.json"
    assert loaded.policy.default == (Reject(),)
    assert dict(loaded.policy.scopes) == {
        "quay.io/one": (SignedBy(frozenset({FPR_1})),),
        "quay.io/both": (SignedBy(frozenset({FPR_1, FPR_2}), MatchRepository()),),
        "quay.io/inline": (SignedBy(frozenset({FPR_2})),),
        "": (InsecureAcceptAnything(),),
    }
    assert [key.fingerprint for key in loaded.keyring] == sorted([FPR_1, FPR_2])
    assert loaded.policy.requirements_for(ref("quay.io/elsewhere/x:1")).scope == ""


def test_containers_policy_relative_key_path_uses_the_policy_directory(
    containers_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # **Ours**: not the working directory (containers/image opens keyPath as given).
    path = write_json(
        containers_dir, {"default": [gpg_signed_by(keyPath="keys/skopeo-testing.gpg")]}
    )
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    assert load_policy(path).policy.default == (SignedBy(frozenset({FPR_1})),)


def test_containers_policy_absent_transport_leaves_default(containers_dir: Path) -> None:
    path = write_json(
        containers_dir,
        {
            "default": [{"type": "insecureAcceptAnything"}],
            "transports": {"dir": {"": [{"type": "reject"}]}},
        },
    )
    loaded = load_policy(path)
    assert dict(loaded.policy.scopes) == {}
    assert loaded.policy.requirements_for(ref("quay.io/a/b:1")).scope == DEFAULT_SCOPE


def test_containers_policy_transport_selects_the_section(containers_dir: Path) -> None:
    path = write_json(
        containers_dir,
        {
            "default": [{"type": "reject"}],
            "transports": {
                "docker": {"quay.io": [{"type": "reject"}]},
                "atomic": {"quay.io": [gpg_signed_by(keyPath="keys/skopeo-testing.gpg")]},
            },
        },
    )
    assert load_policy(path).policy.scopes["quay.io"] == (Reject(),)
    assert load_policy(path, transport="atomic").policy.scopes["quay.io"] == (
        SignedBy(frozenset({FPR_1})),
    )


def test_other_transports_are_checked_but_their_keys_not_read(containers_dir: Path) -> None:
    # Another transport's scopes follow its own syntax (a path for "dir") and its key files
    # are not ours to read; its requirement structure is still checked (see the corpus).
    path = write_json(
        containers_dir,
        {
            "default": [{"type": "reject"}],
            "transports": {
                "dir": {"/var/lib/images": [gpg_signed_by(keyPath="/no/such/key.gpg")]},
            },
        },
    )
    assert load_policy(path).policy.default == (Reject(),)


def test_unsupported_requirements_reject_with_a_reason(containers_dir: Path) -> None:
    path = write_json(
        containers_dir,
        {
            "default": [{"type": "reject"}],
            "transports": {
                "docker": {
                    "quay.io/sigstore": [
                        {
                            "type": "sigstoreSigned",
                            "keyPath": "/etc/pki/cosign.pub",
                            "rekorPublicKeyPath": "/etc/pki/rekor.pub",
                            "signedIdentity": {"type": "matchRepository"},
                        }
                    ],
                    "quay.io/x509": [
                        {"type": "signedBy", "keyType": "X509Certificates", "keyPath": "/no/cert"}
                    ],
                    "quay.io/base": [
                        {
                            "type": "signedBaseLayer",
                            "baseLayerIdentity": {
                                "type": "exactRepository",
                                "dockerRepository": "registry.access.redhat.com/rhel7/rhel",
                            },
                        }
                    ],
                }
            },
        },
    )
    scopes = load_policy(path).policy.scopes
    (sigstore,) = scopes["quay.io/sigstore"]
    assert sigstore == Unsupported(
        "sigstoreSigned",
        "sigverify verifies atomic container (GPG) signatures only; sigstore signatures "
        "cannot be checked",
    )
    assert sigstore.describe() == "sigstoreSigned (not supported by sigverify: rejects every image)"
    (x509,) = scopes["quay.io/x509"]
    assert x509 == Unsupported(
        'signedBy keyType "X509Certificates"',
        'keyType "X509Certificates" is not implemented (containers/image rejects it too); '
        'only "GPGKeys" can be verified',
    )
    (base,) = scopes["quay.io/base"]
    assert isinstance(base, Unsupported) and base.kind == "signedBaseLayer"


def test_containers_image_fixture_policy(containers_image_fixtures: Path, tmp_path: Path) -> None:
    fixture = containers_image_fixtures / "policy.json"
    # As shipped, its GPG key files (/keys/…) do not exist here: the whole file is refused.
    with pytest.raises(PolicyError) as caught:
        load_policy(fixture)
    assert str(caught.value) == (
        f'{fixture}: transports["docker"]["example.com/production"][0].keyPath: '
        "/keys/employee-gpg-keyring: cannot read key file: No such file or directory"
    )
    # With real key files it still fails: two scopes can never match (not normalized).
    text = fixture.read_text().replace("/keys/", str(tmp_path) + "/")
    for name in (
        "employee-gpg-keyring",
        "RH-production-signing-key-gpg-keyring",
        "RH-beta-signing-key-gpg-keyring",
        "vendor-gpg-keyring",
    ):
        shutil.copy(containers_image_fixtures / "public-key.gpg", tmp_path / name)
    with pytest.raises(PolicyError) as caught:
        parse_policy_document(text.encode(), source="policy.json", keys_dir=None, base_dir=tmp_path)
    assert str(caught.value) == (
        'policy.json: transports["docker"]["bogus/key-data-example"]: scope '
        "'bogus/key-data-example' never matches: images are looked up by their normalized "
        "reference; did you mean 'docker.io/bogus/key-data-example'?"
    )
    # Without those, it loads; what we cannot evaluate rejects, nothing passes silently.
    document = json.loads(text)
    for scope in ("bogus/key-data-example", "bogus/signed-identity-example"):
        del document["transports"]["docker"][scope]
    policy = parse_policy_document(
        json.dumps(document).encode(), source="policy.json", keys_dir=None, base_dir=tmp_path
    ).policy
    hardened = policy.requirements_for(ref("example.com/hardened/app:1"))
    assert [r.describe() for r in hardened.requirements] == [
        "signedBy 0xDB72F2188BB46CC8 (matchRepository)",
        'signedBy keyType "signedByGPGKeys" (not supported by sigverify: rejects every image)',
        "signedBaseLayer (not supported by sigverify: rejects every image)",
    ]
    x509 = policy.requirements_for(ref("example.com/hardened-x509/app:1")).requirements
    assert all(isinstance(r, Unsupported) for r in x509)
    rh = policy.requirements_for(ref("registry.access.redhat.com/rhel7:1"))
    assert rh.scope == "registry.access.redhat.com"
    assert isinstance(rh.requirements[0], Unsupported)
    assert policy.requirements_for(ref("cdn.redhat.com/x:1")).scope == "*.redhat.com"
    assert policy.requirements_for(ref("foo.com/x:1")).scope == "*.com"
    assert policy.requirements_for(ref("example.com/sigstore/key-path-example/x:1")).scope == (
        "example.com/sigstore/key-path-example"
    )
    assert policy.requirements_for(ref("private-mirror:5000/vendor-mirror/x:1")).requirements == (
        SignedBy(
            frozenset({FPR_1}),
            RemapIdentity("private-mirror:5000/vendor-mirror", "vendor.example.com"),
        ),
    )


# -- the malformed corpus ----------------------------------------------------------------------

CORPUS = {
    # documents
    "bad-syntax.yaml": "invalid YAML: while parsing a flow node, expected the node content, but "
    "found '<stream end>' (line 4, column 1)",
    "alias-bomb.yaml": "YAML anchors (&name) are not allowed (line 4, column 4)",
    "alias.yaml": "YAML anchors (&name) are not allowed (line 3, column 10)",
    "merge-key.yaml": "default[0]: YAML merge keys (<<) are not allowed (line 4, column 5)",
    "python-tag.yaml": "default[0].type: YAML tag tag:yaml.org,2002:python/object/apply:os.system "
    "is not allowed (line 4, column 11)",
    "python-scalar-tag.yaml": "default[0].type: YAML tag tag:yaml.org,2002:python/name:os.system "
    "is not allowed (line 4, column 11)",
    "timestamp-tag.yaml": "default[0].type: YAML tag tag:yaml.org,2002:timestamp is not allowed "
    "(line 4, column 11)",
    "custom-map-tag.yaml": "default[0]: YAML tag tag:yaml.org,2002:omap is not allowed "
    "(line 4, column 5)",
    "two-documents.yaml": "invalid YAML: expected a single document in the stream",
    "empty.yaml": "the policy file is empty",
    "not-a-mapping.yaml": "the policy must be a mapping, not a list",
    "non-string-key.yaml": "scopes: keys must be strings (line 5, column 3)",
    "duplicate-key.yaml": 'scopes: duplicate key "quay.io/acme" (line 6, column 3)',
    "duplicate-key.json": 'default[0]: duplicate key "type"',
    "bad-syntax.json": "invalid JSON: Expecting property name enclosed in double quotes "
    "(line 1, column 34)",
    "nan.json": "invalid JSON: NaN is not a JSON number",
    "no-api-version.yaml": 'a YAML policy must start with "apiVersion: sigverify/v1" '
    "(containers-policy.json files are JSON objects)",
    "wrong-api-version.yaml": "apiVersion: unsupported apiVersion 'sigverify/v2'; "
    "expected 'sigverify/v1'",
    "wrong-kind.yaml": "kind: unsupported kind 'Policy'; expected 'TrustPolicy'",
    # native structure
    "missing-default.yaml": 'missing required field "default"',
    "unknown-top-field.yaml": 'unknown field "transports"',
    "mode-not-yet.yaml": 'scopes["quay.io/acme"]: expected a list of requirements, got a mapping',
    "empty-default.yaml": "default: the list of requirements must not be empty",
    "empty-scope.yaml": 'scopes["quay.io/acme"]: the list of requirements must not be empty',
    "default-not-a-list.yaml": "default: expected a list of requirements, got a string",
    "scopes-not-a-mapping.yaml": "scopes: expected a mapping of scopes, got a list",
    "empty-scope-name.yaml": 'scopes[""]: the "" scope is spelled "default" in a sigverify policy',
    "bad-scope.yaml": "scopes[\"busybox\"]: scope 'busybox' never matches: images are looked up by "
    "their normalized reference; did you mean 'docker.io/library/busybox'?",
    "unknown-type.yaml": 'default[0].type: unknown requirement type "sigstoreSigned"; expected one '
    "of insecureAcceptAnything, reject, signedBy",
    "missing-type.yaml": 'default[0]: missing required field "type"',
    "type-not-a-string.yaml": "default[0].type: expected a string, got a number",
    "requirement-not-a-mapping.yaml": "default[0]: expected a mapping, got a string",
    "unknown-requirement-field.yaml": 'default[0]: unknown field "keyPath"',
    "extra-field-on-reject.yaml": 'default[0]: unknown field "reason"',
    "missing-keys.yaml": 'default[0]: missing required field "keys"',
    "empty-keys.yaml": "default[0].keys: the list must not be empty",
    "keys-not-a-list.yaml": "default[0].keys: expected a list, got a string",
    "key-not-a-string.yaml": "default[0].keys[0]: expected a string, got a number",
    "unknown-key-id.yaml": 'scopes["quay.io/acme"][0].keys[1]: no key file holds the key with '
    "key ID 0x0123456789ABCDEF",
    "unknown-fingerprint.yaml": "default[0].keys[0]: no key file holds the key with fingerprint "
    "0123456789ABCDEF0123456789ABCDEF01234567",
    "malformed-key-name.yaml": "default[0].keys[0]: 'skopeo testing key' is neither a "
    "40-hex-digit fingerprint nor a 16-hex-digit key ID",
    "same-key-twice.yaml": f"default[0].keys[1]: names the same key ({FPR_1}) as "
    "default[0].keys[0]",
    "min-signers-too-high.yaml": "default[0].minSigners: minSigners must be between 1 and 2 (the "
    "number of distinct keys), not 3",
    "min-signers-zero.yaml": "default[0].minSigners: minSigners must be between 1 and 1",
    "min-signers-string.yaml": "default[0].minSigners: expected an integer, got a string",
    "min-signers-bool.yaml": "default[0].minSigners: expected an integer, got a boolean",
    "unknown-identity.yaml": "default[0].signedIdentity.type: unknown signedIdentity type "
    '"matchAnything"; expected one of matchExact, matchRepoDigestOrExact, matchRepository, '
    "exactReference, exactRepository, remapIdentity",
    "identity-extra-field.yaml": 'default[0].signedIdentity: unknown field "dockerReference"',
    "exact-reference-name-only.yaml": "default[0].signedIdentity.dockerReference: "
    "quay.io/acme/app contains neither a tag nor a digest",
    "exact-reference-invalid.yaml": "default[0].signedIdentity.dockerReference: "
    "'quay.io/Acme/app:1' is not a valid reference: invalid reference format: repository name "
    "must be lowercase",
    "exact-repository-missing.yaml": "default[0].signedIdentity: missing required field "
    '"dockerRepository"',
    "remap-invalid-prefix.yaml": "default[0].signedIdentity: remapIdentity prefix "
    "'example.com/repo:tag' is not valid",
    # containers-policy.json
    "containers-missing-default.json": 'missing required field "default"',
    "containers-unknown-field.json": 'unknown field "transport"',
    "containers-empty-scope.json": 'transports["docker"]["quay.io"]: the list of requirements '
    "must not be empty",
    "containers-empty-list-other-transport.json": 'transports["dir"]["/tmp"]: the list of '
    "requirements must not be empty",
    "containers-unknown-type-other-transport.json": 'transports["oci"][""][0].type: unknown '
    'requirement type "signedByMagic"; expected one of insecureAcceptAnything, reject, signedBy, '
    "signedBaseLayer, sigstoreSigned",
    "containers-transports-not-a-mapping.json": "transports: expected a mapping, got a list",
    "containers-scopes-not-a-mapping.json": 'transports["docker"]: expected a mapping, got a list',
    "containers-bad-scope.json": 'transports["docker"]["*.example.com:5000"]: wildcard scope '
    "'*.example.com:5000' is not valid",
    "containers-missing-key-type.json": 'default[0]: missing required field "keyType"',
    "containers-unknown-key-type.json": 'default[0].keyType: unknown keyType "PGPKeys"',
    "containers-no-key-source.json": "default[0]: exactly one of keyPath, keyPaths and keyData "
    "must be given",
    "containers-two-key-sources.json": "default[0]: exactly one of keyPath, keyPaths and keyData "
    "must be given, not keyPath and keyData",
    "containers-empty-key-paths.json": "default[0].keyPaths: the list must not be empty",
    "containers-empty-key-path.json": "default[0].keyPath: must not be empty",
    "containers-key-data-not-base64.json": "default[0].keyData: keyData is not valid base64",
    "containers-key-data-garbage.json": "default[0].keyData: inline key data: no OpenPGP public "
    "key found",
    "containers-key-file-missing.json": 'transports["docker"]["quay.io/acme"][0].keyPath: '
    f"{DATA}/invalid/keys/missing.gpg: cannot read key file: No such file or directory",
    "containers-key-file-garbage.json": "default[0].keyPaths[0]: "
    f"{DATA}/invalid/keys/garbage.asc: no OpenPGP public key found",
    "containers-key-file-empty.json": f"default[0].keyPath: {DATA}/invalid/keys/empty.gpg: "
    "key data is empty",
    "containers-key-file-directory.json": f"default[0].keyPath: {DATA}/invalid/keys: cannot "
    "read key file: Is a directory",
    "containers-unknown-signed-by-field.json": 'default[0]: unknown field "minSigners"',
    "containers-base-layer-missing-identity.json": "default[0]: missing required field "
    '"baseLayerIdentity"',
    "containers-sigstore-unknown-field.json": 'default[0]: unknown field "keyFile"',
    "containers-requirement-not-an-object.json": "default[0]: expected a mapping, got a string",
}


def test_corpus_is_complete() -> None:
    separately = ["keys-directory-missing.yaml"]
    found = sorted(p.name for p in (DATA / "invalid").iterdir() if p.is_file())
    assert found == sorted([*CORPUS, *separately])


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_policy(name: str, keys_dir: Path) -> None:
    message = error_of(f"invalid/{name}", keys_dir)
    assert message.startswith(f"{DATA}/invalid/{name}: ")
    assert CORPUS[name] in message


def test_keys_directory_errors_name_the_field() -> None:
    # No keys_dir argument: the document's keysDirectory is used, and its error says so.
    message = error_of("invalid/keys-directory-missing.yaml")
    assert message == (
        f"{DATA}/invalid/keys-directory-missing.yaml: keysDirectory: "
        f"{DATA}/invalid/no-such-directory: key directory does not exist"
    )


NAMES_FPR_1 = b"apiVersion: sigverify/v1\nkind: TrustPolicy\n" + (
    b"default: [{type: signedBy, keys: [%s]}]\n" % FPR_1.encode()
)


def test_keys_beside_the_policy_are_the_fallback(keys_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(keys_dir, tmp_path / "keys")
    loaded = parse_policy_document(NAMES_FPR_1, source="p.yaml", keys_dir=None, base_dir=tmp_path)
    assert loaded.policy.default == (SignedBy(frozenset({FPR_1})),)


def test_no_keys_directory_at_all(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy_document(NAMES_FPR_1, source="p.yaml", keys_dir=None, base_dir=tmp_path)
    assert str(caught.value) == (
        "p.yaml: default[0].keys: no keys directory: set keysDirectory in the policy or give a "
        f"keys directory ({tmp_path}/keys does not exist)"
    )


def test_ambiguous_key_id(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Two keys sharing a 64-bit key ID cannot be generated on demand, so the keys directory
    # loader alone is replaced here; Keyring.resolve (the real one) finds the ambiguity.
    def key(fingerprint: str) -> PublicKey:
        return PublicKey(
            fingerprint=fingerprint,
            key_id=fingerprint[-16:],
            algorithm=1,
            created=None,  # type: ignore[arg-type]
            expires=None,
            revoked=False,
            can_sign=True,
            user_ids=(),
            subkeys=(),
            material=fingerprint.encode(),
        )

    twins = Keyring([key("A" * 24 + "0123456789ABCDEF"), key("B" * 24 + "0123456789ABCDEF")])
    monkeypatch.setattr(policy_native, "load_keys_dir", lambda directory: twins)
    with pytest.raises(PolicyError) as caught:
        parse_policy_document(
            b"apiVersion: sigverify/v1\nkind: TrustPolicy\n"
            b"default: [{type: signedBy, keys: ['0x0123456789abcdef']}]\n",
            source="p.yaml",
            keys_dir=tmp_path,
            base_dir=tmp_path,
        )
    assert str(caught.value) == (
        "p.yaml: default[0].keys[0]: key ID 0x0123456789ABCDEF is ambiguous: it matches "
        f"{'A' * 24}0123456789ABCDEF, {'B' * 24}0123456789ABCDEF"
    )


# -- limits and reading ------------------------------------------------------------------------


def test_oversized_document() -> None:
    data = b"{" + b" " * MAX_POLICY_BYTES + b"}"
    with pytest.raises(PolicyError) as caught:
        parse_policy_document(data, source="big.json", keys_dir=None, base_dir=Path("."))
    assert str(caught.value) == f"big.json: the policy file is larger than {MAX_POLICY_BYTES} bytes"


def test_oversized_file_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:
        handle.truncate(MAX_POLICY_BYTES * 4)
    with pytest.raises(PolicyError, match="the policy file is larger than 1048576 bytes"):
        load_policy(path)


def test_unreadable_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path / "missing.yaml")
    assert str(caught.value) == (
        f"{tmp_path}/missing.yaml: cannot read policy file: No such file or directory"
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path)
    assert str(caught.value) == f"{tmp_path}: cannot read policy file: Is a directory"


def test_byte_order_mark_is_ignored() -> None:
    loaded = parse_policy_document(
        '\ufeff{"default": [{"type": "reject"}]}'.encode(),
        source="bom.json",
        keys_dir=None,
        base_dir=Path("."),
    )
    assert (loaded.format, loaded.policy.default) == ("containers-policy.json", (Reject(),))


def test_not_utf8() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy_document(b"default: \xff\n", source="p", keys_dir=None, base_dir=Path("."))
    assert str(caught.value) == "p: the policy file is not UTF-8 text (byte 9)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            b"[" * 100_000 + b"]" * 100_000,
            "the document is nested deeper than 32 levels",
            marks=pytest.mark.slow,  # about 1.5 s
        ),
        (b"{" + b'"a": {' * 40 + b"}" * 41, "the document is nested deeper than 32 levels"),
        pytest.param(
            b"a: " + b"[" * 100_000,
            "the document is nested deeper than 32 levels",
            marks=pytest.mark.slow,  # about 1.5 s
        ),
        (b"a: " + b"[" * 40 + b"]" * 40, "the document is nested deeper than 32 levels"),
    ],
)
def test_deep_nesting(data: bytes, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy_document(data, source="deep", keys_dir=None, base_dir=Path("."))
    assert str(caught.value).startswith("deep: ")
    assert message in str(caught.value)
