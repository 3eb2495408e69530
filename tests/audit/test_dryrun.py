"""``sigverify audit --compare-policy`` and ``--workloads``: the two dry runs, end to end.

The world: an embedded store with Images signed here by two real gpg keys (``team`` and
``next``), three policies over them (CURRENT trusts team; NEW trusts only next and no longer
accepts the open scope; LOOSE trusts both), and a manifest file as ``oc get
pods,deploy,dc,cronjob -A -o yaml`` prints it: Pods, Deployments, a DeploymentConfig and a
CronJob across four namespaces, judged by CURRENT's ``admission:`` section.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask, jsonify

from sigverify.audit.compare import PolicyComparer
from sigverify.audit.manifests import list_cluster_workloads, read_workloads
from sigverify.audit.render_dryrun import (
    COMPARISON_CSV_COLUMNS,
    WORKLOADS_COMPARISON_CSV_COLUMNS,
    WORKLOADS_CSV_COLUMNS,
    comparison_to_text,
    workloads_to_text,
)
from sigverify.audit.workloads import compare_workloads, judge_workloads
from sigverify.cli.audit import audit_image_api
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import create_store_app
from sigverify.policyfile.admission import AdmissionConfig
from sigverify.policyfile.holder import load_verifier
from tests.imageapi.builders import digest_of, image, signature, stream
from tests.imageapi.servers import serve_wsgi
from tests.support.audit_schema import validate_report
from tests.support.gpgfactory import GeneratedKey, GpgFactory, KeySpec, atomic_payload

REPO = Path(__file__).resolve().parents[2]
SIGVERIFY = REPO / ".venv" / "bin" / "sigverify"
INTERNAL = "image-registry.openshift-image-registry.svc:5000"

API = digest_of("dry-api")  # signed by team: CURRENT trusts, NEW denies
NEXT = digest_of("dry-next")  # signed by next: CURRENT denies, NEW trusts
BOTH = digest_of("dry-both")  # signed by both: trusted by every policy
BATCH = digest_of("dry-batch")  # unsigned, team scope: denied by every policy
OPEN = digest_of("dry-open")  # unsigned, open scope: CURRENT accepts, NEW rejects


@dataclass(frozen=True)
class World:
    store: Path
    current: Path
    new: Path
    loose: Path
    manifests: Path
    team: GeneratedKey
    next: GeneratedKey

    def key_id(self, key: GeneratedKey) -> str:
        return "0x" + key.key_id.upper()


def _image(
    factory: GpgFactory, seed: str, repository: str, signers: list[GeneratedKey]
) -> dict[str, Any]:
    digest = digest_of(seed)
    body = image(seed, signatures=0, dockerImageReference=f"{repository}@{digest}")
    body["signatures"] = [
        signature(digest, f"s{i}", factory.sign(key, atomic_payload(digest, f"{repository}:1")))
        for i, key in enumerate(signers)
    ]
    return body


def _policy(path: Path, keys: Path, team: list[str], *, open_scope: str, admission: str) -> Path:
    path.write_text(
        f"""\
apiVersion: sigverify/v1
kind: TrustPolicy
keysDirectory: {keys}
default:
  - type: reject
scopes:
  registry.example.com/team:
    - type: signedBy
      keys: {json.dumps(team)}
  registry.example.com/open:
    - type: {open_scope}
{admission}""",
        encoding="utf-8",
    )
    return path


ADMISSION = """\
admission:
  mode: warn
  namespaces:
    prod: {mode: enforce}
  exemptNamespaces: [kube-system]
  exemptImages: [quay.io/exempt]
