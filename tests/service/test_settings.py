"""Settings: defaults → file → environment → flags, typed, validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigverify.errors import InputError
from sigverify.settings import Settings, bundled, default_store, load_settings


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings == Settings()
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8080, 2)
    # the state folder's, never the working directory's
    assert settings.store == str(default_store(None))
    assert Path(settings.store).is_absolute() and settings.store.endswith("/sigverify/sigverify.db")
    # cwd-free: the bundled demo policy; its keysDirectory, not a relative keys/, names keys
    assert settings.policy == str(bundled("policies", "demo.yaml"))
    assert Path(settings.policy).is_absolute() and Path(settings.policy).is_file()
    assert settings.keys is None and settings.seed == ()  # samples only with serve --demo
    assert not settings.uses_cluster


def test_layers_in_order_of_strength(tmp_path: Path) -> None:
    config = tmp_path / "sigverify.yaml"
    config.write_text("port: 9000\nworkers: 3\nseed: [a, b]\nprobe-interval-seconds: 60\n")
    environ = {"SIGVERIFY_WORKERS": "4", "SIGVERIFY_IN_CLUSTER": "yes"}
    settings = load_settings(config_file=str(config), environ=environ, overrides={"workers": 5})
    assert settings.port == 9000  # file
    assert settings.workers == 5  # flag over env over file
    assert settings.in_cluster is True and settings.uses_cluster  # env
    assert settings.seed == ("a", "b") and settings.probe_interval_seconds == 60.0
    environ["SIGVERIFY_CONFIG"] = str(config)
    assert load_settings(environ=environ).workers == 4


def test_environment_values_are_typed() -> None:
    settings = load_settings(
        environ={
            "SIGVERIFY_SEED": "x, y",
            "SIGVERIFY_KEYS": "",
            "SIGVERIFY_API_TIMEOUT_SECONDS": "2.5",
            "SIGVERIFY_SERVE_STORE_API": "0",
        }
    )
    assert settings.seed == ("x", "y") and settings.keys is None
    assert settings.api_timeout_seconds == 2.5 and settings.serve_store_api is False


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SIGVERIFY_PORT": "eighty"}, "SIGVERIFY_PORT: port: 'eighty'"),
        ({"SIGVERIFY_IN_CLUSTER": "maybe"}, "expected true or false"),
        ({"SIGVERIFY_PORT": "70000"}, "port: 70000 is out of range"),
        ({"SIGVERIFY_WORKERS": "0"}, "workers: must be at least 1"),
        ({"SIGVERIFY_TLS_CERT": "c.pem"}, "tls_cert and tls_key: give both or neither"),
        ({"SIGVERIFY_BACKEND": "openssl"}, "backend: 'openssl' is not one of"),
        ({"SIGVERIFY_POLICY": ""}, "policy cannot be empty"),
        ({"SIGVERIFY_PROBE_INTERVAL_SECONDS": "-1"}, "must not be negative"),
    ],
)
def test_bad_values_are_input_errors(environ: dict[str, str], message: str) -> None:
    with pytest.raises(InputError) as caught:
        load_settings(environ=environ)
    assert message in str(caught.value)


def test_bad_files(tmp_path: Path) -> None:
    unknown = tmp_path / "a.yaml"
    unknown.write_text("colour: blue\n")
    with pytest.raises(InputError, match="unknown setting 'colour'"):
        load_settings(config_file=str(unknown), environ={})
    broken = tmp_path / "b.json"
    broken.write_text("{")
    with pytest.raises(InputError, match="not valid YAML/JSON"):
        load_settings(config_file=str(broken), environ={})
    with pytest.raises(InputError, match="cannot read settings"):
        load_settings(config_file=str(tmp_path / "missing.yaml"), environ={})
    listed = tmp_path / "c.yaml"
    listed.write_text("- a\n")
    with pytest.raises(InputError, match="must hold a mapping"):
        load_settings(config_file=str(listed), environ={})


def test_describe_masks_the_token() -> None:
    described = Settings(token="secret").describe()
    assert described["token"] == "***" and "secret" not in str(described)


def test_serve_refuses_unusable_cluster_credentials_before_starting(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sigverify.cli import cli
    from sigverify.cli._commands import register

    register(cli)
    result = CliRunner().invoke(cli, ["serve", "--kubeconfig", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "cannot load the cluster credentials" in result.output


def test_the_default_store_is_in_the_state_folder(tmp_path: Path) -> None:
    assert default_store(None, {"XDG_STATE_HOME": str(tmp_path)}) == str(
        tmp_path / "sigverify" / "sigverify.db"
    )
    assert default_store(None, {"HOME": "/home/u"}) == "/home/u/.local/state/sigverify/sigverify.db"
    assert default_store(str(tmp_path / "s"), {}) == str(tmp_path / "s" / "sigverify.db")
    # --state-dir moves it; --store names it
    assert Settings(state_dir=str(tmp_path / "s")).store == str(tmp_path / "s" / "sigverify.db")
    assert Settings(store="x.db", state_dir=str(tmp_path)).store == "x.db"
