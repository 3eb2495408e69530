"""One real registry world for the sources tests, built once per session.

docker-registry (TLS, htpasswd) on loopback; images pushed with ``skopeo copy``, signed with
``skopeo copy --sign-by`` into a lookaside staging folder that a real ``http.server`` serves
(and that is also read through ``file://``); hand-placed lookaside files for the hostile
cases; a trust policy over the signing key.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sources.registry import Registry, oci_layout, push, serve_folder, start_registry
from tests.support.gpgfactory import GeneratedKey, GpgFactory

#: The cases hand-placed in the lookaside, each an image of its own.
HAND_PLACED = ("wrongdigest", "gap", "huge", "many")


@dataclass(frozen=True)
class World:
    registry: Registry
    key: GeneratedKey
    stage: Path  # the lookaside folder (skopeo's staging layout)
    lookaside_url: str  # http.server over ``stage``
    registries_d_http: Path
    registries_d_file: Path
    authfile: Path
    wrong_authfile: Path
    policy: Path
    digests: dict[str, str]  # image name → digest pushed
    root: Path

    def ref(self, name: str, *, tag: str = "v1", by_digest: bool = False) -> str:
        if by_digest:
            return f"docker://{self.registry.host}/ns/{name}@{self.digests[name]}"
        return f"docker://{self.registry.host}/ns/{name}:{tag}"

    def signature_dir(self, name: str) -> Path:
        digest = self.digests[name]
        return self.stage / "ns" / f"{name}@{digest.replace(':', '=')}"


def _registries_d(folder: Path, host: str, lookaside: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "lookaside.yaml").write_text(f"docker:\n  {host}:\n    lookaside: {lookaside}\n")
    return folder


def _authfile(path: Path, host: str, creds: str) -> Path:
    auth = base64.b64encode(creds.encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return path


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, gpg_factory: GpgFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("registry-world")
    key = gpg_factory.key("rsa2048")
    stage = root / "stage"
    stage.mkdir()
    with start_registry(root / "registry") as registry, serve_folder(stage) as lookaside_url:
        digests: dict[str, str] = {}
        layouts = root / "layouts"
        for name, signed, index in (
            ("app", True, False),
            ("multi", True, True),
            ("unsigned", False, False),
            *((case, False, False) for case in HAND_PLACED),
        ):
            oci_layout(layouts / name, "v1", f"content of {name}".encode(), index=index)
            digests[name] = push(
                registry,
                layouts / name,
                "v1",
                f"ns/{name}:v1",
                sign_by=key if signed else None,
                staging=stage if signed else None,
                scratch=root,
            )
        partial = World(
            registry,
            key,
            stage,
            lookaside_url,
            _registries_d(root / "registries.d-http", registry.host, lookaside_url),
            _registries_d(root / "registries.d-file", registry.host, stage.as_uri()),
            _authfile(root / "auth.json", registry.host, registry.creds),
            _authfile(root / "wrong-auth.json", registry.host, f"{registry.user}:wrong"),
            root / "policy.yaml",
            digests,
            root,
        )
        good = (partial.signature_dir("app") / "signature-1").read_bytes()
        # A valid signature, but for another image's digest.
        partial.signature_dir("wrongdigest").mkdir(parents=True)
        shutil.copy(
            partial.signature_dir("app") / "signature-1", partial.signature_dir("wrongdigest")
        )
        # signature-2 without signature-1: reading stops at the first missing one.
        partial.signature_dir("gap").mkdir(parents=True)
        (partial.signature_dir("gap") / "signature-2").write_bytes(good)
        # One blob over the size limit.
        partial.signature_dir("huge").mkdir(parents=True)
        (partial.signature_dir("huge") / "signature-1").write_bytes(b"\xa3" * (64 * 1024 + 1))
        # One signature more than MAX_SIGNATURES_PER_IMAGE.
        partial.signature_dir("many").mkdir(parents=True)
        for index in range(1, 258):
            (partial.signature_dir("many") / f"signature-{index}").write_bytes(good)
        keys = root / "keys"
        keys.mkdir()
        shutil.copy(key.public_binary, keys / "signer.gpg")
        partial.policy.write_text(
            "apiVersion: sigverify/v1\nkind: TrustPolicy\nkeysDirectory: keys\n"
            "default: [{type: reject}]\nscopes:\n"
            f"  {registry.host}/ns:\n"
            f'    - {{type: signedBy, keys: ["{key.fingerprint}"]}}\n'
        )
        yield partial
