"""The real kubectl and the Python ``kubernetes`` DynamicClient writing to and watching a
running ``sigverify serve`` (issue 14): patch, annotate, label, edit, replace with a stale
resourceVersion, dry run, and ``get -w`` seeing a recorded condition change."""

from __future__ import annotations

import http.client
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.imageapi.demo import APP, APP_SIGNATURE, TOOLS, seeded_store
from tests.support.kube import KUBECTL, KubeServer, kube_server

pytestmark = pytest.mark.slow

#: How long a watch may take to show a change before the test fails.
WATCH_DEADLINE_SECONDS = 30.0


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeServer]:
    folder = tmp_path_factory.mktemp("kube-writes")
    store = seeded_store(folder / "store.db")
    with kube_server(folder, store=store.path) as server:
        yield server


def _ok(kube: KubeServer, *args: str, env: dict[str, str] | None = None) -> str:
    result = kube.kubectl(*args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _image(kube: KubeServer, name: str = APP) -> dict[str, Any]:
    image: dict[str, Any] = json.loads(_ok(kube, "get", "image", name, "-o", "json"))
    return image


def _same_but_metadata(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Everything but ``metadata`` is equal: no field and no signature lost."""
    assert {k: v for k, v in a.items() if k != "metadata"} == {
        k: v for k, v in b.items() if k != "metadata"
    }


def test_patch_merge_and_strategic(kube: KubeServer) -> None:
    before = _image(kube)
    out = _ok(
        kube,
        "patch",
        "image",
        APP,
        "--type",
        "merge",
        "-p",
        '{"metadata":{"labels":{"patched":"merge"}}}',
    )
    assert out == f"image.image.openshift.io/{APP} patched\n"
    after = _image(kube)
    assert after["metadata"]["labels"]["patched"] == "merge"
    _same_but_metadata(before, after)
    condition = {
        "type": "Trusted",
        "status": "Unknown",
        "lastProbeTime": "2026-11-27T08:00:00Z",
        "lastTransitionTime": "2026-11-27T08:00:00Z",
        "reason": "Pending",
        "message": "not yet checked",
    }
    for_image = dict(condition, type="ForImage")
    patch = {
        "signatures": [{"metadata": {"name": APP_SIGNATURE}, "conditions": [condition, for_image]}]
    }
    out = _ok(kube, "patch", "image", APP, "-p", json.dumps(patch))  # strategic: kubectl's default
    assert out == f"image.image.openshift.io/{APP} patched\n"
    written = _image(kube)
    [signature] = written["signatures"]
    assert signature["conditions"] == [condition, for_image]
    assert signature["content"] == before["signatures"][0]["content"]
    unchanged = _ok(
        kube,
        "patch",
        "image",
        APP,
        "--type",
        "merge",
        "-p",
        '{"metadata":{"labels":{"patched":"merge"}}}',
    )
    assert unchanged == f"image.image.openshift.io/{APP} patched (no change)\n"


def test_patch_json_with_a_failing_test_and_a_dry_run(kube: KubeServer) -> None:
    before = _image(kube)
    ops = [{"op": "test", "path": "/metadata/name", "value": "sha256:other"}]
    failed = kube.kubectl("patch", "image", APP, "--type", "json", "-p", json.dumps(ops))
    assert failed.returncode == 1
    assert 'json patch: testing value "/metadata/name" failed' in failed.stderr
    add = [{"op": "add", "path": "/metadata/annotations/dry", "value": "run"}]
    out = _ok(
        kube,
        "patch",
        "image",
        APP,
        "--type",
        "json",
        "-p",
        json.dumps(add),
        "--dry-run=server",
        "-o",
        "json",
    )
    assert json.loads(out)["metadata"]["annotations"]["dry"] == "run"
    assert _image(kube) == before


def test_annotate_and_label(kube: KubeServer) -> None:
    before = _image(kube, TOOLS)
    assert _ok(kube, "annotate", "image", TOOLS, "review=done") == (
        f"image.image.openshift.io/{TOOLS} annotated\n"
    )
    assert _ok(kube, "label", "image", TOOLS, "team=infra") == (
        f"image.image.openshift.io/{TOOLS} labeled\n"
    )
    after = _image(kube, TOOLS)
    assert after["metadata"]["annotations"]["review"] == "done"
    assert after["metadata"]["labels"] == {"team": "infra"}
    _same_but_metadata(before, after)
    assert len(after["signatures"]) == 3
    assert (
        _ok(kube, "label", "image", TOOLS, "team-")
        == f"image.image.openshift.io/{TOOLS} unlabeled\n"
    )
    assert "labels" not in _image(kube, TOOLS)["metadata"]  # as omitempty drops an empty map


def test_edit_with_a_scripted_editor(kube: KubeServer, tmp_path: Path) -> None:
    before = _image(kube, TOOLS)
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys\n"
        "import yaml\n"
        "path = sys.argv[-1]\n"
        "with open(path) as handle:\n"
        "    doc = yaml.safe_load(handle)\n"
        "doc['metadata'].setdefault('labels', {})['edited'] = 'yes'\n"
        "doc['signatures'][1]['conditions'] = [\n"
        "    {'type': t, 'status': 'False', 'reason': 'Edited', 'message': 'by hand',\n"
        "     'lastProbeTime': '2026-11-27T09:00:00Z',\n"
        "     'lastTransitionTime': '2026-11-27T09:00:00Z'}\n"
        "    for t in ('Trusted', 'ForImage')]\n"
        "with open(path, 'w') as handle:\n"
        "    yaml.safe_dump(doc, handle)\n"
    )
    result = kube.kubectl(
        "edit",
        "image",
        TOOLS,
        env={"EDITOR": f"{sys.executable} {editor}", "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"image.image.openshift.io/{TOOLS} edited\n"
    after = _image(kube, TOOLS)
    assert after["metadata"]["labels"]["edited"] == "yes"
    assert [c["status"] for c in after["signatures"][1]["conditions"]] == ["False", "False"]
    assert [s["content"] for s in after["signatures"]] == [
        s["content"] for s in before["signatures"]
    ]
    assert after["signatures"][0] == before["signatures"][0]
    assert after["signatures"][2] == before["signatures"][2]


def test_replace_with_a_stale_resource_version_is_a_conflict(
    kube: KubeServer, tmp_path: Path
) -> None:
    stale = tmp_path / "stale.json"
    stale.write_text(_ok(kube, "get", "image", APP, "-o", "json"))
    _ok(kube, "annotate", "image", APP, "bump=1", "--overwrite")
    result = kube.kubectl("replace", "-f", str(stale))
    assert result.returncode == 1
    assert (
        "the object has been modified; please apply your changes to the latest version"
        in result.stderr
    )
    fresh = tmp_path / "fresh.json"
    fresh.write_text(_ok(kube, "get", "image", APP, "-o", "json"))
    replaced = _ok(kube, "replace", "-f", str(fresh))
    assert replaced == f"image.image.openshift.io/{APP} replaced\n"


def _record(kube: KubeServer) -> dict[str, Any]:
    status, body = kube.served.request(
        "POST", f"/api/v1/namespaces/demo/imagestreamimages/app@{APP}/verification?record=true"
    )
    assert status == 200, body
    return dict(body)


class _KubectlWatch:
    """``kubectl get … -w`` running in the background, its output read as it comes."""

    def __init__(self, kube: KubeServer, *args: str) -> None:
        self.process = subprocess.Popen(
            [KUBECTL, "--cache-dir", str(kube.home / "kube-cache"), "get", *args, "-w"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=kube.env(),
        )
        self.output = ""

    def until(self, done: Callable[[str], bool]) -> str:
        """Read until ``done(output so far)``; fails after :data:`WATCH_DEADLINE_SECONDS`."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + WATCH_DEADLINE_SECONDS
        while not done(self.output):
            assert time.monotonic() < deadline, f"no such output in time: {self.output!r}"
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                chunk = os.read(fd, 65536)
                assert chunk, f"kubectl ended: {self.output!r}"
                self.output += chunk.decode()
        return self.output

    def stop(self) -> str:
        self.process.terminate()
        _, stderr = self.process.communicate(timeout=10)
        return stderr.decode()


def _events(output: str) -> list[dict[str, Any]]:
    """The JSON documents ``-o json`` printed, one after another (the last may be partial)."""
    decoder, events, rest = json.JSONDecoder(), [], output.lstrip()
    while rest:
        try:
            event, end = decoder.raw_decode(rest)
        except json.JSONDecodeError:
            break
        events.append(event)
        rest = rest[end:].lstrip()
    return events


def test_get_watch_sees_a_recorded_condition_change(kube: KubeServer) -> None:
    watch = _KubectlWatch(kube, "images", "--output-watch-events", "-o", "json")
    try:
        watch.until(lambda out: len(_events(out)) == 2)  # both Images, ADDED
        assert {e["object"]["metadata"]["name"] for e in _events(watch.output)} == {APP, TOOLS}
        _record(kube)
        watch.until(lambda out: len(_events(out)) == 3)
    finally:
        watch.stop()
    event = _events(watch.output)[2]
    assert event["type"] == "MODIFIED"
    image = event["object"]
    assert image["metadata"]["name"] == APP
    conditions = image["signatures"][0]["conditions"]
    assert [(c["type"], c["status"]) for c in conditions] == [
        ("Trusted", "True"),
        ("ForImage", "True"),
    ]
    assert image == _image(kube)


def test_get_watch_table_of_one_image_shows_its_verification_change(kube: KubeServer) -> None:
    unknown = {"status": "Unknown", "reason": "Pending", "message": "not yet checked"}
    pending = {
        "signatures": [
            {
                "metadata": {"name": APP_SIGNATURE},
                "conditions": [dict(unknown, type="Trusted"), dict(unknown, type="ForImage")],
                # An unknown state carries no claims (the earlier record wrote them): null
                # removes them in the same patch.
                **dict.fromkeys(("imageIdentity", "signedClaims", "issuedBy", "issuedTo")),
            }
        ]
    }
    _ok(kube, "patch", "image", APP, "-p", json.dumps(pending))
    # A named object is watched with fieldSelector=metadata.name=…: TOOLS never shows.
    watch = _KubectlWatch(kube, "image", APP)
    try:
        watch.until(lambda out: "Unverified" in out)
        _record(kube)
        watch.until(lambda out: "Trusted" in out)
    finally:
        watch.stop()
    rows = [line.split() for line in watch.output.splitlines()]
    reference = f"registry.example.com/demo/app@{APP}"
    assert rows == [
        ["NAME", "IMAGE", "REFERENCE", "VERIFICATION"],
        [APP, reference, "Unverified"],
        [APP, reference, "Trusted"],
    ]


def test_the_dynamic_client_lists_patches_and_watches_images(
    kube: KubeServer, tmp_path: Path
) -> None:
    from kubernetes import config, dynamic, watch  # noqa: F401 - the client library under test

    api_client = config.new_client_from_config(config_file=str(kube.kubeconfig))
    client = dynamic.DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
    images = client.resources.get(api_version="image.openshift.io/v1", kind="Image")
    listed = images.get()
    assert sorted(i.metadata.name for i in listed.items) == sorted([APP, TOOLS])
    version = listed.metadata.resourceVersion
    before = _image(kube, TOOLS)
    patched = images.patch(
        name=TOOLS,
        body={"metadata": {"annotations": {"via": "dynamic-client"}}},
        content_type="application/merge-patch+json",
    )
    assert patched.metadata.annotations["via"] == "dynamic-client"
    strategic = images.patch(name=TOOLS, body={"metadata": {"labels": {"client": "python"}}})
    assert strategic.metadata.labels["client"] == "python"
    after = _image(kube, TOOLS)
    _same_but_metadata(before, after)
    events = list(images.watch(resource_version=version, timeout=2))
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("MODIFIED", TOOLS),
        ("MODIFIED", TOOLS),
    ]
    assert events[-1]["object"].metadata.resourceVersion == after["metadata"]["resourceVersion"]
    stale = dict(after)
    stale["metadata"] = dict(after["metadata"], resourceVersion=version)
    from kubernetes.dynamic.exceptions import ConflictError

    with pytest.raises(ConflictError):
        images.replace(body=stale)


def test_unknown_fields_warn_on_a_patch_and_fail_a_strict_replace(
    kube: KubeServer, tmp_path: Path
) -> None:
    before = _image(kube, TOOLS)
    unknown = '{"spec":{"replicas":1}}'
    # kubectl patch sends no fieldValidation: the server's default, Warn.
    warned = kube.kubectl(
        "patch", "image", TOOLS, "--type", "merge", "-p", unknown, "--dry-run=server"
    )
    assert warned.returncode == 0, warned.stderr
    assert warned.stderr == 'Warning: unknown field "spec"\n'
    # kubectl replace validates strictly, and (the OpenAPI document says the server can)
    # leaves it to the server: fieldValidation=Strict.
    sent = tmp_path / "image.json"
    sent.write_text(json.dumps(dict(before, spec={"replicas": 1})))
    refused = kube.kubectl("replace", "-f", str(sent))
    assert refused.returncode == 1
    assert 'strict decoding error: unknown field "spec"' in refused.stderr
    assert _image(kube, TOOLS) == before


def test_watches_kubectl_left_free_their_places(kube: KubeServer) -> None:
    # serve runs one worker of 4 threads: at most 3 watches at a time. Watches whose kubectl
    # was stopped must not hold them (their TLS sockets turn readable: the client left).
    for _ in range(4):
        watch = _KubectlWatch(kube, "images", "-o", "name")
        watch.until(lambda out: out.count("\n") >= 2)
        watch.stop()
    served = kube.served
    url = urlsplit(served.url)
    deadline = time.monotonic() + 10
    while True:
        connection = http.client.HTTPSConnection(
            url.hostname or "", url.port, context=served.context, timeout=20
        )
        connection.request(
            "GET",
            "/apis/image.openshift.io/v1/images?watch=true&timeoutSeconds=1",
            headers={"Authorization": f"Bearer {served.token}"},
        )
        response = connection.getresponse()
        status = response.status
        response.read()
        connection.close()
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert status == 200
