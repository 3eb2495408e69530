"""Reading ``--workloads`` manifests: every shape ``oc get`` prints, and hostile input refused
with one exact line (no traceback, nothing half-read)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sigverify.audit import manifests
from sigverify.audit.manifests import read_workloads
from sigverify.errors import InputError

REPO = Path(__file__).resolve().parents[2]
SIGVERIFY = REPO / ".venv" / "bin" / "sigverify"


def _pod(namespace: str, name: str, image: str = "quay.io/a/b@sha256:" + "1" * 64) -> Any:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": "c", "image": image}]},
    }


def _names(found: manifests.WorkloadSet) -> list[tuple[str, str, str]]:
    return [(w.kind, w.namespace, w.name) for w in found.workloads]


def test_a_yaml_stream_a_typed_list_and_a_json_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "---\n"
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: batch/v1\n  kind: CronJob\n  metadata: {name: n, namespace: b}\n"
        "  spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: j, image: x}]}}}}}\n"
        "---\n"
        "apiVersion: v1\nkind: PodList\nitems:\n"
        "- metadata: {name: p, namespace: a}\n  spec: {containers: []}\n"
        "---\n",
        encoding="utf-8",
    )
    (tmp_path / "b.json").write_text(json.dumps(_pod("a", "q")), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a manifest", encoding="utf-8")
    found = read_workloads(str(tmp_path))
    assert _names(found) == [("Pod", "a", "p"), ("Pod", "a", "q"), ("CronJob", "b", "n")]
    cron = found.workloads[2]
    # Only the pod spec is kept, at the kind's own path.
    assert cron.object == {
        "spec": {
            "jobTemplate": {
                "spec": {"template": {"spec": {"containers": [{"name": "j", "image": "x"}]}}}
            }
        }
    }
    assert read_workloads(str(tmp_path), namespace="b").workloads == [cron]


def test_duplicates_are_judged_once_and_other_kinds_counted(tmp_path: Path) -> None:
    document = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            _pod("a", "p"),
            _pod("a", "p"),
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "t"}},
        ],
    }
    path = tmp_path / "w.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    found = read_workloads(str(path))
    assert _names(found) == [("Pod", "a", "p")]
    assert dict(found.skipped) == {"Service": 2, "ConfigMap": 1}


POD = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"}, '
REFUSED = [
    (
        "truncated.json",
        '{"kind": "List", "items": [',
        ": not valid JSON: Expecting value (line 1, column 28)",
    ),
    ("repeated.json", '{"kind": "Pod", "kind": "Pod"}', ": repeated key 'kind'"),
    ("nan.json", POD + '"spec": {"x": NaN}}', ": not valid JSON: NaN is not a JSON number"),
    ("scalar.json", "[1, 2]", ": must be an object (a Kubernetes object or a List)"),
    ("nokind.json", '{"apiVersion": "v1"}', ": has no kind"),
    ("items.json", '{"kind": "List", "items": {}}', ": items must be a list"),
    ("item.json", '{"kind": "List", "items": [3]}', ": items[0]: must be an object"),
    ("itemkind.json", '{"kind": "List", "items": [{"metadata": {}}]}', ": items[0]: has no kind"),
    ("version.json", '{"kind": "Pod", "metadata": {}}', ": has no apiVersion"),
    ("meta.json", '{"apiVersion": "v1", "kind": "Pod"}', ": a Pod without metadata"),
    (
        "name.json",
        '{"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "a"}}',
        ": a Pod without a valid metadata.name",
    ),
    (
        "escape.json",
        '{"apiVersion": "v1", "kind": "Pod", '
        '"metadata": {"name": "a\\u001b[2J", "namespace": "a"}}',
        ": a Pod without a valid metadata.name",
    ),
    (
        "ns.json",
        '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "A/.."}}',
        ": Pod 'p' has no valid metadata.namespace",
    ),
    (
        "list.json",
        POD + '"spec": {"containers": {}}}',
        " (Pod a/p): /spec/containers: must be a list",
    ),
    (
        "image.json",
        POD + '"spec": {"containers": [{"name": "c", "image": 7}]}}',
        " (Pod a/p): /spec/containers/0/image: must be a string",
    ),
    ("spec.json", POD + '"spec": []}', " (Pod a/p): /spec: must be an object, not list"),
    (
        "alias.yaml",
        "a: &x [1]\nb: *x\n",
        ": not valid YAML: YAML aliases are not allowed (line 2, column 4)",
    ),
    (
        "bad.yaml",
        "kind: [List\n",
        ": not valid YAML: expected ',' or ']', but got '<stream end>' (line 2, column 1)",
    ),
    (
        "tag.yaml",
        "kind: !!binary aGk=\n",
        ": kind: YAML tag tag:yaml.org,2002:binary is not allowed (line 1, column 7)",
    ),
    ("deep.json", "[" * 200 + "]" * 200, ": " + "[0]" * 102 + ": nested deeper than 102 levels"),
]


@pytest.mark.parametrize(("name", "text", "expected"), REFUSED, ids=[r[0] for r in REFUSED])
def test_malformed_input_is_refused_with_its_place(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_workloads(str(path))
    assert str(caught.value) == f"{path}{expected}"


def test_not_utf8_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_bytes(b"kind: \xff\n")
    with pytest.raises(InputError, match=r"w\.yaml: not valid UTF-8 \(byte 6\)$"):
        read_workloads(str(path))
    with pytest.raises(InputError, match=r"nothere: no such file or directory$"):
        read_workloads(str(tmp_path / "nothere"))


def test_a_pipe_is_read_as_a_file(tmp_path: Path) -> None:
    """``--workloads <(oc get pods -A -o json)`` names a pipe, not a regular file."""
    fifo = tmp_path / "pods"
    os.mkfifo(fifo)
    writer = subprocess.Popen(
        ["sh", "-c", 'cat > "$0"', str(fifo)], stdin=subprocess.PIPE, text=True
    )
    assert writer.stdin is not None
    writer.stdin.write(json.dumps(_pod("a", "q")))
    writer.stdin.close()
    found = read_workloads(str(fifo))
    writer.wait(timeout=10)
    assert _names(found) == [("Pod", "a", "q")]


def test_bounds_on_bytes_objects_and_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for index in range(3):
        (tmp_path / f"{index}.json").write_text(json.dumps(_pod("a", f"p{index}")))
    size = len((tmp_path / "0.json").read_bytes())
    monkeypatch.setattr(manifests, "MAX_MANIFEST_BYTES", 2 * size + 1)
    with pytest.raises(InputError, match=rf"2\.json: more than {2 * size + 1} bytes of"):
        read_workloads(str(tmp_path))  # the bound is on all the files together
    monkeypatch.setattr(manifests, "MAX_MANIFEST_BYTES", 10 * size)
    monkeypatch.setattr(manifests, "MAX_WORKLOADS", 2)
    with pytest.raises(InputError, match=r"2\.json: more than 2 objects in all$"):
        read_workloads(str(tmp_path))
    monkeypatch.setattr(manifests, "MAX_WORKLOADS", 10)
    (tmp_path / "3.yaml").write_text("kind: List\napiVersion: v1\nitems: []\n")
    monkeypatch.setattr(manifests, "MAX_YAML_MANIFEST_BYTES", 20)
    with pytest.raises(InputError) as caught:
        read_workloads(str(tmp_path))  # YAML has a tighter bound of its own
    assert str(caught.value) == (
        f"{tmp_path / '3.yaml'}: more than 20 bytes of YAML in all: give JSON (oc get … -o "
        f"json, up to {10 * size} bytes) or --workloads cluster"
    )
    monkeypatch.setattr(manifests, "MAX_MANIFEST_FILES", 2)
    with pytest.raises(InputError, match=r"more than 2 manifest files$"):
        read_workloads(str(tmp_path))


# -- the command: one line, exit 2, nothing on stdout ------------------------------------------


def _run(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
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
        timeout=120,
        check=False,
    )


def test_cli_truncated_stdin_is_one_line_exit_2(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    store.touch()  # never opened: the manifests are read (and refused) first
    done = _run(
        "--policy",
        str(REPO / "policies" / "demo.yaml"),
        "--store",
        str(store),
        "--workloads",
        "-",
        stdin='{"kind": "List", "items": [{"kind": "Pod"',
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "sigverify: error: --workloads -: not valid JSON: Expecting ',' delimiter "
        "(line 1, column 42)\n"
    )


@pytest.mark.slow
def test_cli_usage_errors(tmp_path: Path) -> None:
    policy = str(REPO / "policies" / "demo.yaml")
    cases = [
        (("--workloads", "cluster", "--store", "x.db"), "--workloads cluster needs a cluster"),
        (("--workloads", "w.yaml", "--images", "specs.txt"), "drop --images"),
        (("--compare-keys", "dir"), "--compare-keys needs --compare-policy"),
        (
            ("--workloads", "w.yaml", "--compare-policy", policy, "-o", "csv"),
            "-o csv prints one table: add --table comparison, workloads or "
            "workloads-comparison (or --output-dir for all)",
        ),
        (("--table", "workloads"), "--table workloads needs --workloads"),
        (("--table", "comparison", "--workloads", "w.yaml"), "--table comparison needs"),
    ]
    for args, expected in cases:
        done = _run("--policy", policy, *args, stdin="")
        assert (done.returncode, done.stdout) == (2, ""), args
        assert expected in done.stderr
        assert done.stderr.count("\n") == 1, done.stderr


def test_workloads_cluster_without_a_cluster_is_refused_before_the_audit(tmp_path: Path) -> None:
    """No flag and no kubeconfig: the default store would be audited, which has no workloads.
    Said at once: the store (not even a database here) is never opened."""
    store = tmp_path / "sigverify.db"
    store.write_bytes(b"not a store")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGVERIFY_")}
    env.pop("KUBECONFIG", None)
    env.update(HOME="/nonexistent", SIGVERIFY_STORE=str(store))
    policy = str(REPO / "policies" / "demo.yaml")
    done = subprocess.run(
        [str(SIGVERIFY), "audit", "--policy", policy, "--workloads", "cluster"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "sigverify: error: --workloads cluster needs a cluster (--kubeconfig, --context, "
        "$KUBECONFIG or ~/.kube/config), not an embedded store (see 'sigverify audit --help')\n"
    )


def test_control_characters_never_reach_the_text_report() -> None:
    from sigverify.audit.render_dryrun import workloads_to_text
    from sigverify.audit.workloads import JudgedContainer, NamespaceRow, WorkloadReport

    denied = JudgedContainer("a", "Pod", "p", "c\x1b[2J", "img\x07:1", "InvalidReference", "m\n")
    report = WorkloadReport("stdin", (NamespaceRow("a", "enforce", False, 1, 1, 1),), (denied,), ())
    text = workloads_to_text(report)
    assert "\x1b" not in text and "\x07" not in text
    assert "  a          Pod/p     c\\u001b[2J  img\\u0007:1  InvalidReference" in text
    assert text.endswith("  Pod a/p: m\\n\n")
