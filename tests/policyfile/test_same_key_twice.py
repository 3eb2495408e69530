"""One key named twice never counts as two signers: ``SignedBy`` keeps a set of fingerprints,
so ``minSigners: 2`` over one key (named twice, in any form) is refused at policy load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sigverify.core.policy import SignedBy
from sigverify.errors import PolicyError
from sigverify.policyfile.loader import load_policy
from tests.support.fixtures import SKOPEO_TESTING_KEY_FINGERPRINT as FPR

KEY_ID = "0x" + FPR[-16:]


def test_signed_by_keeps_distinct_fingerprints() -> None:
    assert SignedBy([FPR, FPR]).fingerprints == frozenset({FPR})  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match=r"minSigners must be between 1 and 1 .*not 2"):
        SignedBy([FPR, FPR], min_signers=2)  # type: ignore[arg-type]


@pytest.fixture
def keys(containers_image_fixtures: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    folder.mkdir()
    shutil.copy(containers_image_fixtures / "public-key.gpg", folder / "skopeo-testing.gpg")
    return folder


@pytest.mark.parametrize("second", [FPR, KEY_ID, FPR.lower()], ids=["same", "key-id", "lower"])
def test_native_policy_naming_one_key_twice_with_min_signers_2(
    keys: Path, tmp_path: Path, second: str
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: sigverify/v1\nkind: TrustPolicy\ndefault:\n  - type: signedBy\n"
        f'    keys: ["{FPR}", "{second}"]\n    minSigners: 2\n'
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(policy, keys_dir=keys)
    assert str(caught.value).endswith(
        f"default[0].keys[1]: names the same key ({FPR}) as default[0].keys[0]"
    )


def test_containers_policy_key_paths_naming_one_key_twice(keys: Path, tmp_path: Path) -> None:
    shutil.copy(keys / "skopeo-testing.gpg", keys / "copy.gpg")
    policy = tmp_path / "policy.json"
    requirement = {
        "type": "signedBy",
        "keyType": "GPGKeys",
        "keyPaths": [str(keys / "skopeo-testing.gpg"), str(keys / "copy.gpg")],
    }
    policy.write_text(json.dumps({"default": [requirement]}))
    loaded = load_policy(policy, keys_dir=Path("/ignored"))
    assert loaded.policy.default == (SignedBy(frozenset({FPR})),)
