"""``sigverify audit``: the report over a real embedded store, real gpg signatures, the CLI.

The world: the sample data (examples/demo + examples/store: ``demo/app`` trusted,
``demo/tools`` denied for IdentityMismatch) plus Images signed here with real gpg keys —
one trusted Image behind three tags in two namespaces, an unsigned one, one signed by an
unknown key and by a key its scope does not trust, and an untagged one in an
``insecureAcceptAnything`` scope.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sigverify.audit.render import CSV_COLUMNS, report_to_csv, report_to_json, report_to_text
from sigverify.audit.report import (
    UNKNOWN_KEY_NOTE,
    AuditedImage,
    AuditFailure,
    AuditReport,
    ScopeRow,
    SignerRow,
    SignerScope,
    TagRef,
    Totals,
    build_report,
    current_tags,
)
from sigverify.cli._common import build_verifier
from sigverify.cli.audit import audit_image_api, exit_status, nothing_audited
from sigverify.core.verdict import ImageVerdict, Reason
from sigverify.engine.verifier import Verifier
from sigverify.imageapi.protocol import JSONObject, Page
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import create_store_app
from sigverify.objects.documents import load_document
from sigverify.objects.types import Image
from tests.imageapi.builders import digest_of, image, signature, stream
from tests.imageapi.demo import APP, KEYS, TOOLS, seeded_store
from tests.imageapi.servers import closed_port, serve_wsgi
from tests.support.audit_schema import validate_report
from tests.support.gpgfactory import GeneratedKey, GpgFactory, KeySpec, atomic_payload

REPO = Path(__file__).resolve().parents[2]
SIGVERIFY = REPO / ".venv" / "bin" / "sigverify"
DEMO_POLICY = REPO / "policies" / "demo.yaml"

RELEASE_KEY = "0x43C6880E17BA57E9"
RELEASE_USER = "sigverify demo release key <security@example.com>"
RELEASE_FPR = "66FB00D0E92B2A4511E7034843C6880E17BA57E9"
PARTNER_KEY = "0x43E64D08F2489B7B"
PARTNER_USER = "sigverify demo partner key <security@example.com>"
PARTNER_FPR = "E7EE11CC8BAE9259F15B783C43E64D08F2489B7B"
DEMO_REQUIREMENT = f"signedBy {RELEASE_KEY} (matchRepoDigestOrExact)"

API = digest_of("audit-api")  # trusted; team/api:1, team/api:latest, prod/api:stable
BATCH = digest_of("audit-batch")  # unsigned, team scope: NotSigned
WEB = digest_of("audit-web")  # demo scope: unknown key + team key (untrusted there)
OPEN = digest_of("audit-open")  # untagged, unsigned, insecureAcceptAnything scope


@dataclass(frozen=True)
class World:
    store_path: Path
    policy: Path
    team: GeneratedKey
    stranger: GeneratedKey

    @property
    def team_key(self) -> str:
        return "0x" + self.team.key_id.upper()

    @property
    def stranger_key(self) -> str:
        return "0x" + self.stranger.key_id.upper()


def _signed(
    factory: GpgFactory, key: GeneratedKey, digest: str, reference: str, suffix: str
) -> dict[str, Any]:
    blob = factory.sign(key, atomic_payload(digest, reference))
    return signature(digest, suffix, blob)


def _image(seed: str, reference: str, signatures: list[dict[str, Any]]) -> dict[str, Any]:
    body = image(seed, signatures=0, dockerImageReference=f"{reference}@{digest_of(seed)}")
    body["signatures"] = signatures
    return body


def _policy(path: Path, keys_dir: Path, team: GeneratedKey) -> Path:
    path.write_text(
        f"""\
apiVersion: sigverify/v1
kind: TrustPolicy
keysDirectory: {keys_dir}
default:
  - type: reject
