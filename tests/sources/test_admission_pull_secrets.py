"""The webhook's registry credentials from the pod: its ``imagePullSecrets`` and its service
account's, read through the real cluster client (OpenShiftImageAPI over HTTP, the store's
REST plus core Secrets and ServiceAccounts), against the htpasswd-protected docker-registry
of conftest.py — with no ``authFile`` credentials for it."""

from __future__ import annotations

import base64
import json
import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sigverify.admission.controller import AdmissionController
from sigverify.admission.pullsecrets import MAX_PULL_SECRETS, PullSecrets
from sigverify.admission.review import parse_review
from sigverify.errors import InputError
from sigverify.imageapi.openshift import ClusterOptions, OpenShiftImageAPI, connect
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import create_store_app
from sigverify.policyfile.admission import parse_admission_config
from sigverify.policyfile.holder import load_verifier
from sigverify.sources.auth import find_credentials, parse_auths
from tests.admission.builders import pod_spec, review, workload
from tests.imageapi.servers import CoreObjects, serve_wsgi
from tests.sources.conftest import World
from tests.sources.test_admission import Counting, policy_file

pytestmark = pytest.mark.slow  # the real registry world

NAMESPACE = "team"


def dockerconfigjson(auths: dict[str, str]) -> dict[str, Any]:
    """A ``kubernetes.io/dockerconfigjson`` Secret: host → ``user:password``."""
    document = {
        "auths": {
            host: {"auth": base64.b64encode(creds.encode()).decode()}
            for host, creds in auths.items()
        }
    }
    return secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson", json.dumps(document))


def dockercfg(auths: dict[str, str]) -> dict[str, Any]:
    """The legacy ``kubernetes.io/dockercfg`` form: the ``auths`` mapping itself."""
    document = {
        host: {"auth": base64.b64encode(creds.encode()).decode()} for host, creds in auths.items()
    }
    return secret("kubernetes.io/dockercfg", ".dockercfg", json.dumps(document))


def secret(kind: str, field: str, text: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": kind,
        "data": {field: base64.b64encode(text.encode()).decode()},
    }


def account(*names: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "imagePullSecrets": [{"name": name} for name in names],
    }


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[CoreObjects, OpenShiftImageAPI]]:
    """The cluster: no Image at all, and the Secrets and ServiceAccounts a test puts in."""
    store = ImageStore(tmp_path / "store.db")
    core = CoreObjects(create_store_app(store, tokens={"reader": "read"}))
    with serve_wsgi(core) as url:
        api = connect(ClusterOptions(server=url, token="reader", timeout=5))
        try:
            yield core, api
        finally:
            api.close()


def controller_for(world: World, tmp_path: Path, api: OpenShiftImageAPI) -> AdmissionController:
    certs = tmp_path / "certs.d"
    (certs / world.registry.host).mkdir(parents=True)
    shutil.copy(world.registry.certs / "ca.crt", certs / world.registry.host / "ca.crt")
    empty = tmp_path / "auth.json"
    empty.write_text('{"auths": {}}')  # no credentials but the pod's
    config = parse_admission_config(
        {
            "timeoutSeconds": 10,
            "deadlineSeconds": 8,
            "registries": {
                "enabled": True,
                "registriesD": str(world.registries_d_http),
                "authFile": str(empty),
                "certsDirectory": str(certs),
                "timeoutSeconds": 5,
            },
        }
    )
    verifier = Counting(load_verifier(str(policy_file(world, tmp_path)), None, "native")[1])
    return AdmissionController(config, api, lambda: verifier)


def admit(
    controller: AdmissionController, image: str, *, kind: str = "Pod", **spec: Any
) -> tuple[Any, list[dict[str, Any]]]:
    body = json.dumps(
        review(workload(kind, {**pod_spec((image,)), **spec}, namespace=NAMESPACE))
    ).encode()
    decision = controller.validate(parse_review(body))
    return decision, json.loads(decision.response.audit_annotations["verdicts"])


def app(world: World) -> str:
    return f"{world.registry.host}/ns/app@{world.digests['app']}"


def pulls(*names: str) -> dict[str, Any]:
    return {"imagePullSecrets": [{"name": name} for name in names]}


def test_a_pods_pull_secret_opens_the_registry_it_is_for(
    world: World, tmp_path: Path, cluster: tuple[CoreObjects, OpenShiftImageAPI]
) -> None:
    core, api = cluster
    core.secrets[(NAMESPACE, "pull")] = dockerconfigjson(
        {world.registry.host: world.registry.creds}
    )
    controller = controller_for(world, tmp_path, api)
    try:
        # Without the secret: authentication required, no credentials — a 503 deny.
        decision, verdicts = admit(controller, app(world))
        assert decision.response.allowed is False
        assert decision.response.status_code == 503
        assert [v["result"] for v in verdicts] == ["RegistryUnavailable"]
        assert "authentication required" in (decision.response.message or "")
        # The same controller, the same image: the failure was not cached for it.
        decision, verdicts = admit(controller, app(world), **pulls("pull"))
        assert decision.response.allowed is True, decision.response.message
        assert [(v["result"], v["sources"]) for v in verdicts] == [("Trusted", ["lookaside"])]
        # A template's pull secrets count as a pod's.
        decision, _ = admit(controller, app(world), kind="Deployment", **pulls("pull"))
        assert decision.response.allowed is True
    finally:
        controller.close()
    assert f"/api/v1/namespaces/{NAMESPACE}/secrets/pull" in core.seen


