"""The audit report's keys, unsigned images and signature details (issue 13), over keys made
by real gpg at exact moments (``--faked-system-time``) and a fixed audit clock.

The world, audited at 2026-12-01T12:00:00Z:

- ``soon``: RSA 2048, created 2026-01-01, expires 2027-01-15 (44.5 days left: 44);
  trusted in scopes a and b.
- ``later``: RSA 3072, created 2025-06-01, expires 2028-06-01 (547.5 days: 547); trusted in a;
  an Ed25519 signing subkey that expires 2027-02-01 (61.5 days: 61).
- ``never``: Ed25519, created 2024-03-10T08:00:00Z, never expires; trusted by ``default``.
- ``revoked``: Ed25519, created 2025-01-01, revoked; trusted in b.
- ``expired``: Ed25519, created 2025-01-01, expired 2026-11-01 (-30.5 days: -31); trusted in c.

Images: ``one`` (scope a) signed by soon, plus a signature by later for another digest;
``two`` (a) by later; ``three`` (b) by the revoked key; ``four`` (b) by later, which b does
not trust; ``five`` (a) unsigned, tagged in two namespaces; ``six`` (c) by the expired key;
``seven`` (no scope: default) by never.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sigverify.audit.keyfacts import key_facts
from sigverify.audit.render import CSV_TABLES, csv_table, report_to_json, report_to_text
from sigverify.audit.report import (
    AuditedImage,
    AuditReport,
    KeyRow,
    SignatureRow,
    SubkeyFacts,
    SubkeyRow,
    TagRef,
    UnsignedRow,
    build_report,
    whole_days,
)
from sigverify.cli.audit import audit_image_api
from sigverify.core.claims import SignedClaims
from sigverify.core.policy import Policy, Reject, SignedBy, Unsupported
from sigverify.core.verdict import ImageVerdict, Reason, SignatureVerdict, Signer
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.policyfile.holder import verifier_for
from sigverify.policyfile.loader import load_policy
from tests.imageapi.builders import digest_of, image, signature, stream
from tests.support.audit_schema import schema as published_schema
from tests.support.audit_schema import validate_report
from tests.support.gpgfactory import GeneratedKey, GpgFactory, KeySpec, atomic_payload

REPO = Path(__file__).resolve().parents[2]
SIGVERIFY = REPO / ".venv" / "bin" / "sigverify"
NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
SIGNED_AT = datetime(2026, 6, 1, tzinfo=UTC)  # 183.5 days before NOW


def _at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


SPECS = {
    "soon": KeySpec("rsa2048", created_at=_at(2026, 1, 1), expires_at=_at(2027, 1, 15)),
    "later": KeySpec(
        "rsa3072",
        signing_subkey="ed25519",
        created_at=_at(2025, 6, 1),
        expires_at=_at(2028, 6, 1),
        subkey_expires_at=_at(2027, 2, 1),
    ),
    "never": KeySpec("ed25519", created_at=_at(2024, 3, 10, 8)),
    "revoked": KeySpec("ed25519", revoked=True, created_at=_at(2025, 1, 1)),
    "expired": KeySpec("ed25519", created_at=_at(2025, 1, 1), expires_at=_at(2026, 11, 1)),
}
DIGESTS = {name: digest_of(f"keys-{name}") for name in ("one", "two", "three", "four")} | {
    name: digest_of(f"keys-{name}") for name in ("five", "six", "seven")
}
SCOPE = {
    "one": "a",
    "two": "a",
    "three": "b",
    "four": "b",
    "five": "a",
    "six": "c",
    "seven": "elsewhere",
}


@dataclass(frozen=True)
class KeysWorld:
    store: Path
    policy: Path
    keys: dict[str, GeneratedKey]

    def key_id(self, name: str) -> str:
        return "0x" + self.keys[name].key_id.upper()

    def fpr(self, name: str) -> str:
        return self.keys[name].fingerprint


def _reference(name: str) -> str:
    return f"registry.example.com/{SCOPE[name]}/{name}"


def _signed(
    factory: GpgFactory, key: GeneratedKey, image_name: str, suffix: str, *, digest: str = ""
) -> dict[str, Any]:
    payload = atomic_payload(digest or DIGESTS[image_name], f"{_reference(image_name)}:1")
    # The expired and revoked keys sign while they are still valid; the rest at SIGNED_AT.
    at = key.valid_at if key.spec.created_at == _at(2025, 1, 1) else SIGNED_AT
    return signature(DIGESTS[image_name], suffix, factory.sign(key, payload, at=at))


@pytest.fixture(scope="module")
def keys_world(gpg_factory: GpgFactory, tmp_path_factory: pytest.TempPathFactory) -> KeysWorld:
    root = tmp_path_factory.mktemp("audit-keys")
    keys = {name: gpg_factory.key(spec) for name, spec in SPECS.items()}
    keys_dir = root / "keys"
    keys_dir.mkdir()
    for name, key in keys.items():
        (keys_dir / f"{name}.gpg").write_bytes(key.public_material)
    policy = root / "policy.yaml"
    policy.write_text(
        f"""\
