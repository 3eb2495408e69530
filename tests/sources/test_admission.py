"""The admission webhook and images that have no Image object: decided by their scope
without a lookup, or verified from their registry (the real docker-registry world of
conftest.py) — and never a network call to a host the allow-list does not name."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sigverify.admission.controller import AdmissionController
from sigverify.admission.review import parse_review
from sigverify.core.verdict import ImageVerdict
from sigverify.engine.verifier import Verifier
from sigverify.errors import NotFoundError
from sigverify.objects.types import Image
from sigverify.policyfile.admission import parse_admission_config
from sigverify.policyfile.holder import load_verifier
from tests.admission.builders import pod_spec, review, workload
from tests.imageapi.servers import closed_port, silent_server
from tests.sources.conftest import World

pytestmark = pytest.mark.slow  # the real registry world

OTHER = "sha256:" + "0" * 64


class NoImages:
    """A cluster that has no Image, ImageStreamImage or ImageStreamTag at all."""

    def get_imagestreamimage(self, namespace: str, name: str) -> dict[str, Any]:
        raise NotFoundError(f"imagestreamimage {namespace}/{name} not found")

    def get_image(self, name: str) -> dict[str, Any]:
        raise NotFoundError(f"image {name} not found")

    def get_imagestreamtag(self, namespace: str, name: str) -> dict[str, Any]:
        raise NotFoundError(f"imagestreamtag {namespace}/{name} not found")


class Counting:
    """The real verifier, counting verifications of images that carry signatures."""

    def __init__(self, verifier: Verifier) -> None:
        self.inner = verifier
        self.policy = verifier.policy
        self.signed_verifications = 0

    @property
    def revision(self) -> str:
        return self.inner.revision

    def verify_image(self, image: Image, *, expected_identity: str | None = None) -> ImageVerdict:
        if image.signatures:
            self.signed_verifications += 1
        return self.inner.verify_image(image, expected_identity=expected_identity)


class Listener:
    """A loopback TCP port that counts the connections made to it (and answers none)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    try:
        yield server
    finally:
        server.close()


def policy_file(world: World, folder: Path, *, default: str = "[{type: reject}]") -> Path:
    keys = folder / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    shutil.copy(world.key.public_binary, keys / "signer.gpg")
    path = folder / "policy.yaml"
    signed_by = f'[{{type: signedBy, keys: ["{world.key.fingerprint}"]}}]'
    path.write_text(
        "apiVersion: sigverify/v1\nkind: TrustPolicy\nkeysDirectory: keys\n"
        f"default: {default.replace('SIGNED', signed_by)}\nscopes:\n"
        f"  {world.registry.host}/ns: {signed_by}\n"
        "  accept.example.com: [{type: insecureAcceptAnything}]\n"
        "  reject.example.com: [{type: reject}]\n"
    )
    return path


def controller_for(
    world: World, tmp_path: Path, policy: Path, **registries: Any
) -> tuple[AdmissionController, Counting]:
    certs = tmp_path / "certs.d"
    (certs / world.registry.host).mkdir(parents=True)
    shutil.copy(world.registry.certs / "ca.crt", certs / world.registry.host / "ca.crt")
    scopes = registries.pop("scopes", {})
    config = parse_admission_config(
        {
            "timeoutSeconds": 10,
            "deadlineSeconds": 8,
            "scopes": scopes,
            "registries": {
                "enabled": True,
                "registriesD": str(world.registries_d_http),
                "authFile": str(world.authfile),
                "certsDirectory": str(certs),
                "timeoutSeconds": 5,
                **registries,
            },
        }
    )
    verifier = Counting(load_verifier(str(policy), None, "native")[1])
    return AdmissionController(config, NoImages(), lambda: verifier), verifier


def admit(controller: AdmissionController, *images: str) -> tuple[Any, dict[str, Any]]:
    body = json.dumps(review(workload("Pod", pod_spec(images)))).encode()
    decision = controller.validate(parse_review(body))
    return decision, json.loads(decision.response.audit_annotations["verdicts"])


def test_a_signed_image_with_no_image_object_is_verified_from_its_registry(
    world: World, tmp_path: Path
) -> None:
    controller, verifier = controller_for(world, tmp_path, policy_file(world, tmp_path))
    image = f"{world.registry.host}/ns/app@{world.digests['app']}"
    try:
        decision, verdicts = admit(controller, image)
        assert decision.response.allowed is True
        assert decision.reason == "Trusted"
        assert [(v["result"], v["digest"], v["sources"]) for v in verdicts] == [
            ("Trusted", world.digests["app"], ["lookaside"])
        ]
        assert verifier.signed_verifications == 1
        # The verdict cache covers registry verdicts (digest + signature contents).
        decision, _ = admit(controller, image)
        assert decision.response.allowed is True
        assert verifier.signed_verifications == 1
    finally:
        controller.close()