def test_a_service_accounts_pull_secret_is_used_too(
    world: World, tmp_path: Path, cluster: tuple[CoreObjects, OpenShiftImageAPI]
) -> None:
    core, api = cluster
    core.secrets[(NAMESPACE, "robot-dockercfg")] = dockercfg(
        {world.registry.host: world.registry.creds}
    )
    core.service_accounts[(NAMESPACE, "robot")] = account("robot-dockercfg")
    controller = controller_for(world, tmp_path, api)
    try:
        decision, _ = admit(controller, app(world), serviceAccountName="robot")
        assert decision.response.allowed is True, decision.response.message
        # The default service account has no pull secret here.
        decision, _ = admit(controller, app(world))
        assert decision.response.allowed is False
        assert decision.response.status_code == 503
    finally:
        controller.close()


def test_a_malformed_secret_is_skipped_with_a_reason_and_the_next_one_used(
    world: World,
    tmp_path: Path,
    cluster: tuple[CoreObjects, OpenShiftImageAPI],
    caplog: pytest.LogCaptureFixture,
) -> None:
    core, api = cluster
    core.secrets[(NAMESPACE, "broken")] = secret(
        "kubernetes.io/dockerconfigjson", ".dockerconfigjson", '{"auths": {"a": 1}, "auths": {}}'
    )
    core.secrets[(NAMESPACE, "opaque")] = {"kind": "Secret", "type": "Opaque", "data": {}}
    core.secrets[(NAMESPACE, "notbase64")] = {
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": "!!!"},
    }
    core.secrets[(NAMESPACE, "pull")] = dockerconfigjson(
        {world.registry.host: world.registry.creds}
    )
    controller = controller_for(world, tmp_path, api)
    try:
        with caplog.at_level(logging.WARNING, logger="sigverify.admission"):
            decision, _ = admit(
                controller, app(world), **pulls("broken", "opaque", "notbase64", "missing", "pull")
            )
        assert decision.response.allowed is True, decision.response.message
        # Only malformed secrets: skipped, and the image is not admitted for it.
        decision, _ = admit(controller, app(world), **pulls("broken", "opaque", "missing"))
        assert decision.response.allowed is False
        assert decision.response.status_code == 503
    finally:
        controller.close()
    logged = caplog.text
    for name in ("broken", "opaque", "notbase64", "missing"):
        assert f"pull secret {NAMESPACE}/{name} skipped" in logged
    assert "duplicate key" in logged
    assert world.registry.password not in logged


def test_a_secret_for_another_host_is_not_sent(
    world: World, tmp_path: Path, cluster: tuple[CoreObjects, OpenShiftImageAPI]
) -> None:
    core, api = cluster
    host, _, port = world.registry.host.rpartition(":")
    other = f"{host}:{int(port) + 1}"  # the same address, another registry
    core.secrets[(NAMESPACE, "elsewhere")] = dockerconfigjson({other: world.registry.creds})
    controller = controller_for(world, tmp_path, api)
    try:
        decision, verdicts = admit(controller, app(world), **pulls("elsewhere"))
    finally:
        controller.close()
    assert decision.response.allowed is False
    assert [v["result"] for v in verdicts] == ["RegistryUnavailable"]
    assert "no credentials found" in (decision.response.message or "")


class Reader:
    """A cluster client with as many pull secrets as asked for, counting reads."""

    def __init__(self, count: int, creds: dict[str, str]) -> None:
        self.names = [f"s{index}" for index in range(count)]
        self.reads = 0
        self.secret = dockerconfigjson(creds)

    def get_secret(self, namespace: str, name: str) -> dict[str, Any]:
        self.reads += 1
        return self.secret

    def get_service_account(self, namespace: str, name: str) -> dict[str, Any]:
        return account(*self.names)


def test_pull_secrets_are_bounded_and_read_once() -> None:
    reader = Reader(MAX_PULL_SECRETS * 3, {"registry.example.com": "user:pw"})
    secrets = PullSecrets(reader, NAMESPACE, pulls("a", "b"))
    first = secrets.auths()
    assert secrets.auths() is first
    assert reader.reads == MAX_PULL_SECRETS
    assert [where for where, _ in first][:3] == [
        f"pull secret {NAMESPACE}/a",
        f"pull secret {NAMESPACE}/b",
        f"pull secret {NAMESPACE}/s0",
    ]
    # No cluster client (the embedded store): no pull credentials, nothing read.
    assert PullSecrets(None, NAMESPACE, pulls("a")).auths() == ()


def test_an_oversize_secret_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    reader = Reader(0, {})
    reader.secret = secret(
        "kubernetes.io/dockerconfigjson", ".dockerconfigjson", " " * (2 * 1024 * 1024)
    )
    with caplog.at_level(logging.WARNING, logger="sigverify.admission"):
        assert PullSecrets(reader, NAMESPACE, pulls("big")).auths() == ()
    assert "larger than" in caplog.text


def test_in_memory_auths_come_before_files_and_only_for_their_host(tmp_path: Path) -> None:
    def auths(creds: str, host: str) -> dict[str, object]:
        return {host: {"auth": base64.b64encode(creds.encode()).decode()}}

    file = tmp_path / "auth.json"
    file.write_text(json.dumps({"auths": auths("file:pw", "r.example")}))
    first = [("pull secret ns/a", auths("pod:pw", "r.example/team"))]
    found = find_credentials("r.example", "team/app", [file], first=first)
    assert found is not None and found.username == "pod"
    # Another repository of the host: the secret's key does not match; the file's does.
    found = find_credentials("r.example", "other/app", [file], first=first)
    assert found is not None and found.username == "file"
    assert find_credentials("other.example", "team/app", [file], first=first) is None
    with pytest.raises(
        InputError, match=re.escape("pull secret ns/b: auths['h'].auth is not base64")
    ):
        parse_auths(b'{"auths": {"h": {"auth": "!"}}}', "pull secret ns/b")