"""


def _container(name: str, image_ref: str) -> dict[str, Any]:
    return {"name": name, "image": image_ref, "resources": {}}


def _template(*containers: dict[str, Any], init: list[dict[str, Any]] | None = None) -> Any:
    spec: dict[str, Any] = {"containers": list(containers), "restartPolicy": "Always"}
    if init:
        spec["initContainers"] = init
    return {"metadata": {"labels": {"app": "x"}}, "spec": spec}


def _meta(namespace: str, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "uid": f"uid-{namespace}-{name}",
        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
    }


TEAM_API = f"registry.example.com/team/api@{API}"
TEAM_BATCH = f"registry.example.com/team/batch@{BATCH}"
OPEN_TOOL = f"registry.example.com/open/tool@{OPEN}"
UNPINNED = "quay.io/someone/app:latest"


def _manifest_objects() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": _meta("team", "api-7d9f"),
            "spec": {"containers": [_container("api", TEAM_API)]},
            "status": {"phase": "Running"},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": _meta("team", "debug"),
            "spec": {"containers": [_container("shell", "quay.io/exempt/toolbox:latest")]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta("team", "web"),
            "spec": {
                "replicas": 2,
                "template": _template(
                    _container("web", TEAM_BATCH), init=[_container("migrate", TEAM_API)]
                ),
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta("ready", "frontend"),
            "spec": {"template": _template(_container("ui", f"{INTERNAL}/team/api:1"))},
        },
        {
            "apiVersion": "apps.openshift.io/v1",
            "kind": "DeploymentConfig",
            "metadata": _meta("prod", "legacy"),
            "spec": {"replicas": 1, "template": _template(_container("app", UNPINNED))},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": _meta("prod", "nightly"),
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {"spec": {"template": _template(_container("job", OPEN_TOOL))}},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": _meta("kube-system", "dns"),
            "spec": {"containers": [_container("dns", TEAM_BATCH)]},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta("team", "web"),
            "spec": {"ports": [{"port": 80}]},
        },
    ]


def _write_manifests(path: Path) -> Path:
    document = {"apiVersion": "v1", "kind": "List", "items": _manifest_objects()}
    document["metadata"] = {"resourceVersion": ""}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def world(gpg_factory: GpgFactory, tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("dryrun")
    team = gpg_factory.key(KeySpec("ed25519", name="dry-team"))
    nxt = gpg_factory.key(KeySpec("ed25519", name="dry-next"))
    keys = root / "keys"
    keys.mkdir()
    (keys / "team.gpg").write_bytes(team.public_binary.read_bytes())
    (keys / "next.gpg").write_bytes(nxt.public_binary.read_bytes())
    store = ImageStore(root / "store.db")
    team_repo = "registry.example.com/team"
    store.put_object(_image(gpg_factory, "dry-api", f"{team_repo}/api", [team]))
    store.put_object(_image(gpg_factory, "dry-next", f"{team_repo}/next", [nxt]))
    store.put_object(_image(gpg_factory, "dry-both", f"{team_repo}/both", [team, nxt]))
    store.put_object(_image(gpg_factory, "dry-batch", f"{team_repo}/batch", []))
    store.put_object(_image(gpg_factory, "dry-open", "registry.example.com/open/tool", []))
    store.put_object(stream("team", "api", {"1": [API]}))
    store.put_object(stream("prod", "api", {"stable": [API]}))
    store.put_object(stream("team", "next", {"1": [NEXT]}))
    store.put_object(stream("team", "both", {"1": [BOTH]}))
    store.put_object(stream("team", "batch", {"1": [BATCH]}))
    current = _policy(
        root / "current.yaml",
        keys,
        [team.fingerprint],
        open_scope="insecureAcceptAnything",
        admission=ADMISSION,
    )
    new = _policy(root / "new.yaml", keys, [nxt.fingerprint], open_scope="reject", admission="")
    loose = _policy(
        root / "loose.yaml",
        keys,
        [team.fingerprint, nxt.fingerprint],
        open_scope="insecureAcceptAnything",
        admission="",
    )
    manifests = _write_manifests(root / "workloads.yaml")
    return World(root / "store.db", current, new, loose, manifests, team, nxt)


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGVERIFY_")}
    env.pop("KUBECONFIG", None)
    env["HOME"] = "/nonexistent"
    return subprocess.run(
        [str(SIGVERIFY), "audit", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        input=stdin,
        timeout=300,
        check=False,
    )


# -- --compare-policy -------------------------------------------------------------------------


def _compare(world: World, current: Path, new: Path) -> Any:
    _, verifier = load_verifier(current, None, "native")
    _, other = load_verifier(new, None, "native")
    comparer = PolicyComparer(other, policy=str(current), compare_policy=str(new))
    report = audit_image_api(
        ImageStore(world.store), verifier, policy=str(current), observe=comparer.observe
    )
    return report, comparer.comparison()


def _summary(changes: Any) -> list[tuple[str, list[str], str, str]]:
    return [(c.image, [str(t) for t in c.tags], c.current.reason, c.new.reason) for c in changes]


def test_compare_lists_newly_denied_and_newly_admitted(world: World) -> None:
    report, comparison = _compare(world, world.current, world.new)
    assert report.totals.images == 5  # every Image judged once, by both
    assert comparison.images == 5
    assert comparison.unchanged == 2  # BOTH (trusted) and BATCH (denied) under both
    assert _summary(comparison.newly_denied) == sorted(
        [
            (API, ["prod/api:stable", "team/api:1"], "Trusted", "UnknownKey"),
            (OPEN, [], "Accepted", "Rejected"),
        ]
    )
    assert _summary(comparison.newly_admitted) == [(NEXT, ["team/next:1"], "UnknownKey", "Trusted")]
    assert comparison.failures == ()


class _Counting:
    """Counts what the audit asks of the store and of each verifier."""

    def __init__(self, inner: Any, calls: Counter[str], prefix: str = "") -> None:
        self._inner, self._calls, self._prefix = inner, calls, prefix

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._calls[self._prefix + name] += 1
            return attribute(*args, **kwargs)

        return counted


def test_compare_reads_each_image_once_and_verifies_it_once_per_policy(world: World) -> None:
    calls: Counter[str] = Counter()
    _, verifier = load_verifier(world.current, None, "native")
    _, other = load_verifier(world.new, None, "native")
    comparer = PolicyComparer(_Counting(other, calls, "new."), policy="c", compare_policy="n")
    report = audit_image_api(
        _Counting(ImageStore(world.store), calls),
        _Counting(verifier, calls, "current."),
        policy="c",
        page_size=2,
        observe=comparer.observe,
    )
    assert report.totals.images == 5
    assert calls == Counter(
        {
            "list_imagestreams": 3,  # 5 streams, 2 a page
            "list_images": 3,  # 5 Images, 2 a page: every Image read once, no GET
            "current.verify_image": 5,
            "new.verify_image": 5,
        }
    )


def test_compare_the_other_way(world: World) -> None:
    _, comparison = _compare(world, world.new, world.current)
    assert [c.image for c in comparison.newly_denied] == [NEXT]
    assert [c.image for c in comparison.newly_admitted] == sorted([API, OPEN])


def test_compare_text_has_two_tables(world: World) -> None:
    _, comparison = _compare(world, world.current, world.loose)
    text = comparison_to_text(comparison)
    assert text.splitlines()[:9] == [
        f"policy dry run: {world.loose} against {world.current}",
        "  images:  5 judged by both, 0 newly denied, 1 newly admitted, 4 unchanged",
        "",
        "NEWLY DENIED (0)",
        "  (none)",
        "",
        "NEWLY ADMITTED (1)",
        "  IMAGE" + " " * (len(NEXT) - 3) + "TAGS         CURRENT     NEW",
        f"  {NEXT}  team/next:1  UnknownKey  Trusted",
    ]


def test_cli_compare_json_exit_1_when_new_denies(world: World) -> None:
    done = _run(
        "--policy",
        str(world.current),
        "--compare-policy",
        str(world.new),
        "--store",
        str(world.store),
        "-o",
        "json",
    )
    assert (done.returncode, done.stderr) == (1, "")
    body = json.loads(done.stdout)
    validate_report(body)  # every member documented in docs/audit-report.schema.json
    comparison = body["comparison"]
    assert (comparison["policy"], comparison["comparePolicy"]) == (
        str(world.current),
        str(world.new),
    )
    assert [c["image"] for c in comparison["newlyDenied"]] == sorted([API, OPEN])
    api = next(c for c in comparison["newlyDenied"] if c["image"] == API)
    team, nxt = world.key_id(world.team), world.key_id(world.next)
    reference = f"registry.example.com/team/api@{API}"
    assert api == {
        "image": API,
        "reference": reference,
        "tags": ["prod/api:stable", "team/api:1"],
        "current": {
            "trusted": True,
            "reason": "Trusted",
            "message": f"{reference} is trusted (scope registry.example.com/team): "
            f"signed by {team}",
        },
        "new": {
            "trusted": False,
            "reason": "UnknownKey",
            "message": f"{reference} is not trusted (scope registry.example.com/team): signedBy "
            f"{nxt} (matchRepoDigestOrExact): no accepted signature by this key; None of the "
            f"signatures were accepted, reasons: {API}@s0: signed by key {team}, which is not "
            "in the policy's keyring",
        },
    }
    assert [c["image"] for c in comparison["newlyAdmitted"]] == [NEXT]
    assert comparison["newlyAdmitted"][0]["new"]["message"] == (
        f"registry.example.com/team/next@{NEXT} is trusted (scope registry.example.com/team): "
        f"signed by {nxt}"
    )
    assert body["totals"]["images"] == 5  # the report of --policy is all there


def test_cli_compare_exit_0_when_new_only_admits_and_csv(world: World) -> None:
    done = _run(
        "--policy",
        str(world.current),
        "--compare-policy",
        str(world.loose),
        "--store",
        str(world.store),
        "-o",
        "csv",
    )
    assert (done.returncode, done.stderr) == (0, "")
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == list(COMPARISON_CSV_COLUMNS)
    assert [row[:6] for row in rows[1:]] == [
        [
            "newly-admitted",
            NEXT,
            f"registry.example.com/team/next@{NEXT}",
            "team/next:1",
            "no",
            "UnknownKey",
        ]
    ]
    assert rows[1][7:9] == ["yes", "Trusted"]


@pytest.mark.slow
def test_cli_output_dir_has_the_dry_run_tables_and_table_picks_one(
    world: World, tmp_path: Path
) -> None:
    both = (
        "--policy", str(world.current), "--compare-policy", str(world.loose),
        "--store", str(world.store), "--workloads", str(world.manifests),
    )  # fmt: skip
    done = _run(*both, "--output-dir", str(tmp_path / "tables"))
    assert (done.returncode, done.stdout, done.stderr) == (1, "", "")
    written = {path.name for path in (tmp_path / "tables").iterdir()}
    assert {"images.csv", "keys.csv", "comparison.csv", "workloads.csv"} <= written
    comparison = (tmp_path / "tables" / "comparison.csv").read_text().splitlines()
    assert [row.split(",")[:2] for row in comparison] == [
        ["change", "image"],
        ["newly-admitted", NEXT],
    ]
    workloads = _run(*both, "--table", "workloads")
    assert workloads.returncode == 1
    assert workloads.stdout == (tmp_path / "tables" / "workloads.csv").read_text()
    images = _run(*both, "--table", "images")
    assert images.stdout.splitlines()[0].startswith("image,status,reason,")


@pytest.mark.slow
def test_cli_html_shows_both_dry_runs(world: World) -> None:
    done = _run(
        "--policy", str(world.current), "--compare-policy", str(world.new),
        "--store", str(world.store), "--workloads", str(world.manifests), "-o", "html",
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (1, "")
    page = done.stdout
    assert '<section id="comparison"><h2>Policy dry run</h2>' in page
    assert '<section id="workloads"><h2>Workloads: what enforce would deny today</h2>' in page
    for text in (NEXT, API, OPEN, "DeploymentConfig", "legacy", TEAM_BATCH, UNPINNED):
        assert text in page


@pytest.mark.slow
def test_cli_compare_text_and_reverse_exit_1(world: World) -> None:
    done = _run(
        "--policy",
        str(world.new),
        "--compare-policy",
        str(world.current),
        "--store",
        str(world.store),
    )
    assert (done.returncode, done.stderr) == (1, "")
    assert "\nNEWLY DENIED (1)\n" in done.stdout
    assert "\nNEWLY ADMITTED (2)\n" in done.stdout


def test_cli_compare_policy_errors_are_one_line(world: World, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: sigverify/v1\nkind: TrustPolicy\ndefault: [{type: nope}]\n")
    done = _run(
        "--policy",
        str(world.current),
        "--compare-policy",
        str(broken),
        "--store",
        str(world.store),
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"sigverify: error: {broken}")
    assert done.stderr.count("\n") == 1


# -- --workloads --------------------------------------------------------------------------------


def _workloads(world: World) -> Any:
    loaded, verifier = load_verifier(world.current, None, "native")
    found = read_workloads(str(world.manifests))
    return judge_workloads(found, loaded.admission, ImageStore(world.store), verifier)


def _denial(world: World, image_ref: str, where: str, reason: str, scope: str) -> str:
    return (
        f'image "{image_ref}" at {where} is not trusted [{reason}]: signatures seen: none; '
        f'scope "{scope}" requires: signedBy {world.key_id(world.team)} (matchRepoDigestOrExact)'
    )


EXPECTED_NAMESPACES = [
    # namespace, mode today, exempt, workloads, containers, would deny, ready
    ("kube-system", "warn", True, 1, 0, 0, None),
    ("prod", "enforce", False, 2, 2, 1, False),
    ("ready", "warn", False, 1, 1, 0, True),
    ("team", "warn", False, 3, 4, 1, False),
]


def test_workloads_from_a_manifest_file(world: World) -> None:
    report = _workloads(world)
    assert report.source == str(world.manifests)
    assert [
        (
            r.namespace,
            r.mode,
            r.exempt,
            r.workloads,
            r.containers,
            r.would_deny,
            r.ready_for_enforce,
        )
        for r in report.namespaces
    ] == EXPECTED_NAMESPACES
    assert [
        (d.namespace, d.kind, d.name, d.container, d.image, d.reason) for d in report.denied
    ] == [
        ("prod", "DeploymentConfig", "legacy", "app", UNPINNED, "Rejected"),
        ("team", "Deployment", "web", "web", TEAM_BATCH, "NotSigned"),
    ]
    assert report.denied[1].message == _denial(
        world,
        TEAM_BATCH,
        "spec.template.spec.containers[0] (web)",
        "NotSigned",
        "registry.example.com/team",
    )
    # No Image object and no image stream: judged by its policy scope with no signatures.
    assert report.denied[0].message == (
        f'image "{UNPINNED}" at spec.template.spec.containers[0] (app) is not trusted '
        '[Rejected]: signatures seen: none; scope "default" requires: reject'
    )
    assert report.skipped == (("Service", 1),)
    text = workloads_to_text(report)
    assert text.splitlines()[:3] == [
        f"workloads ({world.manifests}): 7 in 4 namespaces, 2 would be denied under enforce",
        "  ready for enforce: ready",
        "  not judged: Service 1",
    ]


@pytest.mark.slow  # the real command, several times
def test_cli_workloads_json_csv_and_exit_1(world: World) -> None:
    common = ("--policy", str(world.current), "--store", str(world.store), "-n", "team")
    done = _run(*common, "--workloads", str(world.manifests), "-o", "json")
    assert (done.returncode, done.stderr) == (1, "")
    validate_report(json.loads(done.stdout))
    workloads = json.loads(done.stdout)["workloads"]
    assert workloads["namespaces"] == [
        {
            "namespace": "team",
            "mode": "warn",
            "exempt": False,
            "workloads": 3,
            "containers": 4,
            "wouldDeny": 1,
            "readyForEnforce": False,
        }
    ]
    assert workloads["denied"] == [
        {
            "namespace": "team",
            "kind": "Deployment",
            "name": "web",
            "container": "web",
            "image": TEAM_BATCH,
            "reason": "NotSigned",
            "message": _denial(
                world,
                TEAM_BATCH,
                "spec.template.spec.containers[0] (web)",
                "NotSigned",
                "registry.example.com/team",
            ),
        }
    ]
    as_csv = _run(
        "--policy",
        str(world.current),
        "--store",
        str(world.store),
        "--workloads",
        "-",
        "-o",
        "csv",
        stdin=world.manifests.read_text(),
    )
    assert as_csv.returncode == 1
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0] == list(WORKLOADS_CSV_COLUMNS)
    assert [row[:7] for row in rows[1:]] == [
        ["prod", "no", "DeploymentConfig", "legacy", "app", UNPINNED, "Rejected"],
        ["team", "no", "Deployment", "web", "web", TEAM_BATCH, "NotSigned"],
        ["kube-system", "exempt", "", "", "", "", ""],
        ["ready", "yes", "", "", "", "", ""],
    ]


@pytest.mark.slow
def test_cli_workloads_ready_namespace_exit_0_text(world: World) -> None:
    done = _run(
        "--policy",
        str(world.current),
        "--store",
        str(world.store),
        "-n",
        "prod",
        "--workloads",
        str(world.manifests),
    )
    assert done.returncode == 1  # prod: the DeploymentConfig would be denied
    assert "ENFORCE WOULD DENY (1 container images)" in done.stdout
    ready = _run(
        "--policy",
        str(world.loose),
        "--store",
        str(world.store),
        "--workloads",
        str(world.manifests),
        "-n",
        "ready",
    )
    # LOOSE has no admission: section: the defaults (enforce everywhere), nothing exempt.
    assert (ready.returncode, ready.stderr) == (0, "")
    assert "  ready for enforce: ready\n" in ready.stdout


# -- --workloads cluster: the OpenShift client over real HTTP -----------------------------------


# Discovery as kube-apiserver serves it, for the kinds of the manifest (kubectl asks first).
_GROUPS = {
    "v1": [
        ("pods", "Pod", ["po"]),
        ("replicationcontrollers", "ReplicationController", ["rc"]),
        ("services", "Service", ["svc"]),
    ],
    "apps/v1": [
        ("deployments", "Deployment", ["deploy"]),
        ("statefulsets", "StatefulSet", ["sts"]),
        ("daemonsets", "DaemonSet", ["ds"]),
        ("replicasets", "ReplicaSet", ["rs"]),
    ],
    "batch/v1": [("cronjobs", "CronJob", ["cj"]), ("jobs", "Job", [])],
    "apps.openshift.io/v1": [("deploymentconfigs", "DeploymentConfig", ["dc"])],
}


def _cluster_app(store: ImageStore) -> Any:
    """The store's image API plus workload lists and their discovery: enough of an API
    server for ``kubectl get`` and for ``sigverify audit --workloads cluster``.

    The store answers ``/api`` and ``/apis`` with its own discovery (the image group only),
    so those two and the workload groups go to this server's app, the rest to the store."""
    store_app = create_store_app(store)
    app = Flask(__name__)
    by_path: dict[str, list[dict[str, Any]]] = {}
    for item in _manifest_objects():
        resource = next(r for r, kind, _ in _GROUPS[item["apiVersion"]] if kind == item["kind"])
        group = item["apiVersion"]
        prefix = "/api/v1" if group == "v1" else f"/apis/{group}"
        by_path.setdefault(f"{prefix}/{resource}", []).append(item)
    # A ReplicaSet its Deployment owns (skipped: the Deployment's template is judged).
    owned = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {**_meta("team", "web-5c"), "ownerReferences": [{"controller": True}]},
        "spec": {"template": _template(_container("web", TEAM_BATCH))},
    }
    by_path["/apis/apps/v1/replicasets"] = [owned]

    def listing(path: str, kind: str, group: str, namespace: str | None = None) -> Any:
        # As kube-apiserver lists them: the items without kind and apiVersion.
        items = [
            {k: v for k, v in i.items() if k not in ("kind", "apiVersion")}
            for i in by_path.get(path, [])
            if namespace in (None, i["metadata"]["namespace"])
        ]
        return jsonify({"kind": f"{kind}List", "apiVersion": group, "metadata": {}, "items": items})

    def resources(group: str) -> Any:
        return jsonify(
            {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": group,
                "resources": [
                    {
                        "name": name,
                        "singularName": kind.lower(),
                        "namespaced": True,
                        "kind": kind,
                        "verbs": ["get", "list"],
                        "shortNames": short,
                    }
                    for name, kind, short in _GROUPS[group]
                ],
            }
        )

    app.add_url_rule("/api", "api", lambda: jsonify({"kind": "APIVersions", "versions": ["v1"]}))
    groups = [
        {
            "name": group.split("/")[0],
            "versions": [{"groupVersion": group, "version": "v1"}],
            "preferredVersion": {"groupVersion": group, "version": "v1"},
        }
        for group in [*_GROUPS, "image.openshift.io/v1"]
        if group != "v1"
    ]
    app.add_url_rule(
        "/apis",
        "apis",
        lambda: jsonify({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
    )
    for group, kinds in _GROUPS.items():
        prefix = "/api/v1" if group == "v1" else f"/apis/{group}"
        app.add_url_rule(prefix, prefix, lambda group=group: resources(group))
        for resource, kind, _ in kinds:
            path = f"{prefix}/{resource}"
            app.add_url_rule(
                path, path, lambda path=path, kind=kind, group=group: listing(path, kind, group)
            )
            app.add_url_rule(
                f"{prefix}/namespaces/<namespace>/{resource}",
                f"{path}/namespaced",
                lambda namespace, path=path, kind=kind, group=group: listing(
                    path, kind, group, namespace
                ),
            )
    workload_prefixes = tuple("/api/v1" if group == "v1" else f"/apis/{group}" for group in _GROUPS)

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        ours = path in ("/api", "/apis") or any(
            path == prefix or path.startswith(prefix + "/") for prefix in workload_prefixes
        )
        return (app if ours else store_app)(environ, start_response)

    return dispatch


def _kubeconfig(folder: Path, server: str) -> Path:
    path = folder / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        ),
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
def test_cli_workloads_cluster_and_real_kubectl_output_agree(world: World, tmp_path: Path) -> None:
    """``--workloads cluster`` lists what the real kubectl's ``get pods,deploy,dc,cronjob -A
    -o yaml`` prints from the same server, and both judge alike."""
    with serve_wsgi(_cluster_app(ImageStore(world.store))) as url:
        kubeconfig = str(_kubeconfig(tmp_path, url))
        got = subprocess.run(
            ["kubectl", "--kubeconfig", kubeconfig, "get", "pods,deploy,dc,cronjob", "-A",
             "-o", "yaml"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        from_cluster = _run(
            "--policy", str(world.current), "--kubeconfig", kubeconfig,
            "--workloads", "cluster", "-o", "json", "--page-size", "2",
        )  # fmt: skip
    printed = tmp_path / "oc-get.yaml"
    printed.write_text(got.stdout, encoding="utf-8")
    from_kubectl = _run(
        "--policy", str(world.current), "--store", str(world.store),
        "--workloads", str(printed), "-o", "json",
    )  # fmt: skip
    assert (from_cluster.returncode, from_cluster.stderr) == (1, "")
    assert (from_kubectl.returncode, from_kubectl.stderr) == (1, "")
    cluster = json.loads(from_cluster.stdout)["workloads"]
    kubectl = json.loads(from_kubectl.stdout)["workloads"]
    assert [(n["namespace"], n["workloads"], n["wouldDeny"]) for n in cluster["namespaces"]] == [
        (name, workloads, deny) for name, _, _, workloads, _, deny, _ in EXPECTED_NAMESPACES
    ]
    assert cluster["namespaces"] == kubectl["namespaces"]
    assert cluster["denied"] == kubectl["denied"]
    assert len(cluster["denied"]) == 2
    assert (cluster["source"], kubectl["source"]) == ("cluster", str(printed))
    assert cluster["skipped"] == {"ReplicaSet (owned by a controller)": 1}
    assert kubectl["skipped"] == {}


def test_list_cluster_workloads_pages_and_missing_apis() -> None:
    pages = {
        ("/api/v1/namespaces/team/pods", None): (
            [{"metadata": _meta("team", "a"), "spec": {"containers": []}}],
            "next",
        ),
        ("/api/v1/namespaces/team/pods", "next"): (
            [{"metadata": _meta("team", "b"), "spec": {"containers": []}}],
            None,
        ),
    }
    asked: list[tuple[str, str | None]] = []

    def list_objects(path: str, limit: int | None, token: str | None) -> Any:
        asked.append((path, token))
        if (path, token) in pages:
            return pages[(path, token)]
        if "deploymentconfigs" in path:
            from sigverify.errors import NotFoundError

            raise NotFoundError("the server could not find the requested resource")
        return [], None

    found = list_cluster_workloads(list_objects, namespace="team", page_size=1)
    assert [(w.kind, w.namespace, w.name) for w in found.workloads] == [
        ("Pod", "team", "a"),
        ("Pod", "team", "b"),
    ]
    assert dict(found.skipped) == {"DeploymentConfig (no such API)": 1}
    assert asked[:2] == [
        ("/api/v1/namespaces/team/pods", None),
        ("/api/v1/namespaces/team/pods", "next"),
    ]


# -- --compare-policy with --workloads: the same workloads under both policies ------------------


def _workloads_under(world: World, policy: Path) -> Any:
    loaded, verifier = load_verifier(policy, None, "native")
    found = read_workloads(str(world.manifests))
    config = loaded.admission or AdmissionConfig()
    return judge_workloads(found, config, ImageStore(world.store), verifier)


def _changes(changes: Any) -> list[tuple[str, str, str, str, str, str]]:
    return [
        (c.namespace, c.kind, c.name, c.container, c.current.reason, c.new.reason) for c in changes
    ]


# CURRENT (team trusted, kube-system and quay.io/exempt exempt, the open scope accepted) to
# NEW (only next trusted, the open scope rejected, no admission: section: nothing exempt).
NEWLY_DENIED_WORKLOADS = [
    ("kube-system", "Pod", "dns", "dns", "Exempt", "NotSigned"),  # the namespace no longer exempt
    ("prod", "CronJob", "nightly", "job", "Accepted", "Rejected"),
    ("ready", "Deployment", "frontend", "ui", "Trusted", "UnknownKey"),
    ("team", "Deployment", "web", "migrate", "Trusted", "UnknownKey"),
    ("team", "Pod", "api-7d9f", "api", "Trusted", "UnknownKey"),
    ("team", "Pod", "debug", "shell", "Exempt", "Rejected"),  # the image no longer exempt
]


def test_workloads_compared_under_both_policies(world: World) -> None:
    current, new = _workloads_under(world, world.current), _workloads_under(world, world.new)
    comparison = compare_workloads(current, new, compare_policy="NEW")
    assert _changes(comparison.newly_denied) == NEWLY_DENIED_WORKLOADS
    assert comparison.newly_admitted == ()
    # Already denied under CURRENT (DeploymentConfig legacy, Deployment web's web): no change.
    dns = comparison.newly_denied[0]
    assert (dns.current.trusted, dns.current.message) == (True, "exempt namespace")
    assert (dns.new.trusted, dns.image) == (False, TEAM_BATCH)
    assert dns.new.message == (
        f'image "{TEAM_BATCH}" at spec.containers[0] (dns) is not trusted [NotSigned]: '
        'signatures seen: none; scope "registry.example.com/team" requires: signedBy '
        f"{world.key_id(world.next)} (matchRepoDigestOrExact)"
    )
    api = comparison.newly_denied[4]
    assert api.current.message == (
        f"registry.example.com/team/api@{API} is trusted (scope registry.example.com/team): "
        f"signed by {world.key_id(world.team)}"
    )
    assert [
        (r.namespace, r.mode, r.would_deny, r.ready_for_enforce) for r in comparison.namespaces
    ] == [
        ("kube-system", "enforce", 1, False),
        ("prod", "enforce", 2, False),
        ("ready", "enforce", 1, False),
        ("team", "enforce", 3, False),
    ]
    # The other way round, every change is a newly admitted one (an exempt namespace too).
    back = compare_workloads(new, current, compare_policy="CURRENT")
    assert back.newly_denied == ()
    assert [(*c[:4], c[5], c[4]) for c in _changes(back.newly_admitted)] == NEWLY_DENIED_WORKLOADS


@pytest.mark.slow  # the real command, several times
def test_cli_workloads_compared_json_csv_exit_1(world: World) -> None:
    # kube-system has no image stream: no image changes, CURRENT denies no workload (exempt),
    # LOOSE (no admission: section) would deny its Pod: exit 1 for that alone.
    common = (
        "--policy", str(world.current), "--compare-policy", str(world.loose),
        "--store", str(world.store), "--workloads", str(world.manifests), "-n", "kube-system",
    )  # fmt: skip
    done = _run(*common, "-o", "json")
    assert (done.returncode, done.stderr) == (1, "")
    body = json.loads(done.stdout)
    validate_report(body)
    assert body["comparison"]["newlyDenied"] == []
    by_fingerprint = sorted((world.team, world.next), key=lambda key: key.fingerprint)
    either = " or ".join(world.key_id(key) for key in by_fingerprint)  # as the engine says
    assert body["workloads"]["comparison"] == {
        "comparePolicy": str(world.loose),
        "newlyDenied": [
            {
                "namespace": "kube-system",
                "kind": "Pod",
                "name": "dns",
                "container": "dns",
                "image": TEAM_BATCH,
                "current": {"admitted": True, "reason": "Exempt", "message": "exempt namespace"},
                "new": {
                    "admitted": False,
                    "reason": "NotSigned",
                    "message": f'image "{TEAM_BATCH}" at spec.containers[0] (dns) is not '
                    "trusted [NotSigned]: signatures seen: none; scope "
                    '"registry.example.com/team" requires: signedBy '
                    f"{either} (matchRepoDigestOrExact)",
                },
            }
        ],
        "newlyAdmitted": [],
        "namespaces": [
            {
                "namespace": "kube-system",
                "mode": "enforce",
                "exempt": False,
                "workloads": 1,
                "containers": 1,
                "wouldDeny": 1,
                "readyForEnforce": False,
            }
        ],
    }
    as_csv = _run(*common, "--table", "workloads-comparison")
    assert (as_csv.returncode, as_csv.stderr) == (1, "")
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0] == list(WORKLOADS_COMPARISON_CSV_COLUMNS)
    assert [row[:8] + row[9:11] for row in rows[1:]] == [
        [
            "newly-denied",
            "kube-system",
            "Pod",
            "dns",
            "dns",
            TEAM_BATCH,
            "yes",
            "Exempt",
            "no",
            "NotSigned",
        ]
    ]
    # The other way: CURRENT's own denials do not count, LOOSE's only admits: exit 0.
    back = _run(
        "--policy", str(world.loose), "--compare-policy", str(world.current),
        "--store", str(world.store), "--workloads", str(world.manifests), "-n", "kube-system",
        "--table", "workloads-comparison",
    )  # fmt: skip
    assert (back.returncode, back.stderr) == (0, "")
    assert [row[:4] for row in csv.reader(io.StringIO(back.stdout))][1:] == [
        ["newly-admitted", "kube-system", "Pod", "dns"]
    ]


def test_table_workloads_comparison_needs_both_dry_runs(world: World) -> None:
    done = _run(
        "--policy", str(world.current), "--compare-policy", str(world.loose),
        "--store", str(world.store), "--table", "workloads-comparison",
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "sigverify: error: --table workloads-comparison needs --compare-policy and "
        "--workloads (see 'sigverify audit --help')\n"
    )


@pytest.mark.slow
def test_cli_workloads_compared_text_and_html(world: World, tmp_path: Path) -> None:
    common = (
        "--policy", str(world.current), "--compare-policy", str(world.new),
        "--store", str(world.store), "--workloads", str(world.manifests),
    )  # fmt: skip
    text = _run(*common)
    assert (text.returncode, text.stderr) == (1, "")
    tail = text.stdout[text.stdout.index(f"workloads under {world.new}") :].splitlines()
    assert tail[:4] == [
        f"workloads under {world.new}: 7 workloads would be denied under enforce, 6 container "
        "images newly denied, 0 newly admitted",
        f"  ready for enforce under {world.new}: (none)",
        "",
        "WORKLOADS NEWLY DENIED (6 container images)",
    ]
    table = [line.split() for line in tail[5:11]]
    assert [(row[0], row[1], row[2], row[-2], row[-1]) for row in table] == [
        (ns, f"{kind}/{name}", container, was, now)
        for ns, kind, name, container, was, now in NEWLY_DENIED_WORKLOADS
    ]
    assert "WORKLOADS NEWLY ADMITTED (0 container images)\n  (none)\n" in text.stdout
    page = _run(*common, "-o", "html").stdout
    section = page[page.index('<section id="workloads">') :]
    section = section[: section.index("</section>")]
    assert f"under the new policy <b>{world.new}</b>, ready for enforce: none" in section
    assert "<h3>Newly denied under the new policy (6)</h3>" in section
    assert "<h3>Newly admitted under the new policy (0)</h3>" in section
    assert section.count('<span class="status-trusted">admitted</span>') == 6
    written = tmp_path / "tables"
    assert _run(*common, "--output-dir", str(written)).returncode == 1
    lines = (written / "workloads-comparison.csv").read_text().splitlines()
    assert len(lines) == 7 and lines[1].startswith("newly-denied,kube-system,Pod,dns,dns,")
