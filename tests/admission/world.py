"""A small cluster for admission tests: real keys, a real policy, real signed Images in the
embedded store served over its OpenShift REST, and HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from sigverify.admission.blueprint import init_app
from sigverify.admission.controller import AdmissionController
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import create_store_app
from sigverify.policyfile.admission import parse_admission_config
from sigverify.service.app import create_app
from sigverify.service.state import EXTENSION as SERVICE
from sigverify.settings import Settings
from tests.admission.builders import INTERNAL
from tests.imageapi.builders import digest_of, image, signature, stream
from tests.support.gpgfactory import GeneratedKey, GpgFactory, KeySpec, atomic_payload

WEB = digest_of("web")  # quay.io/acme/web, signed by acme: trusted
INIT = digest_of("init")  # quay.io/acme/init, signed by acme: trusted
EVIL = digest_of("evil")  # quay.io/acme/evil, signed by partner: UntrustedKey
STRANGE = digest_of("strange")  # quay.io/acme/strange, signed by a key nobody knows
UNSIGNED = digest_of("unsigned")  # quay.io/acme/unsigned: NotSigned
APP = digest_of("app")  # team/app:v1 in the internal registry, imported from registry.example.com
FLAKY = digest_of("flaky")  # quay.io/flaky/x: a fail-open scope
UNKNOWN = digest_of("nobody")  # no Image at all

POLICY = """\
apiVersion: sigverify/v1
kind: TrustPolicy
keysDirectory: keys
default:
  - type: reject
scopes:
  quay.io/acme:
    - type: signedBy
      keys: ["{acme}"]
  quay.io/flaky:
    - type: signedBy
      keys: ["{acme}"]
  quay.io/partner:
    - type: signedBy
      keys: ["{partner}"]
  registry.example.com/team:
    - type: signedBy
      keys: ["{acme}"]
"""

ADMISSION = {
    "namespaces": {"team-warn": {"mode": "warn"}, "team-audit": {"mode": "audit"}},
    "exemptNamespaces": ["infra"],
    "exemptImages": ["quay.io/tools"],
    "scopes": {"quay.io/flaky": {"failOpen": True}},
    "internalRegistryHosts": [INTERNAL],
    "timeoutSeconds": 10,
    "deadlineSeconds": 8,
}


@dataclass(frozen=True)
class Keys:
    acme: GeneratedKey
    partner: GeneratedKey
    stranger: GeneratedKey


def make_keys(factory: GpgFactory) -> Keys:
    return Keys(
        acme=factory.key(KeySpec("ed25519", name="acme")),
        partner=factory.key(KeySpec("ed25519", name="partner")),
        stranger=factory.key(KeySpec("ed25519", name="stranger")),
    )


def write_policy(root: Path, keys: Keys) -> Path:
    (root / "keys").mkdir(parents=True, exist_ok=True)
    for name in ("acme", "partner"):
        key: GeneratedKey = getattr(keys, name)
        (root / "keys" / f"{name}.gpg").write_bytes(key.public_material)
    path = root / "policy.yaml"
    path.write_text(POLICY.format(acme=keys.acme.fingerprint, partner=keys.partner.fingerprint))
    return path


def signed_image(
    factory: GpgFactory, seed: str, reference: str, *signers: tuple[GeneratedKey, str]
) -> dict[str, Any]:
    """Image ``digest_of(seed)`` pulled as ``reference``, one signature per (key, identity)."""
    digest = digest_of(seed)
    body = image(seed, signatures=0, dockerImageReference=f"{reference}@{digest}")
    body["signatures"] = [
        signature(digest, f"sig{i}", factory.sign(key, atomic_payload(digest, identity)))
        for i, (key, identity) in enumerate(signers)
    ]
    return body


def seed_store(store: ImageStore, factory: GpgFactory, keys: Keys) -> None:
    acme, partner, stranger = keys.acme, keys.partner, keys.stranger
    store.put_objects(
        [
            signed_image(factory, "web", "quay.io/acme/web", (acme, "quay.io/acme/web:1.0")),
            signed_image(factory, "init", "quay.io/acme/init", (acme, "quay.io/acme/init:1")),
            signed_image(factory, "evil", "quay.io/acme/evil", (partner, "quay.io/acme/evil:1")),
            signed_image(
                factory, "strange", "quay.io/acme/strange", (stranger, "quay.io/acme/strange:1")
            ),
            signed_image(factory, "unsigned", "quay.io/acme/unsigned"),
            signed_image(
                factory,
                "app",
                "registry.example.com/team/app",
                (acme, "registry.example.com/team/app:v1"),
            ),
            signed_image(factory, "flaky", "quay.io/flaky/x", (acme, "quay.io/flaky/x:1")),
            stream("team", "app", {"v1": [APP]}),
        ]
    )


# -- the service with the admission webhook -------------------------------------------------


def service_with_webhook(
    policy: Path, api: Any, admission: dict[str, Any] | None = None
) -> tuple[Flask, AdmissionController]:
    """The real sigverify service (``create_app``) with the admission endpoints registered,
    verifying with the service's own policy holder (reloads included)."""
    settings = Settings(
        policy=str(policy),
        keys=str(policy.parent / "keys"),
        backend="native",
        admission=False,
        insecure_no_auth=True,  # the webhook's endpoints are not behind bearer tokens
    )
    app = create_app(settings, api=api)
    holder = app.extensions[SERVICE].holder
    config = parse_admission_config(ADMISSION if admission is None else admission)
    controller = AdmissionController(config, api, holder.verifier)
    app.extensions[SERVICE].metrics.include([controller.metrics.registry])  # as create_app
    init_app(app, controller)
    return app, controller


# -- servers and a client ------------------------------------------------------------------


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """``app`` on a real threaded werkzeug server on 127.0.0.1; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval: shutdown() waits for it (the default, 0.5 s, per server).
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="test-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def store_server(store: ImageStore) -> Any:
    return serving(create_store_app(store))


def post(
    url: str,
    body: bytes | dict[str, Any],
    *,
    timeout: float = 10.0,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    """POST and return (HTTP status, decoded JSON body)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def get_text(url: str, *, timeout: float = 10.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        text: str = response.read().decode()
        return text
