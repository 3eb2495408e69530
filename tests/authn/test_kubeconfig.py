"""The kubeconfig ``sigverify serve`` writes and ``--print-kubeconfig`` prints (issue 14)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from click.testing import CliRunner

from sigverify.authn.kubeconfig import (
    KubeconfigTarget,
    embedded_kubeconfig,
    render_kubeconfig,
    server_url,
    write_kubeconfig,
)
from sigverify.authn.statedir import ensure_admin_token, ensure_serving_certificate
from sigverify.cli.serve import command as serve_command
from sigverify.errors import InputError


@pytest.mark.parametrize(
    ("host", "port", "tls", "url"),
    [
        ("127.0.0.1", 8080, True, "https://127.0.0.1:8080"),
        ("0.0.0.0", 8443, True, "https://127.0.0.1:8443"),
        ("::", 8443, True, "https://[::1]:8443"),
        ("::1", 1, False, "http://[::1]:1"),
        ("localhost", 8080, True, "https://localhost:8080"),
    ],
)
def test_server_url(host: str, port: int, tls: bool, url: str) -> None:
    assert server_url(host, port, tls=tls) == url


def test_server_url_needs_a_port() -> None:
    with pytest.raises(InputError, match="needs the port"):
        server_url("127.0.0.1", 0, tls=True)


def test_render_with_ca_and_token() -> None:
    text = render_kubeconfig(KubeconfigTarget("https://127.0.0.1:8080", b"PEM\n", "t0k"))
    assert text == (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        '- name: "sigverify"\n'
        "  cluster:\n"
        '    server: "https://127.0.0.1:8080"\n'
        '    certificate-authority-data: "UEVNCg=="\n'
        "users:\n"
        '- name: "sigverify-admin"\n'
        "  user:\n"
        '    token: "t0k"\n'
        "contexts:\n"
        '- name: "sigverify"\n'
        "  context:\n"
        '    cluster: "sigverify"\n'
        '    user: "sigverify-admin"\n'
        'current-context: "sigverify"\n'
        "preferences: {}\n"
    )


def test_render_without_authentication() -> None:
    text = render_kubeconfig(KubeconfigTarget("http://127.0.0.1:8080", None, None))
    assert "certificate-authority-data" not in text and "token" not in text
    assert "  user: {}\n" in text


def test_embedded_kubeconfig_names_the_generated_ca_only_for_the_generated_certificate(
    tmp_path: Path,
) -> None:
    token = ensure_admin_token(tmp_path).read_text().strip()
    files = ensure_serving_certificate(tmp_path, "127.0.0.1")
    ca = base64.b64encode(files.ca_cert.read_bytes()).decode()
    text = embedded_kubeconfig(tmp_path, "https://127.0.0.1:1", tls_cert=str(files.cert))
    assert f'certificate-authority-data: "{ca}"' in text and f'token: "{token}"' in text
    own = embedded_kubeconfig(tmp_path, "https://127.0.0.1:1", tls_cert=str(tmp_path / "my.crt"))
    assert "certificate-authority-data" not in own and f'token: "{token}"' in own


def test_write_is_private_and_replaces(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path, "one\n")
    assert path == tmp_path / "kubeconfig" and path.stat().st_mode & 0o777 == 0o600
    write_kubeconfig(tmp_path, "two\n")
    assert path.read_text() == "two\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kubeconfig"]
    with pytest.raises(InputError, match="cannot write the kubeconfig"):
        write_kubeconfig(tmp_path / "missing", "x")


def _serve(*args: str, home: Path) -> tuple[int, str]:
    environment = {"HOME": str(home), "XDG_STATE_HOME": None, "SIGVERIFY_CONFIG": None}
    result = CliRunner().invoke(serve_command, list(args), env=environment)
    return result.exit_code, result.output


def test_print_kubeconfig_prints_and_writes_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, output = _serve(
        "--print-kubeconfig", "--state-dir", str(state), "--port", "8443", home=tmp_path
    )
    assert code == 0, output
    assert output == (state / "kubeconfig").read_text()
    token = (state / "admin.token").read_text().strip()
    ca = base64.b64encode((state / "ca.crt").read_bytes()).decode()
    assert 'server: "https://127.0.0.1:8443"' in output
    assert f'certificate-authority-data: "{ca}"' in output and f'token: "{token}"' in output
    # A second run reuses the token and the CA: the same kubeconfig.
    assert _serve(
        "--print-kubeconfig", "--state-dir", str(state), "--port", "8443", home=tmp_path
    ) == (0, output)


def test_print_kubeconfig_refusals(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('t,alice,1,"sigverify:admin"\n')
    tokens.chmod(0o600)
    code, output = _serve(
        "--print-kubeconfig",
        "--token-auth-file",
        str(tokens),
        "--state-dir",
        str(tmp_path),
        home=tmp_path,
    )
    assert code == 2 and "there is no generated admin token" in output
    code, output = _serve(
        "--print-kubeconfig", "--state-dir", str(tmp_path), "--port", "0", home=tmp_path
    )
    assert code == 2 and "needs the port" in output


def test_print_kubeconfig_without_authentication_is_plain_http(tmp_path: Path) -> None:
    code, output = _serve(
        "--print-kubeconfig", "--insecure-no-auth", "--port", "8080", home=tmp_path
    )
    assert code == 0, output
    assert 'server: "http://127.0.0.1:8080"' in output and "token" not in output
    assert not (tmp_path / ".local").exists()


def test_print_kubeconfig_against_a_cluster_is_refused(tmp_path: Path) -> None:
    cluster = tmp_path / "cluster.kubeconfig"
    cluster.write_text("apiVersion: v1\nkind: Config\n")
    code, output = _serve(
        "--print-kubeconfig",
        "--kubeconfig",
        str(cluster),
        "--state-dir",
        str(tmp_path / "s"),
        home=tmp_path,
    )
    assert code == 2 and "use the cluster's kubeconfig" in output
    assert not (tmp_path / "s" / "kubeconfig").exists()


@pytest.mark.parametrize(
    ("overrides", "written"),
    [
        ({}, True),
        ({"insecure_no_auth": True}, False),
        ({"token_auth_file": "tokens.csv"}, False),
        ({"kubeconfig": "cluster.kubeconfig"}, False),
    ],
)
def test_where_serve_writes_its_kubeconfig(
    tmp_path: Path, overrides: dict[str, object], written: bool
) -> None:
    from sigverify.cli.serve import _kubeconfig_folder
    from sigverify.settings import Settings

    settings = Settings(state_dir=str(tmp_path), **overrides)  # type: ignore[arg-type]
    assert _kubeconfig_folder(settings) == (tmp_path if written else None)