def test_an_unsigned_registry_image_is_denied(world: World, tmp_path: Path) -> None:
    controller, _ = controller_for(world, tmp_path, policy_file(world, tmp_path))
    image = f"{world.registry.host}/ns/unsigned@{world.digests['unsigned']}"
    try:
        decision, verdicts = admit(controller, image)
    finally:
        controller.close()
    assert decision.response.allowed is False
    assert decision.response.status_code == 403
    assert [v["result"] for v in verdicts] == ["NotSigned"]


@pytest.mark.parametrize(
    ("image", "allowed", "reason"),
    [
        (f"accept.example.com/any/thing@{OTHER}", True, "Accepted"),
        ("accept.example.com/any/thing:latest", True, "Accepted"),
        (f"reject.example.com/x@{OTHER}", False, "Rejected"),
        ("docker.io/library/busybox:1.36", False, "Rejected"),  # the default scope
    ],
)
def test_scopes_that_need_no_signature_decide_without_a_lookup(
    world: World, tmp_path: Path, image: str, allowed: bool, reason: str
) -> None:
    controller, verifier = controller_for(world, tmp_path, policy_file(world, tmp_path))
    try:
        decision, verdicts = admit(controller, image)
    finally:
        controller.close()
    assert decision.response.allowed is allowed
    assert [v["result"] for v in verdicts] == [reason]
    assert verifier.signed_verifications == 0


def test_a_host_off_the_allow_list_is_never_contacted(
    world: World, tmp_path: Path, listener: Listener
) -> None:
    # The default scope needs signatures, but names no host: 127.0.0.1:PORT is not allowed.
    policy = policy_file(world, tmp_path, default="SIGNED")
    controller, _ = controller_for(world, tmp_path, policy)
    image = f"127.0.0.1:{listener.port}/evil/x@{OTHER}"
    try:
        decision, verdicts = admit(controller, image)
    finally:
        controller.close()
    assert decision.response.allowed is False
    assert [v["result"] for v in verdicts] == ["ImageNotFound"]
    assert f"registry 127.0.0.1:{listener.port} is not on the admission allow-list" in (
        decision.response.message or ""
    )
    assert listener.connections == 0


def test_a_registry_that_is_down_is_a_503_deny_or_a_warning_when_failing_open(
    world: World, tmp_path: Path
) -> None:
    policy = policy_file(world, tmp_path, default="SIGNED")
    down = f"127.0.0.1:{closed_port()}"
    image = f"{down}/ns/x@{OTHER}"
    controller, _ = controller_for(world, tmp_path, policy, allowedHosts=[down])
    try:
        decision, verdicts = admit(controller, image)
    finally:
        controller.close()
    assert decision.response.allowed is False
    assert decision.response.status_code == 503
    assert [v["result"] for v in verdicts] == ["RegistryUnavailable"]
    open_controller, _ = controller_for(
        world, tmp_path / "open", policy, allowedHosts=[down], scopes={down: {"failOpen": True}}
    )
    try:
        decision, _ = admit(open_controller, image)
    finally:
        open_controller.close()
    assert decision.response.allowed is True
    assert decision.response.warnings


def test_a_silent_registry_is_a_503_deny_inside_the_deadline(world: World, tmp_path: Path) -> None:
    policy = policy_file(world, tmp_path, default="SIGNED")
    verifier = Counting(load_verifier(str(policy), None, "native")[1])
    with silent_server() as url:
        silent = url.removeprefix("http://")
        config = parse_admission_config(
            {
                "timeoutSeconds": 2,
                "deadlineSeconds": 1,
                "registries": {"enabled": True, "allowedHosts": [silent], "timeoutSeconds": 5},
            }
        )
        controller = AdmissionController(config, NoImages(), lambda: verifier)
        try:
            decision, verdicts = admit(controller, f"{silent}/ns/x@{OTHER}")
        finally:
            controller.close()
    # DeadlineExceeded or RegistryUnavailable, whichever gives up first: both fail closed.
    assert decision.response.allowed is False
    assert decision.response.status_code == 503
    assert [v["passed"] for v in verdicts] == [False]