apiVersion: sigverify/v1
kind: TrustPolicy
keysDirectory: {keys_dir}
default:
  - type: signedBy
    keys: ["{keys["never"].fingerprint}"]
scopes:
  registry.example.com/a:
    - type: signedBy
      keys: ["{keys["soon"].fingerprint}", "{keys["later"].fingerprint}"]
  registry.example.com/b:
    - type: signedBy
      keys: ["{keys["soon"].fingerprint}", "{keys["revoked"].fingerprint}"]
  registry.example.com/c:
    - type: signedBy
      keys: ["{keys["expired"].fingerprint}"]
""",
        encoding="utf-8",
    )
    signatures = {
        "one": [
            _signed(gpg_factory, keys["soon"], "one", "soon"),
            _signed(gpg_factory, keys["later"], "one", "later", digest=DIGESTS["two"]),
        ],
        "two": [_signed(gpg_factory, keys["later"], "two", "later")],
        "three": [_signed(gpg_factory, keys["revoked"], "three", "revoked")],
        "four": [_signed(gpg_factory, keys["later"], "four", "later")],
        "five": [],
        "six": [_signed(gpg_factory, keys["expired"], "six", "expired")],
        "seven": [_signed(gpg_factory, keys["never"], "seven", "never")],
    }
    store = ImageStore(root / "store.db")
    for name, sigs in signatures.items():
        body = image(
            f"keys-{name}",
            signatures=0,
            dockerImageReference=f"{_reference(name)}@{DIGESTS[name]}",
        )
        body["signatures"] = sigs
        store.put_object(body)
    store.put_object(stream("ns1", "one", {"1": [DIGESTS["one"]], "5": [DIGESTS["five"]]}))
    store.put_object(stream("ns2", "five", {"latest": [DIGESTS["five"]]}))
    store.put_object(stream("ns2", "rest", {"2": [DIGESTS["two"]], "3": [DIGESTS["three"]]}))
    store.put_object(stream("ns3", "rest", {"4": [DIGESTS["four"]], "6": [DIGESTS["six"]]}))
    return KeysWorld(root / "store.db", policy, keys)


def _report(world: KeysWorld, *, warning_days: int = 90, backend: str = "native") -> AuditReport:
    loaded = load_policy(world.policy)
    verifier = verifier_for(loaded, backend, clock=lambda: NOW)
    try:
        return audit_image_api(
            ImageStore(world.store),
            verifier,
            policy="policy.yaml",
            keys=key_facts(loaded.policy, loaded.keyring),
            now=NOW,
            expiry_warning_days=warning_days,
        )
    finally:
        verifier.backend.close()


@pytest.fixture(scope="module")
def report(keys_world: KeysWorld) -> AuditReport:
    return _report(keys_world)


def _key(world: KeysWorld, name: str, **fields: Any) -> KeyRow:
    spec = SPECS[name]
    values: dict[str, Any] = {
        "fingerprint": world.fpr(name),
        "public_key_id": world.key_id(name),
        "user_ids": (world.keys[name].user_id,),
        "algorithm": "RSA" if spec.algorithm.startswith("rsa") else "EdDSA",
        "bits": int(spec.algorithm[3:]) if spec.algorithm.startswith("rsa") else 255,
        "created": spec.created_at,
        "expires": spec.expires_at,
        "days_left": None,
        "expiry_warning": False,
        "expired": False,
        "revoked": False,
        "trusted": True,
        "scopes": (),
        "valid_images": 0,
        "trusted_images": 0,
        "signatures": 0,
    }
    values.update(fields)
    return KeyRow(**values)


def _later_subkey(world: KeysWorld) -> SubkeyFacts:
    [fingerprint] = world.keys["later"].subkey_fingerprints
    return SubkeyFacts(
        fingerprint=fingerprint,
        public_key_id="0x" + fingerprint[-16:],
        algorithm="EdDSA",
        bits=255,
        created=_at(2025, 6, 1),
        expires=_at(2027, 2, 1),
        revoked=False,
        can_sign=True,
    )


def test_key_rows_exact(keys_world: KeysWorld, report: AuditReport) -> None:
    w = keys_world
    expected = {
        "soon": _key(
            w,
            "soon",
            days_left=44,
            expiry_warning=True,
            scopes=("registry.example.com/a", "registry.example.com/b"),
            valid_images=1,
            trusted_images=1,
            signatures=1,
        ),
        # Its signature on image one is for image two's digest: it does not sign image one.
        # On image four, scope b does not trust it: a valid signature, not a trusted one.
        "later": _key(
            w,
            "later",
            days_left=547,
            scopes=("registry.example.com/a",),
            valid_images=2,
            trusted_images=1,
            signatures=3,
            subkeys=(SubkeyRow(_later_subkey(w), days_left=61, expired=False),),
        ),
        "never": _key(
            w,
            "never",
            scopes=("default",),
            valid_images=1,
            trusted_images=1,
            signatures=1,
        ),
        # Refused as KeyRevoked by the backend: no verified signature.
        "revoked": _key(w, "revoked", revoked=True, scopes=("registry.example.com/b",)),
        "expired": _key(
            w,
            "expired",
            days_left=-31,
            expiry_warning=True,
            expired=True,
            scopes=("registry.example.com/c",),
        ),
    }
    assert {row.public_key_id: row for row in report.keys} == {
        w.key_id(name): row for name, row in expected.items()
    }
    assert [row.public_key_id for row in report.keys] == sorted(w.key_id(n) for n in expected)


def test_the_warning_threshold_is_configurable(keys_world: KeysWorld) -> None:
    by_id = {k.public_key_id: k for k in _report(keys_world, warning_days=30).keys}
    soon, later = by_id[keys_world.key_id("soon")], by_id[keys_world.key_id("later")]
    assert (soon.days_left, soon.expiry_warning) == (44, False)
    assert (later.days_left, later.expiry_warning) == (547, False)
    assert by_id[keys_world.key_id("expired")].expiry_warning is True  # expired: always
    by_id = {k.public_key_id: k for k in _report(keys_world, warning_days=548).keys}
    assert by_id[keys_world.key_id("later")].expiry_warning is True
    assert _report(keys_world, warning_days=30).expiry_warning_days == 30


def test_both_backends_give_the_same_keys(keys_world: KeysWorld, report: AuditReport) -> None:
    assert _report(keys_world, backend="gnupg").keys == report.keys


def test_signers_count_only_valid_signatures(keys_world: KeysWorld, report: AuditReport) -> None:
    rows = {row.image: row for row in report.images}
    assert rows[DIGESTS["one"]].signers == (keys_world.key_id("soon"),)
    assert rows[DIGESTS["four"]].signers == (keys_world.key_id("later"),)
    assert rows[DIGESTS["three"]].signers == ()
    [later] = [s for s in report.signers if s.public_key_id == keys_world.key_id("later")]
    assert later.images == 2
    assert [(s.scope, s.images, s.trusted) for s in later.scopes] == [
        ("registry.example.com/a", 1, True),  # image two; image one was for another digest
        ("registry.example.com/b", 1, False),
    ]


def test_unsigned_listed_with_tags_and_namespaces(report: AuditReport) -> None:
    five = DIGESTS["five"]
    assert report.unsigned == (
        UnsignedRow(
            image=five,
            reference=f"registry.example.com/a/five@{five}",
            scope="registry.example.com/a",
            trusted=False,
            reason=Reason.NOT_SIGNED,
            tags=(TagRef("ns1", "one", "5"), TagRef("ns2", "five", "latest")),
            namespaces=("ns1", "ns2"),
        ),
    )
    assert report.totals.unsigned == 1
    assert [
        (n.namespace, n.images, n.trusted, n.denied, n.unsigned) for n in report.namespaces
    ] == [
        ("ns1", 2, 1, 1, 1),
        ("ns2", 3, 1, 2, 1),
        ("ns3", 2, 0, 2, 0),
    ]


def test_signature_details(keys_world: KeysWorld, report: AuditReport) -> None:
    rows = {row.image: row for row in report.images}
    one = rows[DIGESTS["one"]]
    soon, later = keys_world.keys["soon"], keys_world.keys["later"]
    assert one.signature_details[0] == SignatureRow(
        name=f"{DIGESTS['one']}@soon",
        reason=Reason.TRUSTED,
        message=one.signature_details[0].message,
        trusted=True,
        valid_for_image=True,
        signer=keys_world.key_id("soon"),
        signer_fingerprint=soon.fingerprint,
        identity="registry.example.com/a/one:1",
        created=SIGNED_AT,
        created_from="signature",
        age_days=183,
    )
    mismatch = one.signature_details[1]
    assert (mismatch.reason, mismatch.valid_for_image, mismatch.signer) == (
        Reason.DIGEST_MISMATCH,
        False,
        keys_world.key_id("later"),
    )
    assert mismatch.signer_fingerprint == later.fingerprint
    [revoked] = rows[DIGESTS["three"]].signature_details
    assert (revoked.reason, revoked.signer, revoked.created, revoked.age_days) == (
        Reason.KEY_REVOKED,
        None,
        None,
        None,
    )
    [expired] = rows[DIGESTS["six"]].signature_details
    assert (expired.reason, expired.signer, expired.valid_for_image) == (
        Reason.KEY_EXPIRED,
        None,
        False,
    )


def test_signature_time_falls_back_to_the_claims_timestamp() -> None:
    # A verified signature always carries its OpenPGP creation time; should a backend give
    # none, the claims' optional.timestamp is used and said so.
    claims = SignedClaims("sha256:" + "a" * 64, "example.com/x/y:1", timestamp=1_700_000_000)
    signer = Signer("F" * 40, "F" * 16, "F" * 40)
    verdict = ImageVerdict(
        image="sha256:" + "a" * 64,
        reference="example.com/x/y:1",
        scope="default",
        trusted=True,
        reason=Reason.TRUSTED,
        message="ok",
        signatures=(
            SignatureVerdict("s", True, True, Reason.TRUSTED, "ok", signer=signer, claims=claims),
        ),
    )
    [row] = build_report([AuditedImage(verdict)], policy="p", now=NOW).images
    [detail] = row.signature_details
    # 2023-11-14T22:13:20Z
    assert (detail.created, detail.created_from) == (
        datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        "claims",
    )
    assert detail.age_days == 1112
    [key] = build_report([AuditedImage(verdict)], policy="p").keys
    # A signer the policy's keys do not include: only what its signatures say.
    assert (key.algorithm, key.created, key.trusted, key.valid_images) == (None, None, False, 1)


def test_json_keys_unsigned_and_signature_details(
    keys_world: KeysWorld, report: AuditReport
) -> None:
    body = report_to_json(report)
    assert body["schemaVersion"] == "sigverify.audit/v2"
    assert body["generatedAt"] == "2026-12-01T12:00:00Z"
    soon = next(k for k in body["keys"] if k["publicKeyID"] == keys_world.key_id("soon"))
    assert soon == {
        "fingerprint": keys_world.fpr("soon"),
        "publicKeyID": keys_world.key_id("soon"),
        "userIDs": [keys_world.keys["soon"].user_id],
        "algorithm": "RSA",
        "bits": 2048,
        "created": "2026-01-01T00:00:00Z",
        "expires": "2027-01-15T00:00:00Z",
        "daysLeft": 44,
        "expiryWarning": True,
        "expired": False,
        "revoked": False,
        "trusted": True,
        "scopes": ["registry.example.com/a", "registry.example.com/b"],
        "validImages": 1,
        "trustedImages": 1,
        "signatures": 1,
        "subkeys": [],
    }
    later = next(k for k in body["keys"] if k["publicKeyID"] == keys_world.key_id("later"))
    [subkey] = later["subkeys"]
    assert subkey == {
        "fingerprint": keys_world.keys["later"].subkey_fingerprints[0],
        "publicKeyID": "0x" + keys_world.keys["later"].subkey_fingerprints[0][-16:],
        "algorithm": "EdDSA",
        "bits": 255,
        "created": "2025-06-01T00:00:00Z",
        "expires": "2027-02-01T00:00:00Z",
        "daysLeft": 61,
        "expired": False,
        "revoked": False,
        "canSign": True,
    }
    never = next(k for k in body["keys"] if k["publicKeyID"] == keys_world.key_id("never"))
    assert (never["expires"], never["daysLeft"], never["created"]) == (
        None,
        None,
        "2024-03-10T08:00:00Z",
    )
    assert body["unsigned"] == [
        {
            "image": DIGESTS["five"],
            "tags": ["ns1/one:5", "ns2/five:latest"],
            "namespaces": ["ns1", "ns2"],
            "reference": f"registry.example.com/a/five@{DIGESTS['five']}",
            "scope": "registry.example.com/a",
            "trusted": False,
            "reason": "NotSigned",
        }
    ]
    two = next(i for i in body["images"] if i["image"] == DIGESTS["two"])
    [detail] = two["signatureDetails"]
    assert {k: detail[k] for k in ("signer", "identity", "created", "ageDays", "source")} == {
        "signer": keys_world.key_id("later"),
        "identity": "registry.example.com/a/two:1",
        "created": "2026-06-01T00:00:00Z",
        "ageDays": 183,
        "source": None,
    }
    assert (detail["reason"], detail["createdFrom"], detail["validForImage"]) == (
        "Trusted",
        "signature",
        True,
    )
    # "denied" keeps its shape: the details are under "images" only.
    assert all("signatureDetails" not in row for row in body["denied"])


def test_json_validates_against_the_published_schema(report: AuditReport) -> None:
    schema = published_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    body = report_to_json(report)
    jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)
    # Through a real JSON round trip too (what a reader of the file gets), every member
    # documented.
    validate_report(json.loads(json.dumps(body)))
    with pytest.raises(jsonschema.ValidationError, match="Unevaluated properties"):
        validate_report({**body, "keys": [{**body["keys"][0], "undocumented": 1}]})
    # The schema is not vacuous: a report without its version, or with a key's days left
    # as text, does not validate.
    for broken in (
        {k: v for k, v in body.items() if k != "schemaVersion"},
        {**body, "schemaVersion": "sigverify.audit/v1"},
        {**body, "keys": [{**body["keys"][0], "daysLeft": "44"}]},
        {**body, "unsigned": [{"image": DIGESTS["five"], "tags": []}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)


def test_csv_tables(keys_world: KeysWorld, report: AuditReport) -> None:
    keys = list(csv.DictReader(io.StringIO(csv_table(report, "keys"))))
    soon = next(row for row in keys if row["publicKeyID"] == keys_world.key_id("soon"))
    assert soon == {
        "fingerprint": keys_world.fpr("soon"),
        "publicKeyID": keys_world.key_id("soon"),
        "userIDs": keys_world.keys["soon"].user_id,
        "algorithm": "RSA",
        "bits": "2048",
        "created": "2026-01-01T00:00:00Z",
        "expires": "2027-01-15T00:00:00Z",
        "daysLeft": "44",
        "expiryWarning": "true",
        "expired": "false",
        "revoked": "false",
        "trusted": "true",
        "scopes": "registry.example.com/a registry.example.com/b",
        "validImages": "1",
        "trustedImages": "1",
        "signatures": "1",
    }
    never = next(row for row in keys if row["publicKeyID"] == keys_world.key_id("never"))
    assert (never["expires"], never["daysLeft"]) == ("", "")
    assert len(keys) == 5
    unsigned = list(csv.reader(io.StringIO(csv_table(report, "unsigned"))))
    assert unsigned == [
        ["image", "status", "reason", "reference", "scope", "tags", "namespaces"],
        [
            DIGESTS["five"],
            "denied",
            "NotSigned",
            f"registry.example.com/a/five@{DIGESTS['five']}",
            "registry.example.com/a",
            "ns1/one:5 ns2/five:latest",
            "ns1 ns2",
        ],
    ]
    signatures = list(csv.DictReader(io.StringIO(csv_table(report, "signatures"))))
    assert len(signatures) == 7
    [two] = [row for row in signatures if row["image"] == DIGESTS["two"]]
    assert (two["signer"], two["created"], two["ageDays"], two["validForImage"]) == (
        keys_world.key_id("later"),
        "2026-06-01T00:00:00Z",
        "183",
        "true",
    )
    namespaces = csv_table(report, "namespaces").splitlines()
    assert namespaces == [
        "namespace,images,trusted,denied,unsigned",
        "ns1,2,1,1,1",
        "ns2,3,1,2,1",
        "ns3,2,0,2,0",
    ]
    assert set(CSV_TABLES) == {
        "images",
        "keys",
        "signatures",
        "unsigned",
        "signers",
        "scopes",
        "namespaces",
        "failures",
    }


def test_text_keys_table_and_unsigned_list(keys_world: KeysWorld, report: AuditReport) -> None:
    lines = report_to_text(report).splitlines()
    header = lines.index("KEYS")
    assert lines[header + 1].split() == [
        "KEY",
        "ALGORITHM",
        "CREATED",
        "EXPIRES",
        "DAYS",
        "LEFT",
        "STATUS",
        "VALID",
        "IMAGES",
        "SCOPES",
        "USER",
        "ID",
    ]
    rows = {line.split()[0]: line for line in lines[header + 2 : header + 7]}
    soon = rows[keys_world.key_id("soon")].split()
    assert soon[1:9] == [
        "RSA",
        "2048",
        "2026-01-01",
        "2027-01-15",
        "44",
        "expires",
        "in",
        "<90d",
    ]
    assert rows[keys_world.key_id("revoked")].split()[1:6] == [
        "EdDSA",
        "255",
        "2025-01-01",
        "never",
        "REVOKED",
    ]
    assert rows[keys_world.key_id("expired")].split()[5:7] == ["-31", "EXPIRED"]
    assert rows[keys_world.key_id("never")].split()[4:7] == ["never", "ok", "1"]
    five = DIGESTS["five"]
    start = lines.index("UNSIGNED (1)")
    assert lines[start + 1 : start + 4] == [
        f"  {five}  denied (NotSigned)  registry.example.com/a/five@{five}",
        "    namespaces: ns1, ns2",
        "    tags:       ns1/one:5, ns2/five:latest",
    ]


# -- the command, in a real subprocess (the real clock: figures checked against the report's
# own generatedAt) ---------------------------------------------------------------------------


def _run(*args: str, stderr: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGVERIFY_")}
    env.pop("KUBECONFIG", None)
    env["HOME"] = "/nonexistent"
    return subprocess.run(
        [str(SIGVERIFY), "audit", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
        check=False,
    )


def _common(world: KeysWorld) -> tuple[str, ...]:
    return ("--policy", str(world.policy), "--store", str(world.store), "--backend", "native")


def _rfc3339(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@pytest.mark.slow
def test_cli_json_days_left_and_warning_days(keys_world: KeysWorld) -> None:
    done = _run(*_common(keys_world), "-o", "json", "--expiry-warning-days", "400")
    assert done.returncode == 1, done.stderr
    body = json.loads(done.stdout)
    validate_report(body)
    assert body["expiryWarningDays"] == 400
    now = _rfc3339(body["generatedAt"])
    by_id = {k["publicKeyID"]: k for k in body["keys"]}
    assert set(by_id) == {keys_world.key_id(name) for name in SPECS}
    for name, spec in SPECS.items():
        key = by_id[keys_world.key_id(name)]
        if spec.expires_at is None:
            assert (key["expires"], key["daysLeft"], key["expiryWarning"]) == (None, None, False)
            continue
        days = whole_days((spec.expires_at - now).total_seconds())
        assert key["daysLeft"] == days
        assert key["expiryWarning"] is (days < 400)
        assert key["expired"] is (spec.expires_at <= now)
    assert by_id[keys_world.key_id("revoked")]["revoked"] is True


@pytest.mark.slow
def test_cli_output_dir_writes_every_table(keys_world: KeysWorld, tmp_path: Path) -> None:
    out = tmp_path / "tables" / "audit"
    done = _run(*_common(keys_world), "--output-dir", str(out))
    assert (done.returncode, done.stdout, done.stderr) == (1, "", "")
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.csv" for name in CSV_TABLES)
    for name, (header, _) in CSV_TABLES.items():
        rows = list(csv.reader(io.StringIO((out / f"{name}.csv").read_text(encoding="utf-8"))))
        assert tuple(rows[0]) == header
    assert len((out / "keys.csv").read_text().splitlines()) == 1 + len(SPECS)
    assert len((out / "images.csv").read_text().splitlines()) == 1 + len(DIGESTS)
    assert len((out / "signatures.csv").read_text().splitlines()) == 1 + 7
    unsigned = (out / "unsigned.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in unsigned[1:]] == [DIGESTS["five"]]
    # The images table is what -o csv prints.
    default = _run(*_common(keys_world), "-o", "csv")
    assert default.stdout == (out / "images.csv").read_text()


@pytest.mark.slow
def test_cli_table_prints_one_table(keys_world: KeysWorld) -> None:
    done = _run(*_common(keys_world), "--table", "unsigned")
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout.splitlines()[0] == "image,status,reason,reference,scope,tags,namespaces"
    assert done.stdout.splitlines()[1].startswith(f"{DIGESTS['five']},denied,NotSigned,")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--table", "keys", "-o", "json"), "--table and --output-dir are CSV tables"),
        (("--output-dir", "x", "-o", "text"), "--table and --output-dir are CSV tables"),
        (("--table", "keys", "--output-dir", "x"), "give either --table or --output-dir"),
        (("--table", "nope"), "Invalid value for '--table'"),
        (("--expiry-warning-days", "-1"), "Invalid value for '--expiry-warning-days'"),
    ],
)
def test_cli_table_usage_errors_are_one_line(
    keys_world: KeysWorld, args: tuple[str, ...], expected: str
) -> None:
    done = _run(*_common(keys_world), *args)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.count("\n") == 1
    assert expected in done.stderr


def test_cli_unknown_namespace_is_an_error_not_all_trusted(keys_world: KeysWorld) -> None:
    done = _run(*_common(keys_world), "-n", "no-such-namespace")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "sigverify: error: nothing to audit in namespace 'no-such-namespace': no such "
        "namespace, or no ImageStream there has an imported tag\n"
    )


@pytest.mark.slow
def test_cli_an_empty_store_is_an_error(keys_world: KeysWorld, tmp_path: Path) -> None:
    ImageStore(tmp_path / "empty.db")
    done = _run("--policy", str(keys_world.policy), "--store", str(tmp_path / "empty.db"))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "sigverify: error: nothing to audit: the store or cluster has no Images and no "
        "ImageStreams\n"
    )


def test_a_scope_that_rejects_everything_trusts_no_key(keys_world: KeysWorld) -> None:
    soon = keys_world.fpr("soon")
    policy = Policy(
        default=(SignedBy(frozenset({soon})), Reject()),
        scopes={
            "registry.example.com/x": (SignedBy(frozenset({soon})),),
            "registry.example.com/y": (SignedBy(frozenset({soon})), Reject()),
            "registry.example.com/z": (Unsupported("sigstoreSigned", "not supported"),),
        },
    )
    facts = {f.fingerprint: f for f in key_facts(policy, load_policy(keys_world.policy).keyring)}
    assert facts[soon].scopes == ("registry.example.com/x",)
    assert {f.scopes for name, f in facts.items() if name != soon} == {()}
    assert len(facts) == len(SPECS)
