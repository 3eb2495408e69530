"""``sigverify verify docker://…`` against a real registry (docker-registry, TLS, htpasswd),
images pushed and signed by skopeo, the lookaside served by a real http.server and read
through file:// too. Each test runs the real command in a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.imageapi.servers import closed_port
from tests.sources.conftest import World

pytestmark = pytest.mark.slow  # a real registry, skopeo pushes, one process per case

ROOT = Path(__file__).resolve().parents[2]


def sigverify(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SIGVERIFY_DEBUG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR")
    }
    return subprocess.run(
        [sys.executable, "-m", "sigverify", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**base, **(env or {})},
        timeout=120,
        check=False,
    )


def verify(
    world: World, ref: str, *extra: str, lookaside: str = "http", authfile: Path | None = None
) -> subprocess.CompletedProcess[str]:
    registries_d = world.registries_d_http if lookaside == "http" else world.registries_d_file
    return sigverify(
        "verify",
        ref,
        "--policy",
        str(world.policy),
        "--registries-d",
        str(registries_d),
        "--authfile",
        str(authfile or world.authfile),
        "--cert-dir",
        str(world.registry.certs),
        *extra,
        "--output",
        "json",
    )


def body_of(result: subprocess.CompletedProcess[str], status: int) -> dict[str, Any]:
    assert result.returncode == status, result.stderr
    assert result.stderr == ""
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return lines[0]


def lookaside_report(world: World, count: int, *, via: str = "http") -> dict[str, Any]:
    location = world.lookaside_url if via == "http" else world.stage.as_uri()
    return {"source": "lookaside", "location": location, "signatures": count, "error": None}


def test_signed_by_digest_through_the_http_lookaside(world: World) -> None:
    digest = world.digests["app"]
    body = body_of(verify(world, world.ref("app", by_digest=True)), 0)
    assert body["trusted"] is True
    assert body["reason"] == "Trusted"
    assert body["image"] == digest
    assert body["reference"] == f"{world.registry.host}/ns/app@{digest}"
    assert body["scope"] == f"{world.registry.host}/ns"
    assert body["digestReference"] == f"{world.registry.host}/ns/app@{digest}"
    assert body["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert body["sources"] == [lookaside_report(world, 1)]
    [signature] = body["signatures"]
    assert signature["name"] == f"{digest}@lookaside-1"
    assert signature["source"] == "lookaside"
    assert signature["reason"] == "Trusted"
    assert signature["signer"]["fingerprint"] == world.key.fingerprint
    assert signature["claims"]["dockerManifestDigest"] == digest
    # skopeo signed the tag it pushed to; matchRepoDigestOrExact accepts it for the digest.
    assert signature["claims"]["dockerReference"] == f"{world.registry.host}/ns/app:v1"


def test_signed_by_tag_through_file_lookaside(world: World) -> None:
    digest = world.digests["app"]
    body = body_of(verify(world, world.ref("app"), lookaside="file"), 0)
    assert body["trusted"] is True
    assert body["image"] == digest
    # The tag is the identity the policy evaluates (exact match, as containers/image).
    assert body["reference"] == f"{world.registry.host}/ns/app:v1"
    assert body["digestReference"] == f"{world.registry.host}/ns/app@{digest}"
    assert body["sources"] == [lookaside_report(world, 1, via="file")]
    assert [s["source"] for s in body["signatures"]] == ["lookaside"]


def test_a_tag_the_signature_does_not_name_is_an_identity_mismatch(world: World) -> None:
    # Same manifest under another tag: the signature names :v1, the pull spec :v1 of
    # another repository path would not even find it; here the tag differs.
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--src-cert-dir",
            str(world.registry.certs),
            "--dest-cert-dir",
            str(world.registry.certs),
            "--src-creds",
            world.registry.creds,
            "--dest-creds",
            world.registry.creds,
            f"docker://{world.registry.host}/ns/app:v1",
            f"docker://{world.registry.host}/ns/app:other",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    body = body_of(verify(world, world.ref("app", tag="other")), 1)
    assert body["image"] == world.digests["app"]
    assert body["reason"] == "IdentityMismatch"
    assert [s["reason"] for s in body["signatures"]] == ["IdentityMismatch"]


def test_manifest_list_checks_the_signatures_of_the_list_digest(world: World) -> None:
    digest = world.digests["multi"]
    body = body_of(verify(world, world.ref("multi")), 0)
    assert body["image"] == digest
    assert body["mediaType"] == "application/vnd.oci.image.index.v1+json"
    [signature] = body["signatures"]
    assert signature["claims"]["dockerManifestDigest"] == digest
    assert signature["reason"] == "Trusted"


def test_unsigned_image_is_not_trusted(world: World) -> None:
    body = body_of(verify(world, world.ref("unsigned")), 1)
    assert body["trusted"] is False
    assert body["reason"] == "NotSigned"
    assert body["signatures"] == []
    assert body["sources"] == [lookaside_report(world, 0)]
    assert body["message"] == (
        f"{world.registry.host}/ns/unsigned:v1 is not trusted (scope {world.registry.host}/ns): "
        "A signature was required, but no signature exists"
    )


def test_a_signature_for_another_digest_is_a_digest_mismatch(world: World) -> None:
    body = body_of(verify(world, world.ref("wrongdigest", by_digest=True)), 1)
    assert body["reason"] == "DigestMismatch"
    [signature] = body["signatures"]
    assert signature["reason"] == "DigestMismatch"
    assert signature["source"] == "lookaside"
    assert signature["claims"]["dockerManifestDigest"] == world.digests["app"]


@pytest.mark.parametrize("via", ["http", "file"])
def test_reading_stops_at_the_first_missing_signature(world: World, via: str) -> None:
    # signature-1 is missing (404 / no file), signature-2 exists and is never read.
    body = body_of(verify(world, world.ref("gap"), lookaside=via), 1)
    assert body["reason"] == "NotSigned"
    assert body["sources"] == [lookaside_report(world, 0, via=via)]


def test_a_huge_signature_is_refused_by_size(world: World) -> None:
    body = body_of(verify(world, world.ref("huge")), 1)
    [signature] = body["signatures"]
    assert signature["reason"] == "InvalidSignature"
    assert signature["message"] == "signature blob is larger than 65536 bytes"
    assert signature["source"] == "lookaside"


@pytest.mark.parametrize("via", ["http", "file"])
def test_more_signatures_than_the_limit_is_a_source_error(world: World, via: str) -> None:
    body = body_of(verify(world, world.ref("many"), lookaside=via), 1)
    assert body["reason"] == "NotSigned"
    assert body["signatures"] == []
    [report] = body["sources"]
    assert report["signatures"] == 0
    location = world.lookaside_url if via == "http" else world.stage.as_uri()
    assert report["error"] == (f"lookaside {location}: more than 256 signatures; none are used")


def test_text_output_names_the_source_of_each_signature(world: World) -> None:
    result = sigverify(
        "verify",
        world.ref("app"),
        "--policy",
        str(world.policy),
        "--registries-d",
        str(world.registries_d_http),
        "--authfile",
        str(world.authfile),
        "--cert-dir",
        str(world.registry.certs),
    )
    assert result.returncode == 0, result.stderr
    assert "SOURCE" in result.stdout
    assert f"  source lookaside ({world.lookaside_url}): 1 signature(s)" in result.stdout


def test_registry_down_is_exit_2(world: World) -> None:
    ref = f"docker://127.0.0.1:{closed_port()}/ns/app:v1"
    line = one_line_error(verify(world, ref))
    assert line.startswith("sigverify: error: cannot reach 127.0.0.1:")
    assert line.endswith(": connection refused")


def test_authentication_required_without_credentials(world: World, tmp_path: Path) -> None:
    empty = tmp_path / "auth.json"
    empty.write_text('{"auths": {}}')
    line = one_line_error(verify(world, world.ref("app"), authfile=empty))
    assert line == (
        f"sigverify: error: {world.registry.host}: authentication required and no "
        "credentials found (--authfile, $REGISTRY_AUTH_FILE)"
    )


def test_authentication_refused(world: World) -> None:
    line = one_line_error(verify(world, world.ref("app"), authfile=world.wrong_authfile))
    assert line == (
        f"sigverify: error: {world.registry.host}/ns/app:v1: access denied (401); "
        "check the credentials"
    )


def test_credentials_from_registry_auth_file(world: World) -> None:
    result = sigverify(
        "verify",
        world.ref("app"),
        "--policy",
        str(world.policy),
        "--registries-d",
        str(world.registries_d_http),
        "--cert-dir",
        str(world.registry.certs),
        "-o",
        "json",
        env={"REGISTRY_AUTH_FILE": str(world.authfile)},
    )
    assert body_of(result, 0)["trusted"] is True


def test_unknown_ca_is_refused_and_tls_verify_false_skips_it(world: World, tmp_path: Path) -> None:
    no_ca = tmp_path / "certs"
    no_ca.mkdir()
    args = ["--policy", str(world.policy), "--registries-d", str(world.registries_d_http)]
    args += ["--authfile", str(world.authfile), "--cert-dir", str(no_ca), "-o", "json"]
    line = one_line_error(sigverify("verify", world.ref("app"), *args))
    assert line.startswith(
        f"sigverify: error: {world.registry.host}: TLS certificate not trusted: "
    )
    body = body_of(sigverify("verify", world.ref("app"), *args, "--tls-verify=false"), 0)
    assert body["trusted"] is True


def test_an_unknown_manifest_is_exit_2(world: World) -> None:
    line = one_line_error(verify(world, world.ref("app", tag="nosuchtag")))
    assert line == f"sigverify: error: {world.registry.host}/ns/app:nosuchtag: manifest unknown"


def test_registry_flags_need_a_docker_reference(world: World) -> None:
    result = sigverify("verify", "--policy", str(world.policy), "--tls-verify=false", "-f", "-")
    assert result.returncode == 2
    assert "need a docker:// reference" in result.stderr
