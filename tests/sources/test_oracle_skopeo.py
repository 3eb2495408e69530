"""skopeo as the oracle: the same containers-policy.json, the same registries.d and the same
registry; ``skopeo copy`` (containers/image's own policy evaluation) and ``sigverify verify``
must agree on every image."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.sources.conftest import World
from tests.sources.test_cli_registry import sigverify

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def containers_policy(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("oracle") / "policy.json"
    path.write_text(
        json.dumps(
            {
                "default": [{"type": "reject"}],
                "transports": {
                    "docker": {
                        f"{world.registry.host}/ns": [
                            {
                                "type": "signedBy",
                                "keyType": "GPGKeys",
                                "keyPath": str(world.key.public_binary),
                            }
                        ]
                    }
                },
            }
        )
    )
    return path


def skopeo_accepts(world: World, policy: Path, ref: str, scratch: Path) -> bool:
    done = subprocess.run(
        [
            "skopeo",
            "--policy",
            str(policy),
            "--registries.d",
            str(world.registries_d_http),
            "copy",
            "--quiet",
            "--src-cert-dir",
            str(world.registry.certs),
            "--src-creds",
            world.registry.creds,
            ref,
            f"dir:{scratch}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode == 0


@pytest.mark.parametrize(
    ("name", "by_digest", "trusted"),
    [
        ("app", False, True),
        ("app", True, True),
        ("multi", False, True),
        ("unsigned", False, False),
        ("wrongdigest", True, False),
        ("gap", False, False),
    ],
)
def test_sigverify_agrees_with_skopeo(
    world: World,
    containers_policy: Path,
    tmp_path: Path,
    name: str,
    by_digest: bool,
    trusted: bool,
) -> None:
    ref = world.ref(name, by_digest=by_digest)
    assert skopeo_accepts(world, containers_policy, ref, tmp_path / "copy") is trusted
    result = sigverify(
        "verify",
        ref,
        "--policy",
        str(containers_policy),
        "--registries-d",
        str(world.registries_d_http),
        "--authfile",
        str(world.authfile),
        "--cert-dir",
        str(world.registry.certs),
    )
    assert result.returncode == (0 if trusted else 1), result.stdout + result.stderr