scopes:
  registry.example.com/demo:
    - type: signedBy
      keys: ["{RELEASE_FPR}"]
  registry.example.com/partner:
    - type: signedBy
      keys: ["{PARTNER_FPR}"]
  registry.example.com/team:
    - type: signedBy
      keys: ["{team.fingerprint}"]
  registry.example.com/open:
    - type: insecureAcceptAnything
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def world(gpg_factory: GpgFactory, tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("audit")
    team = gpg_factory.key(KeySpec("ed25519", name="acme"))
    stranger = gpg_factory.key(KeySpec("ed25519", name="stranger"))
    keys_dir = root / "keys"
    keys_dir.mkdir()
    for name in ("demo-release.asc", "demo-partner.asc"):
        shutil.copy(KEYS / name, keys_dir / name)
    shutil.copy(team.public_binary, keys_dir / "team.gpg")

    store = seeded_store(root / "store.db")
    store.put_object(
        _image(
            "audit-api",
            "registry.example.com/team/api",
            [_signed(gpg_factory, team, API, "registry.example.com/team/api:1", "team")],
        )
    )
    store.put_object(_image("audit-batch", "registry.example.com/team/batch", []))
    store.put_object(
        _image(
            "audit-web",
            "registry.example.com/demo/web",
            [
                _signed(gpg_factory, stranger, WEB, "registry.example.com/demo/web:2", "stranger"),
                _signed(gpg_factory, team, WEB, "registry.example.com/demo/web:2", "team"),
            ],
        )
    )
    store.put_object(_image("audit-open", "registry.example.com/open/tool", []))
    store.put_object(stream("team", "api", {"1": [API], "latest": [API]}))
    store.put_object(stream("prod", "api", {"stable": [API]}))
    store.put_object(stream("team", "batch", {"1": [BATCH]}))
    store.put_object(stream("staging", "web", {"2": [WEB]}))
    store.put_object(stream("team", "empty", {"never-imported": []}))
    return World(root / "store.db", _policy(root / "policy.yaml", keys_dir, team), team, stranger)


# -- counting doubles around the real store and the real verifier ---------------------------


class CountingAPI:
    """The real store, counting calls; any write fails the test (the audit is read-only)."""

    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self.calls: Counter[str] = Counter()

    def list_imagestreams(
        self,
        namespace: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Page:
        self.calls["list_imagestreams"] += 1
        return self.store.list_imagestreams(namespace, limit, continue_token)

    def list_images(self, limit: int | None = None, continue_token: str | None = None) -> Page:
        self.calls["list_images"] += 1
        return self.store.list_images(limit, continue_token)

    def get_image(self, name: str) -> JSONObject:
        self.calls["get_image"] += 1
        return self.store.get_image(name)

    def get_imagestreamimage(self, namespace: str, name: str) -> JSONObject:
        raise AssertionError("not used by the audit")

    def get_imagestreamtag(self, namespace: str, name: str) -> JSONObject:
        raise AssertionError("not used by the audit")

    def update_image(self, image: JSONObject) -> JSONObject:
        raise AssertionError("the audit must never write")

    def ping(self) -> None:
        self.store.ping()


class CountingVerifier(Verifier):
    def __init__(self, inner: Verifier) -> None:
        super().__init__(inner.policy, inner.backend, revision=inner.revision)
        self.verified: Counter[str] = Counter()

    def verify_image(self, image: Image, *, expected_identity: str | None = None) -> ImageVerdict:
        self.verified[image.name] += 1
        return super().verify_image(image, expected_identity=expected_identity)


def _audit(
    world: World, namespace: str | None = None, page_size: int = 1
) -> tuple[AuditReport, CountingAPI, CountingVerifier]:
    api = CountingAPI(ImageStore(world.store_path))
    verifier = CountingVerifier(build_verifier(str(world.policy), None, "auto"))
    try:
        report = audit_image_api(
            api,
            verifier,
            policy="policy.yaml",
            namespace=namespace,
            page_size=page_size,
        )
    finally:
        verifier.backend.close()
    return report, api, verifier


def _tags(*texts: str) -> tuple[TagRef, ...]:
    refs = []
    for text in texts:
        namespace, _, rest = text.partition("/")
        name, _, tag = rest.partition(":")
        refs.append(TagRef(namespace, name, tag))
    return tuple(refs)


# -- the report over the whole store ----------------------------------------------------------


def test_whole_store_totals_reasons_and_scopes(world: World) -> None:
    report, api, verifier = _audit(world)

    assert report.totals == Totals(
        images=6, trusted=3, denied=3, unsigned=2, unreferenced=1, tags=7, failed=0
    )
    assert report.reasons == (
        (Reason.TRUSTED, 2),
        (Reason.ACCEPTED, 1),
        (Reason.IDENTITY_MISMATCH, 1),
        (Reason.NOT_SIGNED, 1),
        (Reason.UNTRUSTED_KEY, 1),
    )
    assert report.signature_reasons == (
        (Reason.TRUSTED, 2),
        (Reason.UNTRUSTED_KEY, 2),
        (Reason.DIGEST_MISMATCH, 1),
        (Reason.IDENTITY_MISMATCH, 1),
        (Reason.UNKNOWN_KEY, 1),
    )
    assert report.scopes == (
        ScopeRow("registry.example.com/demo", (DEMO_REQUIREMENT,), 3, 1, 2),
        ScopeRow("registry.example.com/open", ("insecureAcceptAnything",), 1, 1, 0),
        ScopeRow(
            "registry.example.com/team",
            (f"signedBy {world.team_key} (matchRepoDigestOrExact)",),
            2,
            1,
            1,
        ),
    )
    assert report.unknown_keys.signatures == 1
    assert report.unknown_keys.images == 1
    assert report.unknown_keys.note == UNKNOWN_KEY_NOTE
    assert report.unknown_keys.key_ids == ((world.stranger_key, 1),)
    assert report.failures == ()
    assert exit_status(report) == 1

    # Each Image verified exactly once, however many tags point at it; the whole store was
    # read from the lists (one page per object, page size 1), no Image fetched again.
    assert verifier.verified == dict.fromkeys([APP, TOOLS, API, BATCH, WEB, OPEN], 1)
    assert api.calls == {"list_imagestreams": 7, "list_images": 6}


def test_whole_store_signers(world: World) -> None:
    report, _, _ = _audit(world)
    team = SignerRow(
        world.team_key,
        world.team.user_id,
        world.team.fingerprint,
        2,
        (
            SignerScope("registry.example.com/demo", 1, False),
            SignerScope("registry.example.com/team", 1, True),
        ),
    )
    # The release key signed the tools image twice, but for another digest and for another
    # identity: neither signs that image, so only the app image counts (issue 13). The
    # scope still trusts it (the engine named it before finding the mismatches).
    release = SignerRow(
        RELEASE_KEY,
        RELEASE_USER,
        RELEASE_FPR,
        1,
        (SignerScope("registry.example.com/demo", 1, True),),
    )
    partner = SignerRow(
        PARTNER_KEY,
        PARTNER_USER,
        PARTNER_FPR,
        1,
        (SignerScope("registry.example.com/demo", 1, False),),
    )
    assert report.signers == tuple(
        sorted((team, release, partner), key=lambda row: row.public_key_id)
    )


def test_whole_store_image_rows_and_denied(world: World) -> None:
    report, _, _ = _audit(world)
    rows = {row.image: row for row in report.images}
    assert [row.image for row in report.images] == sorted(rows)
    assert {name: (row.trusted, row.reason, row.tags) for name, row in rows.items()} == {
        APP: (True, Reason.TRUSTED, _tags("demo/app:1.0")),
        TOOLS: (False, Reason.IDENTITY_MISMATCH, _tags("demo/tools:2.1")),
        API: (True, Reason.TRUSTED, _tags("prod/api:stable", "team/api:1", "team/api:latest")),
        BATCH: (False, Reason.NOT_SIGNED, _tags("team/batch:1")),
        WEB: (False, Reason.UNTRUSTED_KEY, _tags("staging/web:2")),
        OPEN: (True, Reason.ACCEPTED, ()),
    }
    assert rows[API].signers == (world.team_key,)
    # DigestMismatch and IdentityMismatch signatures of the release key do not count
    assert rows[TOOLS].signers == (PARTNER_KEY,)
    assert rows[WEB].signers == (world.team_key,)  # the unknown signer is not named
    # ... but its signature's details keep the key ID the blob claims, as unknownKeys does.
    unknown, team = rows[WEB].signature_details
    assert (unknown.reason, unknown.signer, unknown.claimed_key_id, unknown.created) == (
        Reason.UNKNOWN_KEY,
        None,
        world.stranger_key,
        None,
    )
    assert (team.reason, team.signer, team.valid_for_image, team.claimed_key_id) == (
        Reason.UNTRUSTED_KEY,
        world.team_key,
        True,
        None,
    )
    assert (rows[WEB].signatures, rows[BATCH].signatures, rows[OPEN].signatures) == (2, 0, 0)
    assert rows[WEB].scope == "registry.example.com/demo"
    assert rows[WEB].reference == f"registry.example.com/demo/web@{WEB}"
    assert rows[BATCH].message == (
        f"registry.example.com/team/batch@{BATCH} is not trusted (scope "
        "registry.example.com/team): A signature was required, but no signature exists"
    )
    assert [row.image for row in report.denied] == sorted([TOOLS, BATCH, WEB])


# -- --namespace ---------------------------------------------------------------------------------


def test_one_namespace_fetches_only_its_tagged_images(world: World) -> None:
    report, api, verifier = _audit(world, namespace="team")
    assert report.namespace == "team"
    assert report.totals == Totals(
        images=2, trusted=1, denied=1, unsigned=1, unreferenced=0, tags=3, failed=0
    )
    assert {row.image: row.tags for row in report.images} == {
        API: _tags("team/api:1", "team/api:latest"),
        BATCH: _tags("team/batch:1"),
    }
    assert verifier.verified == {API: 1, BATCH: 1}
    # Three streams (one page each, then the end), one GET per distinct Image, no Image list.
    assert api.calls == {"list_imagestreams": 3, "get_image": 2}
    assert exit_status(report) == 1


def test_a_namespace_where_everything_is_trusted_exits_0(world: World) -> None:
    report, _, _ = _audit(world, namespace="prod", page_size=100)
    assert report.totals == Totals(images=1, trusted=1, tags=1)
    assert report.denied == ()
    assert exit_status(report) == 0


def test_an_empty_namespace_is_nothing_audited_and_exit_2(world: World) -> None:
    report, api, _ = _audit(world, namespace="nothing-here")
    assert report.totals == Totals()
    assert api.calls == {"list_imagestreams": 1}
    assert nothing_audited(report)
    assert exit_status(report) == 2  # never "all trusted" (issue 13)


# -- images that cannot be audited -----------------------------------------------------------


def test_dangling_tags_and_unjudgeable_images_are_failures(tmp_path: Path) -> None:
    store = seeded_store(tmp_path / "store.db")
    missing = digest_of("pruned")
    store.put_object(stream("ghost", "app", {"1": [missing], "2": [APP]}))
    # The server only requires a non-empty dockerImageReference; the engine refuses to
    # choose a policy scope for one that does not parse.
    store.put_object(image("bad-reference", signatures=0, dockerImageReference="Not A/Ref"))
    verifier = build_verifier(str(DEMO_POLICY), None, "auto")
    try:
        report = audit_image_api(store, verifier, policy="demo.yaml", page_size=2)
    finally:
        verifier.backend.close()
    assert report.totals == Totals(images=2, trusted=1, denied=1, tags=3, failed=2)
    assert report.failures == tuple(
        sorted(
            [
                AuditFailure(
                    missing,
                    "the tag points at an Image that does not exist",
                    _tags("ghost/app:1"),
                ),
                AuditFailure(
                    digest_of("bad-reference"),
                    "dockerImageReference: 'Not A/Ref' is not a valid image reference: "
                    "invalid reference format: repository name must be lowercase",
                ),
            ],
            key=lambda failure: failure.subject,
        )
    )
    assert {row.image: row.tags for row in report.images}[APP] == _tags(
        "demo/app:1.0", "ghost/app:2"
    )
    assert exit_status(report) == 2


@pytest.mark.parametrize(
    ("stream_object", "found", "problems"),
    [
        ({"metadata": {"name": "s"}}, [], [("?", "an ImageStream without ")]),
        ({"metadata": {"namespace": "n", "name": "s"}}, [], []),
        ({"metadata": {"namespace": "n", "name": "s"}, "status": {}}, [], []),
        (
            {"metadata": {"namespace": "n", "name": "s"}, "status": []},
            [],
            [("n/s", "status is not an object")],
        ),
        (
            {"metadata": {"namespace": "n", "name": "s"}, "status": {"tags": {}}},
            [],
            [("n/s", "status.tags is not a list")],
        ),
        (
            {
                "metadata": {"namespace": "n", "name": "s"},
                "status": {
                    "tags": [
                        {"tag": "a", "items": [{"image": "sha256:1"}, {"image": "sha256:0"}]},
                        {"tag": "b", "items": []},
                        {"tag": "c"},
                        {"items": [{"image": "sha256:2"}]},
                        {"tag": "d", "items": [{"dockerImageReference": "x"}]},
                        "e",
                    ]
                },
            },
            [(TagRef("n", "s", "a"), "sha256:1")],
            [
                ("n/s", "status.tags[3] has no tag name"),
                ("n/s", "status.tags[4] (d): items[0].image is unset"),
                ("n/s", "status.tags[5] has no tag name"),
            ],
        ),
    ],
)
def test_current_tags(
    stream_object: dict[str, Any],
    found: list[tuple[TagRef, str]],
    problems: list[tuple[str, str]],
) -> None:
    got_found, got_problems = current_tags(stream_object)
    assert got_found == found
    assert [(s, m[: len(p)]) for (s, m), (_, p) in zip(got_problems, problems, strict=True)] == (
        problems
    )


def test_build_report_refuses_an_image_twice(world: World) -> None:
    loaded = load_document(ImageStore(world.store_path).get_image(API))
    assert isinstance(loaded, Image)
    verifier = build_verifier(str(world.policy), None, "auto")
    try:
        verdict = verifier.verify_image(loaded)
    finally:
        verifier.backend.close()
    with pytest.raises(ValueError, match="audited twice"):
        build_report([AuditedImage(verdict), AuditedImage(verdict)], policy="p")


# -- renderers -------------------------------------------------------------------------------


def test_json_shape(world: World) -> None:
    report, _, _ = _audit(world)
    body = report_to_json(report)
    assert list(body) == [
        "schemaVersion",
        "policy",
        "namespace",
        "generatedAt",
        "expiryWarningDays",
        "totals",
        "reasons",
        "signatureReasons",
        "scopes",
        "signers",
        "unknownKeys",
        "keys",
        "namespaces",
        "unsigned",
        "denied",
        "failures",
        "images",
    ]
    assert body["schemaVersion"] == "sigverify.audit/v2"
    assert (body["generatedAt"], body["expiryWarningDays"]) == (None, 90)
    assert body["policy"] == "policy.yaml"
    assert body["namespace"] is None
    assert body["totals"] == {
        "images": 6,
        "trusted": 3,
        "denied": 3,
        "unsigned": 2,
        "unreferenced": 1,
        "tags": 7,
        "failed": 0,
    }
    assert body["reasons"] == {
        "Trusted": 2,
        "Accepted": 1,
        "IdentityMismatch": 1,
        "NotSigned": 1,
        "UntrustedKey": 1,
    }
    assert body["unknownKeys"] == {
        "signatures": 1,
        "images": 1,
        "keyIDs": {world.stranger_key: 1},
        "note": UNKNOWN_KEY_NOTE,
    }
    assert body["scopes"][1] == {
        "scope": "registry.example.com/open",
        "requirements": ["insecureAcceptAnything"],
        "images": 1,
        "trusted": 1,
        "denied": 0,
    }
    release = next(s for s in body["signers"] if s["publicKeyID"] == RELEASE_KEY)
    assert release == {
        "publicKeyID": RELEASE_KEY,
        "userID": RELEASE_USER,
        "fingerprint": RELEASE_FPR,
        "images": 1,
        "scopes": [{"scope": "registry.example.com/demo", "images": 1, "trusted": True}],
    }
    assert [d["image"] for d in body["denied"]] == sorted([TOOLS, BATCH, WEB])
    web = next(d for d in body["denied"] if d["image"] == WEB)
    assert web["tags"] == ["staging/web:2"]
    assert web["reason"] == "UntrustedKey"
    assert web["trusted"] is False
    assert set(web) == {
        "image",
        "reference",
        "scope",
        "trusted",
        "reason",
        "message",
        "signatures",
        "signers",
        "tags",
    }
    assert len(body["images"]) == 6
    assert json.loads(json.dumps(body)) == body


def test_csv_header_and_rows(world: World) -> None:
    report, _, _ = _audit(world)
    rows = list(csv.reader(io.StringIO(report_to_csv(report))))
    assert rows[0] == list(CSV_COLUMNS)
    assert rows[0] == [
        "image",
        "status",
        "reason",
        "reference",
        "scope",
        "signatures",
        "signers",
        "tags",
        "message",
        "sources",
    ]
    by_image = {row[0]: row for row in rows[1:]}
    assert [row[0] for row in rows[1:]] == sorted(by_image)
    assert by_image[API][:8] == [
        API,
        "trusted",
        "Trusted",
        f"registry.example.com/team/api@{API}",
        "registry.example.com/team",
        "1",
        world.team_key,
        "prod/api:stable team/api:1 team/api:latest",
    ]
    assert by_image[TOOLS][:8] == [
        TOOLS,
        "denied",
        "IdentityMismatch",
        f"registry.example.com/demo/tools@{TOOLS}",
        "registry.example.com/demo",
        "3",
        PARTNER_KEY,
        "demo/tools:2.1",
    ]
    assert by_image[OPEN][:8] == [
        OPEN,
        "trusted",
        "Accepted",
        f"registry.example.com/open/tool@{OPEN}",
        "registry.example.com/open",
        "0",
        "",
        "",
    ]
    assert len(rows) == 7
    # A cluster audit names no sources (its signatures are on the Image objects), as the JSON.
    assert {row[9] for row in rows[1:]} == {""}


def test_csv_failure_rows() -> None:
    report = build_report(
        [], [AuditFailure("sha256:ab", "gone", _tags("a/b:1", "a/c:2"))], policy="p"
    )
    assert report_to_csv(report).splitlines()[1] == "sha256:ab,failed,,,,,,a/b:1 a/c:2,gone,"


def test_text_report(world: World) -> None:
    report, _, _ = _audit(world)
    text = report_to_text(report)
    lines = text.splitlines()
    assert lines[:3] == [
        "policy audit of all namespaces against policy.yaml",
        "  images:  6 audited, 3 trusted, 3 would be denied, 2 unsigned",
        "  tags:    7 tags; 1 images referenced by no tag",
    ]
    assert "  Trusted           2" in lines
    assert f"  {WEB}  UntrustedKey" in lines
    assert "    tags:    staging/web:2" in lines
    assert (
        f"  1 signatures on 1 images by keys the policy does not know ({UNKNOWN_KEY_NOTE})" in lines
    )
    assert f"  {world.stranger_key}  1 signatures" in lines
    release_row = next(line for line in lines if line.startswith(f"  {RELEASE_KEY}"))
    assert release_row.split()[-3:] == ["registry.example.com/demo", "1", "yes"]


# -- the command, in a real subprocess ------------------------------------------------------
# Each is a real process (about 0.7 s): the one not marked slow is the quick run's check.


def _run(
    *args: str, cwd: Path | None = None, kube: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGVERIFY_")}
    # $KUBECONFIG and ~/.kube/config are the default cluster: none unless a test gives one
    env.pop("KUBECONFIG", None)
    env.pop("XDG_STATE_HOME", None)
    env["HOME"] = "/nonexistent"
    env.update(kube or {})
    return subprocess.run(
        [str(SIGVERIFY), "audit", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or REPO,
        timeout=300,
        check=False,
    )


def _timeless(body: Any) -> Any:
    """A JSON report without what depends on the moment it was made (two runs differ)."""
    if isinstance(body, dict):
        return {
            k: _timeless(v)
            for k, v in body.items()
            if k not in ("generatedAt", "ageDays", "daysLeft")
        }
    if isinstance(body, list):
        return [_timeless(v) for v in body]
    return body


def _objects(path: Path) -> list[tuple[str, str, str, int, str]]:
    with sqlite3.connect(path) as db:
        rows: list[tuple[str, str, str, int, str]] = db.execute(
            "SELECT kind, namespace, name, resource_version, body FROM objects ORDER BY 1, 2, 3"
        ).fetchall()
    return rows


def test_cli_json_exit_1_and_read_only(world: World) -> None:
    before = _objects(world.store_path)
    done = _run("--policy", str(world.policy), "--store", str(world.store_path), "-o", "json")
    assert (done.returncode, done.stderr) == (1, "")
    body = json.loads(done.stdout)
    assert body["totals"]["denied"] == 3
    assert body["policy"] == str(world.policy)
    assert _objects(world.store_path) == before
    validate_report(body)  # the real command's output, against docs/audit-report.schema.json


@pytest.mark.slow
def test_cli_backends_agree(world: World) -> None:
    common = ("--policy", str(world.policy), "--store", str(world.store_path), "-o", "csv")
    native = _run(*common, "--backend", "native")
    gnupg = _run(*common, "--backend", "gnupg")
    assert (native.returncode, gnupg.returncode) == (1, 1)
    assert native.stdout == gnupg.stdout
    assert native.stdout.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert len(native.stdout.splitlines()) == 7


@pytest.mark.slow
def test_cli_namespace_trusted_exit_0(world: World) -> None:
    done = _run("--policy", str(world.policy), "--store", str(world.store_path), "-n", "prod")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[:2] == [
        f"policy audit of namespace prod against {world.policy}",
        "  images:  1 audited, 1 trusted, 0 would be denied, 0 unsigned",
    ]


@pytest.mark.slow
def test_cli_demo_policy_on_the_samples(tmp_path: Path) -> None:
    seeded_store(tmp_path / "store.db")
    done = _run("--policy", str(DEMO_POLICY), "--store", str(tmp_path / "store.db"), "-o", "csv")
    assert done.returncode == 1
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert [row[:3] for row in rows[1:]] == [
        [TOOLS, "denied", "IdentityMismatch"],
        [APP, "trusted", "Trusted"],
    ]


@pytest.mark.slow
def test_cli_failures_print_the_report_then_exit_2(tmp_path: Path) -> None:
    store = seeded_store(tmp_path / "store.db")
    store.put_object(stream("ghost", "app", {"1": [digest_of("pruned")]}))
    done = _run("--policy", str(DEMO_POLICY), "--store", str(tmp_path / "store.db"))
    assert done.returncode == 2
    assert done.stderr == (
        "sigverify: error: 1 images or image streams could not be audited (listed in the report)\n"
    )
    assert "COULD NOT BE AUDITED (1)" in done.stdout


def _garbage_store(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not an SQLite database" * 100)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no-policy-flag", "sigverify: error: --policy is required (the trust policy to audit "),
        ("missing-policy", "sigverify: error: {tmp}/absent.yaml: cannot read policy file: No such"),
        ("missing-store", "sigverify: error: --store {tmp}/absent.db: no such store file"),
        ("garbage-store", "sigverify: error: cannot open the store {tmp}/garbage.db: "),
        ("bad-namespace", "sigverify: error: --namespace 'Bad_NS' is not a namespace name"),
        ("long-namespace", "sigverify: error: --namespace '" + "a" * 64 + "' is not a namespace"),
        ("store-and-cluster", "sigverify: error: give either --store or --kubeconfig/--context"),
    ],
)
def test_cli_malformed_input_is_one_line_and_exit_2(
    world: World, tmp_path: Path, case: str, expected: str
) -> None:
    store = str(world.store_path)
    policy = str(world.policy)
    args = {
        "no-policy-flag": ["--store", store],
        "missing-policy": ["--policy", str(tmp_path / "absent.yaml"), "--store", store],
        "missing-store": ["--policy", policy, "--store", str(tmp_path / "absent.db")],
        "garbage-store": ["--policy", policy, "--store", str(_garbage_store(tmp_path))],
        "bad-namespace": ["--policy", policy, "--store", store, "-n", "Bad_NS"],
        "long-namespace": ["--policy", policy, "--store", store, "-n", "a" * 64],
        "store-and-cluster": ["--policy", policy, "--store", store, "--kubeconfig", "k"],
    }[case]
    done = _run(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(expected.format(tmp=tmp_path))
    assert not (tmp_path / "absent.db").exists()  # read-only: no empty store left behind


@pytest.mark.slow
def test_cli_without_store_or_cluster_uses_the_default_store_and_never_creates_it(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    done = _run("--policy", str(DEMO_POLICY), cwd=tmp_path, kube={"XDG_STATE_HOME": str(state)})
    assert done.returncode == 2
    default = state / "sigverify" / "sigverify.db"  # the state folder's, not the cwd's
    assert done.stderr == f"sigverify: error: --store {default}: no such store file\n"
    assert not state.exists() and not (tmp_path / "var").exists()


# -- a cluster: the OpenShift client over real HTTP against the store's REST -----------------


def _kubeconfig(folder: Path, server: str) -> Path:
    path = folder / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "local", "cluster": {"server": server}}],
                "users": [{"name": "me", "user": {}}],
                "contexts": [{"name": "local", "context": {"cluster": "local", "user": "me"}}],
                "current-context": "local",
            }
        ),
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
def test_cli_against_a_cluster_matches_the_store(world: World, tmp_path: Path) -> None:
    policy = str(world.policy)
    from_store = _run("--policy", policy, "--store", str(world.store_path), "-o", "json")
    with serve_wsgi(create_store_app(ImageStore(world.store_path))) as url:
        kubeconfig = str(_kubeconfig(tmp_path, url))
        from_cluster = _run(
            "--policy", policy, "--kubeconfig", kubeconfig, "--page-size", "2", "-o", "json"
        )
        team = _run("--policy", policy, "--kubeconfig", kubeconfig, "-n", "team", "-o", "json")
    assert (from_cluster.returncode, from_cluster.stderr) == (1, "")
    assert _timeless(json.loads(from_cluster.stdout)) == _timeless(json.loads(from_store.stdout))
    assert team.returncode == 1
    assert json.loads(team.stdout)["totals"] == {
        "images": 2,
        "trusted": 1,
        "denied": 1,
        "unsigned": 1,
        "unreferenced": 0,
        "tags": 3,
        "failed": 0,
    }


