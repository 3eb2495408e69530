"""containers-registries.d(5) as containers/image's loader reads it (docker/registries_d.go)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from sigverify.core.reference import parse_reference
from sigverify.errors import InputError
from sigverify.sources.auth import auth_files, find_credentials, parse_challenge
from sigverify.sources.lookaside import signature_url
from sigverify.sources.registries_d import load_registries_d

DIGEST = "sha256:" + "ab" * 32


def write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)


def test_the_most_specific_scope_with_a_lookaside_wins(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        "default-docker:\n  lookaside: https://default.example/sigs\n"
        "docker:\n"
        "  registry.example.com:\n    lookaside: https://host.example/sigs\n"
        "  registry.example.com/team:\n    sigstore: file:///legacy\n",
    )
    write(
        tmp_path,
        "b.yaml",
        "docker:\n  registry.example.com/team/app:\n    lookaside-staging: file:///stage\n"
        "  '*.example.org':\n    lookaside: https://wild.example/sigs\n",
    )
    write(tmp_path, "ignored.yml", "default-docker: {lookaside: https://never}\n")
    config = load_registries_d(tmp_path)

    def lookaside(text: str) -> str | None:
        return config.lookaside_for(parse_reference(text))

    # team/app's own section names only a staging URL: the parent namespace's applies.
    assert lookaside("registry.example.com/team/app:v1") == "file:///legacy"
    assert lookaside("registry.example.com/other/app:v1") == "https://host.example/sigs"
    assert lookaside("quay.example.org/x/y:v1") == "https://wild.example/sigs"
    assert lookaside("docker.io/library/busybox:latest") == "https://default.example/sigs"


def test_unknown_keys_are_ignored_as_containers_image_does(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        "unknown-top: 1\ndocker:\n  r.example:\n    lookaside: file:///x\n"
        "    use-sigstore-attachments: true\n    something-new: yes\n",
    )
    config = load_registries_d(tmp_path)
    assert config.lookaside_for(parse_reference("r.example/a:b")) == "file:///x"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"a.yaml": "default-docker: {lookaside: x}\n", "b.yaml": "default-docker: {}\n"},
            '"default-docker" defined both in {d}/a.yaml and {d}/b.yaml',
        ),
        (
            {
                "a.yaml": "docker: {r.example: {lookaside: x}}\n",
                "b.yaml": "docker: {r.example: {}}\n",
            },
            '"docker" namespace "r.example" defined both in {d}/a.yaml and {d}/b.yaml',
        ),
        ({"a.yaml": "docker: [1]\n"}, "{d}/a.yaml: docker: must be a mapping of scopes"),
        (
            {"a.yaml": "docker: {r: {lookaside: 3}}\n"},
            "{d}/a.yaml: docker.r.lookaside: must be a string (a URL)",
        ),
        ({"a.yaml": "a: 1\na: 2\n"}, '{d}/a.yaml: duplicate key "a" (line 2, column 1)'),
        (
            {"a.yaml": "x: &a 1\ny: *a\n"},
            "{d}/a.yaml: YAML anchors (&name) are not allowed (line 1, column 4)",
        ),
    ],
)
def test_conflicts_and_bad_files_are_input_errors(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        write(tmp_path, name, text)
    with pytest.raises(InputError) as caught:
        load_registries_d(tmp_path)
    assert str(caught.value) == message.format(d=tmp_path)


def test_empty_and_comment_only_files_and_a_missing_default_directory(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "")
    write(tmp_path, "b.yaml", "# nothing here\n")
    assert load_registries_d(tmp_path).lookaside_for(parse_reference("r.example/a:b")) is None
    with pytest.raises(InputError, match="does not exist"):
        load_registries_d(tmp_path / "missing")


def test_signature_urls_are_laid_out_as_containers_image_lays_them_out() -> None:
    assert signature_url("https://s.example/sigs", "ns/app", DIGEST, 2) == (
        f"https://s.example/sigs/ns/app@sha256={'ab' * 32}/signature-2"
    )
    assert signature_url("file:///var/lib/containers/sigstore", "library/busybox", DIGEST, 1) == (
        f"file:///var/lib/containers/sigstore/library/busybox@sha256={'ab' * 32}/signature-1"
    )


def test_credentials_most_specific_key_first_and_the_file_order(tmp_path: Path) -> None:
    def auth(creds: str) -> dict[str, str]:
        return {"auth": base64.b64encode(creds.encode()).decode()}

    first = tmp_path / "first.json"
    first.write_text(
        json.dumps({"auths": {"r.example/team": auth("team:1"), "r.example": auth("host:2")}})
    )
    second = tmp_path / "second.json"
    second.write_text(json.dumps({"auths": {"other.example": auth("other:3")}}))
    files = [first, tmp_path / "absent.json", second]
    team = find_credentials("r.example", "team/app", files)
    assert team is not None and (team.username, team.password) == ("team", "1")
    host = find_credentials("r.example", "elsewhere/app", files)
    assert host is not None and host.username == "host"
    other = find_credentials("other.example", "x", files)
    assert other is not None and other.password == "3"
    assert find_credentials("none.example", "x", files) is None
    assert "host:2" not in repr(host)


def test_auth_file_order_from_the_environment(tmp_path: Path) -> None:
    assert auth_files("explicit.json", {"REGISTRY_AUTH_FILE": "env.json"}) == [
        Path("explicit.json")
    ]
    assert auth_files(None, {"REGISTRY_AUTH_FILE": "env.json"}) == [Path("env.json")]
    assert auth_files(None, {"XDG_RUNTIME_DIR": "/run/u", "HOME": "/h"}) == [
        Path("/run/u/containers/auth.json"),
        Path("/h/.config/containers/auth.json"),
        Path("/h/.docker/config.json"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        '{"auths": {"r.example": {"auth": "!!"}}}',
        '{"auths": []}',
        "[",
        '{"auths": {"r.example": {"auth": "bm9jb2xvbg=="}}}',
    ],
)
def test_bad_auth_files_are_input_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "auth.json"
    path.write_text(text)
    with pytest.raises(InputError, match=f"auth file {path}"):
        find_credentials("r.example", "x", [path])


def test_challenges() -> None:
    bearer = parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull"'
    )
    assert bearer is not None and bearer.scheme == "bearer"
    assert dict(bearer.params) == {
        "realm": "https://auth.example/token",
        "service": "registry.example",
        "scope": "repository:a:pull",
    }
    basic = parse_challenge('Basic realm="Registry \\"quoted\\""')
    assert basic is not None and (basic.scheme, dict(basic.params)) == (
        "basic",
        {"realm": 'Registry "quoted"'},
    )
    assert parse_challenge(None) is None
    assert parse_challenge("x" * 5000) is None
