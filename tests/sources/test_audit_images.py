"""``sigverify audit --images FILE`` against the real registry world: every signature's
source in the report, failures reported, never a trust."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.imageapi.servers import closed_port
from tests.sources.conftest import World
from tests.sources.test_cli_registry import sigverify
from tests.support.audit_schema import validate_report

pytestmark = pytest.mark.slow


def audit(world: World, images: Path, *extra: str) -> tuple[int, str, str]:
    result = sigverify(
        "audit",
        "--policy",
        str(world.policy),
        "--images",
        str(images),
        "--registries-d",
        str(world.registries_d_http),
        "--authfile",
        str(world.authfile),
        "--cert-dir",
        str(world.registry.certs),
        *extra,
    )
    return result.returncode, result.stdout, result.stderr


def test_audit_of_pull_specs(world: World, tmp_path: Path) -> None:
    host = world.registry.host
    down = f"127.0.0.1:{closed_port()}/ns/x:v1"
    images = tmp_path / "images.txt"
    images.write_text(
        "# pull specs to audit\n"
        f"docker://{host}/ns/app:v1\n"
        f"{host}/ns/app@{world.digests['app']}\n"  # the same digest: judged once
        "\n"
        f"docker://{host}/ns/unsigned:v1\n"
        f"docker://{host}/ns/wrongdigest@{world.digests['wrongdigest']}\n"
        f"docker://{down}\n"
        "docker://Not A Reference\n"
    )
    status, stdout, stderr = audit(world, images, "-o", "json")
    assert status == 2
    assert stderr == (
        "sigverify: error: 2 images or image streams could not be audited (listed in the report)\n"
    )
    body = json.loads(stdout)
    assert body["totals"] == {
        "images": 3,
        "trusted": 1,
        "denied": 2,
        "unsigned": 1,
        "unreferenced": 3,
        "tags": 0,
        "failed": 2,
    }
    assert body["signatureSources"] == {"lookaside": 2}
    rows = {row["image"]: row for row in body["images"]}
    assert rows[world.digests["app"]]["sources"] == {"lookaside": 1}
    assert rows[world.digests["app"]]["reason"] == "Trusted"
    assert rows[world.digests["wrongdigest"]]["reason"] == "DigestMismatch"
    assert "sources" not in rows[world.digests["unsigned"]]
    # Each signature's details name where it was found; the report matches its schema.
    [detail] = rows[world.digests["app"]]["signatureDetails"]
    assert (detail["source"], detail["reason"], detail["createdFrom"]) == (
        "lookaside",
        "Trusted",
        "signature",
    )
    assert detail["signer"] == rows[world.digests["app"]]["signers"][0]
    assert [u["image"] for u in body["unsigned"]] == [world.digests["unsigned"]]
    validate_report(body)
    failures = {f["subject"]: f["message"] for f in body["failures"]}
    assert failures[f"docker://{down}"] == f"cannot reach {down.split('/')[0]}: connection refused"
    assert failures["docker://Not A Reference"].startswith(
        "'docker://Not A Reference' is not a valid image reference"
    )
    status, text, _ = audit(world, images)
    assert status == 2
    assert "SIGNATURE SOURCES" in text
    assert "    sources: lookaside 1" in text
    status, table, _ = audit(world, images, "-o", "csv")
    assert status == 2
    csv_rows = list(csv.DictReader(io.StringIO(table)))
    by_image = {row["image"]: row for row in csv_rows}
    # The JSON's sources, as the CSV's sources column; none where the JSON has none.
    assert by_image[world.digests["app"]]["sources"] == "lookaside=1"
    assert by_image[world.digests["wrongdigest"]]["sources"] == "lookaside=1"
    assert by_image[world.digests["unsigned"]]["sources"] == ""
    assert by_image[f"docker://{down}"]["sources"] == ""


def test_images_and_a_cluster_are_exclusive(world: World, tmp_path: Path) -> None:
    images = tmp_path / "images.txt"
    images.write_text("")
    status, _, stderr = audit(world, images, "--store", "x.db")
    assert status == 2
    assert "--images audits registries" in stderr


def test_a_file_without_pull_specs_is_nothing_to_audit(world: World, tmp_path: Path) -> None:
    images = tmp_path / "images.txt"
    images.write_text("# nothing here yet\n\n")
    status, stdout, stderr = audit(world, images)
    assert (status, stdout) == (2, "")
    assert stderr == f"sigverify: error: --images {images}: no pull spec to audit\n"
