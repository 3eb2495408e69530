"""``sigverify audit --images FILE --compare-policy NEW``: pull specs from the real registry
world, each image fetched once and judged by both policies, for the identity it was pulled
by."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sources.conftest import World
from tests.sources.test_audit_images import audit

pytestmark = pytest.mark.slow


def test_compare_pull_specs(world: World, tmp_path: Path) -> None:
    host = world.registry.host
    new = tmp_path / "new.yaml"
    new.write_text(
        "apiVersion: sigverify/v1\nkind: TrustPolicy\n"
        f"keysDirectory: {world.policy.parent / 'keys'}\n"
        "default: [{type: reject}]\nscopes:\n"
        f'  {host}/ns:\n    - {{type: signedBy, keys: ["{world.key.fingerprint}"]}}\n'
        f"  {host}/ns/unsigned:\n    - {{type: insecureAcceptAnything}}\n"
    )
    images = tmp_path / "images.txt"
    images.write_text(
        f"docker://{host}/ns/app:v1\n"
        f"docker://{host}/ns/unsigned:v1\n"
        f"docker://{host}/ns/wrongdigest@{world.digests['wrongdigest']}\n"
    )
    status, stdout, stderr = audit(world, images, "--compare-policy", str(new), "-o", "json")
    # CURRENT denies two images, but NEW denies nothing CURRENT admits: exit 0.
    assert (status, stderr) == (0, "")
    body = json.loads(stdout)
    assert body["totals"]["denied"] == 2
    comparison = body["comparison"]
    assert (comparison["images"], comparison["unchanged"]) == (3, 2)
    assert comparison["newlyDenied"] == []
    assert [
        (c["image"], c["reference"], c["current"]["reason"], c["new"]["reason"])
        for c in comparison["newlyAdmitted"]
    ] == [
        (
            world.digests["unsigned"],
            f"{host}/ns/unsigned:v1",
            "NotSigned",
            "Accepted",
        )
    ]
