"""``sigverify verify NS/STREAM@DIGEST`` against a running service, a cluster API (the
embedded store's OpenShift-compatible REST served by ``sigverify serve``) and a store file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.service.processes import Served, serve

ROOT = Path(__file__).resolve().parents[2]
POLICY = str(ROOT / "policies" / "demo.yaml")
SIGVERIFY = str(Path(sys.executable).with_name("sigverify"))


def digest_of(example: str) -> str:
    document = json.loads((ROOT / "examples" / "demo" / example).read_text())
    return str(document["image"]["metadata"]["name"])


APP = f"demo/app@{digest_of('app-signed.json')}"
TOOLS = f"demo/tools@{digest_of('tools-untrusted.json')}"


def run(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # No kubeconfig unless a test gives one: $KUBECONFIG and ~/.kube/config are defaults.
    environment = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    environment["HOME"] = str(cwd / "no-home") if cwd != ROOT else "/nonexistent"
    environment.update(env or {})
    return subprocess.run(
        [SIGVERIFY, "verify", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=120,
        check=False,
    )


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    loaded = subprocess.run(
        [
            SIGVERIFY,
            "store",
            "load",
            "--store",
            str(path),
            str(ROOT / "examples" / "demo"),
            str(ROOT / "examples" / "store"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    return path


@pytest.fixture()
def served(store: Path, tmp_path: Path) -> Iterator[Served]:
    with serve(
        [
            "--store",
            str(store),
            "--policy",
            POLICY,
            "--keys",
            str(ROOT / "keys"),
            "--workers",
            "1",
            "--serve-store-api",
        ],
        cwd=tmp_path,
    ) as server:
        yield server


def kubeconfig_for(served: Served, folder: Path) -> Path:
    path = folder / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "local", "cluster": {"server": served.url}}],
                "users": [{"name": "me", "user": {}}],
                "contexts": [{"name": "local", "context": {"cluster": "local", "user": "me"}}],
                "current-context": "local",
            }
        )
    )
    return path


def stored_conditions(served: Served, digest: str) -> list[list[tuple[str, str]]]:
    status, image = served.request("GET", f"/apis/image.openshift.io/v1/images/{digest}")
    assert status == 200
    return [
        [(c["type"], c["status"]) for c in s.get("conditions") or []] for s in image["signatures"]
    ]


def test_service_verifies_by_reference(served: Served) -> None:
    trusted = run(APP, "--server", served.url, "-o", "json")
    assert trusted.returncode == 0, trusted.stderr
    body = json.loads(trusted.stdout)
    assert (body["trusted"], body["recorded"]) == (True, None)
    untrusted = run(TOOLS, "--server", served.url)
    assert untrusted.returncode == 1
    assert untrusted.stdout.startswith("NOT TRUSTED  registry.example.com/demo/tools@sha256:")
    # GET has no side effects.
    assert stored_conditions(served, digest_of("tools-untrusted.json")) == [[], [], []]


@pytest.mark.slow
def test_service_records_conditions(served: Served) -> None:
    result = run(TOOLS, "--server", served.url, "--record", "-o", "json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["recorded"]["written"] is True
    assert stored_conditions(served, digest_of("tools-untrusted.json")) == [
        [("Trusted", "False"), ("ForImage", "True")],
        [("Trusted", "False"), ("ForImage", "False")],
        [("Trusted", "False"), ("ForImage", "False")],
    ]


@pytest.mark.slow
def test_cluster_mode_verifies_and_records_with_the_local_policy(
    served: Served, tmp_path: Path
) -> None:
    kubeconfig = str(kubeconfig_for(served, tmp_path))
    plain = run(APP, "--kubeconfig", kubeconfig, "--policy", POLICY, "-o", "json")
    assert plain.returncode == 0, plain.stderr
    assert stored_conditions(served, digest_of("app-signed.json")) == [[]]
    recorded = run(APP, "--kubeconfig", kubeconfig, "--policy", POLICY, "--record", "-o", "json")
    assert recorded.returncode == 0, recorded.stderr
    assert json.loads(recorded.stdout)["recorded"]["written"] is True
    assert stored_conditions(served, digest_of("app-signed.json")) == [
        [("Trusted", "True"), ("ForImage", "True")]
    ]
    # A second record within the probe interval changes nothing, so it writes nothing.
    again = run(APP, "--kubeconfig", kubeconfig, "--policy", POLICY, "--record", "-o", "json")
    assert json.loads(again.stdout)["recorded"]["written"] is False


@pytest.mark.slow
def test_store_mode(store: Path) -> None:
    result = run(APP, "--store", str(store), "--policy", POLICY, "--record")
    assert result.returncode == 0, result.stderr
    assert "conditions written (attempts 1, conflicts 0" in result.stdout


@pytest.mark.slow
def test_unknown_image_is_a_clear_error(served: Served) -> None:
    missing = f"demo/nothing@{digest_of('app-signed.json')}"
    result = run(missing, "--server", served.url)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert '404 imagestreams.image.openshift.io "nothing" not found' in result.stderr


@pytest.mark.slow
def test_unreachable_service_is_a_clear_error(tmp_path: Path) -> None:
    from tests.imageapi.servers import closed_port

    result = run(APP, "--server", f"http://127.0.0.1:{closed_port()}", "--timeout", "5")
    assert result.returncode == 2
    assert "cannot connect" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["demo-app", "--server", "http://127.0.0.1:1"], "is not NAMESPACE/STREAM@DIGEST"),
        ([APP], "a reference needs a cluster ($KUBECONFIG, ~/.kube/config or --kubeconfig)"),
        ([APP, "--server", "http://x", "--store", "s.db"], "--server or --store: exactly one"),
        ([APP, "--server", "http://x", "--policy", POLICY], "drop --policy"),
        ([APP, "--store", "s.db"], "Missing option '--policy'"),
        ([APP, "--server", "http://x", "-f", "x.json"], "either a reference or -f/--write"),
        (["--policy", POLICY, "--record", "-f", "x.json"], "and --record need a reference"),
        (["--policy", POLICY, "-n", "demo", "-f", "x.json"], "-n and --record need a reference"),
        (["sha256:abc", "--store", "s.db", "--policy", POLICY], "is not an image name"),
        ([f"sha256:{'a' * 64}", "--server", "http://x"], "an Image by name needs a cluster"),
        (["--bogus"], "No such option '--bogus'. (see 'sigverify verify --help')"),
        (["-o", "xml", "-f", "x.json"], "Invalid value for '--output' / '-o': 'xml'"),
        ([APP, "--server", "ftp://x"], "must be an http:// or https:// URL"),
    ],
)
def test_usage_errors(args: list[str], fragment: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert fragment in result.stderr
    # one line, as every error: no "Usage:" line, no "Try … --help" hint line
    assert result.stderr.startswith("sigverify: error: ") and result.stderr.count("\n") == 1


def test_store_mode_never_creates_a_missing_store(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such.db"
    result = run(APP, "--store", str(missing), "--policy", POLICY)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"sigverify: error: no embedded store at {missing}: the file does not exist"
    ]
    assert not missing.parent.exists()


# -- oc's and kubectl's conventions: $KUBECONFIG, ~/.kube/config, contexts, -n, sha256:, -o --


def two_context_kubeconfig(served: Served, path: Path) -> Path:
    """The current context "local" (namespace demo) reaches ``served``; "broken" does not."""
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "local", "cluster": {"server": served.url}},
                    {"name": "nowhere", "cluster": {"server": "http://127.0.0.1:1"}},
                ],
                "users": [{"name": "me", "user": {}}],
                "contexts": [
                    {
                        "name": "local",
                        "context": {"cluster": "local", "user": "me", "namespace": "demo"},
                    },
                    {
                        "name": "broken",
                        "context": {"cluster": "nowhere", "user": "me", "namespace": "other"},
                    },
                ],
                "current-context": "local",
            }
        )
    )
    return path


@pytest.mark.slow
def test_kubeconfig_variable_current_context_and_its_namespace(
    served: Served, tmp_path: Path
) -> None:
    env = {"KUBECONFIG": str(two_context_kubeconfig(served, tmp_path / "config"))}
    stream_image = APP.removeprefix("demo/")
    result = run(stream_image, "--policy", POLICY, "-o", "yaml", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    body = yaml.safe_load(result.stdout)
    assert body["trusted"] is True and body["image"] == digest_of("app-signed.json")
    # -n names the namespace; --context picks another context (whose cluster is unreachable)
    named = run(stream_image, "-n", "demo", "--policy", POLICY, "-o", "json", env=env, cwd=tmp_path)
    assert {**json.loads(named.stdout), "verifiedAt": None} == {**body, "verifiedAt": None}
    broken = run(stream_image, "--context", "broken", "--policy", POLICY, env=env, cwd=tmp_path)
    assert broken.returncode == 2 and "127.0.0.1:1" in broken.stderr, broken.stderr
    assert broken.stderr.count("\n") == 1
    wrong = run(APP, "-n", "other", "--policy", POLICY, env=env, cwd=tmp_path)
    assert wrong.returncode == 2
    assert "names namespace 'demo' but -n says 'other'" in wrong.stderr


@pytest.mark.slow
def test_home_kube_config_is_the_default_and_an_image_by_name(
    served: Served, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    two_context_kubeconfig(served, home / ".kube" / "config")
    env = {"HOME": str(home)}
    digest = digest_of("app-signed.json")
    result = run(digest, "--policy", POLICY, "-o", "json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["trusted"] is True and body["image"] == digest
    untrusted = run(digest_of("tools-untrusted.json"), "--policy", POLICY, env=env, cwd=tmp_path)
    assert untrusted.returncode == 1


def test_file_mode_prints_yaml_as_it_prints_json() -> None:
    document = str(ROOT / "examples" / "demo" / "app-signed.json")
    as_json = run("--policy", POLICY, "-f", document, "-o", "json")
    as_yaml = run("--policy", POLICY, "-f", document, "-o", "yaml")
    assert as_json.returncode == as_yaml.returncode == 0, as_yaml.stderr
    unstamped = {"verifiedAt": None}
    assert {**yaml.safe_load(as_yaml.stdout), **unstamped} == {
        **json.loads(as_json.stdout),
        **unstamped,
    }
    assert not as_yaml.stdout.lstrip().startswith("{")