@pytest.mark.slow
def test_cli_defaults_to_the_kubeconfig_variable_and_prints_yaml(
    world: World, tmp_path: Path
) -> None:
    policy = str(world.policy)
    with serve_wsgi(create_store_app(ImageStore(world.store_path))) as url:
        kube = {"KUBECONFIG": str(_kubeconfig(tmp_path, url))}
        as_json = _run("--policy", policy, "-n", "team", "-o", "json", kube=kube, cwd=tmp_path)
        as_yaml = _run("--policy", policy, "-n", "team", "-o", "yaml", kube=kube, cwd=tmp_path)
    assert (as_json.returncode, as_json.stderr) == (1, "")
    assert _timeless(yaml.safe_load(as_yaml.stdout)) == _timeless(json.loads(as_json.stdout))
    assert json.loads(as_json.stdout)["totals"]["images"] == 2


@pytest.mark.slow
def test_cli_unreachable_cluster_is_one_line_and_exit_2(world: World, tmp_path: Path) -> None:
    kubeconfig = _kubeconfig(tmp_path, f"http://127.0.0.1:{closed_port()}")
    done = _run("--policy", str(world.policy), "--kubeconfig", str(kubeconfig), "--timeout", "5")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("sigverify: error: ")
    assert done.stderr.count("\n") == 1
