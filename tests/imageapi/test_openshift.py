"""The OpenShift client, end to end against the store's REST over real HTTP(S) servers."""

from __future__ import annotations

import copy
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sigverify.errors import InputError
from sigverify.imageapi.errors import (
    AlreadyExistsError,
    BadRequestError,
    ClusterServerError,
    ClusterTimeout,
    ClusterUnreachable,
    ConflictError,
    ExpiredError,
    ForbiddenError,
    InvalidObjectError,
    NotFoundError,
    UnauthorizedError,
)
from sigverify.imageapi.openshift import ClusterOptions, OpenShiftImageAPI, connect
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import create_store_app, status_body
from tests.imageapi.builders import conditions, digest_of, image, stream
from tests.imageapi.servers import (
    CoreObjects,
    Faults,
    closed_port,
    self_signed_certificate,
    serve_wsgi,
    silent_server,
)

NAME = digest_of("app")


@pytest.fixture
def seeded(store: ImageStore) -> ImageStore:
    store.put_object(image("app", signatures=2))
    for seed in "abcd":
        store.put_object(image(seed))
    store.put_object(stream("demo", "app", {"latest": [NAME]}))
    store.put_object(stream("other", "lib", {}))
    return store


@pytest.fixture
def faults(seeded: ImageStore) -> Faults:
    return Faults(create_store_app(seeded, tokens={"reader": "read", "writer": "write"}))


@pytest.fixture
def server(faults: Faults) -> Iterator[str]:
    with serve_wsgi(faults) as url:
        yield url


def _api(url: str, token: str | None = "writer", timeout: float = 10.0) -> OpenShiftImageAPI:
    return connect(ClusterOptions(server=url, token=token, timeout=timeout))


# -- reading and writing --------------------------------------------------------------------


def test_get_imagestreamimage_image_and_tag(server: str, seeded: ImageStore) -> None:
    api = _api(server)
    assert api.get_imagestreamimage("demo", f"app@{NAME}") == seeded.get_imagestreamimage(
        "demo", f"app@{NAME}"
    )
    assert api.get_image(NAME) == seeded.get_image(NAME)
    assert api.get_imagestreamtag("demo", "app:latest")["image"]["metadata"]["name"] == NAME
    api.ping()


def test_lists_are_paginated(server: str, seeded: ImageStore) -> None:
    api = _api(server)
    names: list[str] = []
    token = None
    for _ in range(10):
        items, token = api.list_images(limit=2, continue_token=token)
        names.extend(i["metadata"]["name"] for i in items)
        if token is None:
            break
    assert names == [i["metadata"]["name"] for i in seeded.list_images()[0]]
    assert len(names) == 5
    streams, token = api.list_imagestreams()
    assert [s["metadata"]["name"] for s in streams] == ["app", "lib"] and token is None
    streams, _ = api.list_imagestreams("other")
    assert [s["metadata"]["name"] for s in streams] == ["lib"]


def test_update_round_trips_losslessly_and_detects_conflicts(server: str) -> None:
    api = _api(server)
    read = api.get_image(NAME)
    assert api.update_image(read) == read  # nothing changed: same object, same version
    sent = copy.deepcopy(read)
    sent["signatures"][1]["conditions"] = conditions("False")
    written = api.update_image(sent)
    assert written["signatures"] == sent["signatures"]
    assert written["x-unknown-member"] == read["x-unknown-member"]
    assert written["metadata"]["resourceVersion"] != read["metadata"]["resourceVersion"]
    with pytest.raises(ConflictError, match="the object has been modified") as caught:
        api.update_image(sent)
    assert not isinstance(caught.value, AlreadyExistsError)


def test_invalid_update_carries_the_causes(server: str) -> None:
    api = _api(server)
    read = api.get_image(NAME)
    read["signatures"][0]["conditions"] = conditions("True")[1:]
    with pytest.raises(InvalidObjectError) as caught:
        api.update_image(read)
    assert [c.field for c in caught.value.causes] == ["signatures[0].conditions"]


# -- faults ---------------------------------------------------------------------------------


def test_api_down_is_unreachable() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(ClusterUnreachable, match=f"cannot reach the API server at {url}"):
        _api(url).get_image(NAME)


@pytest.mark.slow  # waits out a real deadline or timeout
def test_a_silent_server_times_out() -> None:
    with silent_server() as url:
        api = _api(url, timeout=0.5)
        with pytest.raises(ClusterTimeout, match=r"did not answer within 0.5s \(GET "):
            api.get_image(NAME)


def test_401_without_or_with_a_bad_token(server: str) -> None:
    for token in (None, "stolen"):
        with pytest.raises(UnauthorizedError, match=r"did not accept the credentials \(401"):
            _api(server, token=token).get_image(NAME)


def test_403_for_a_reader_updating(server: str) -> None:
    api = _api(server, token="reader")
    read = api.get_image(NAME)
    with pytest.raises(ForbiddenError, match='User "reader" cannot update resource "images"'):
        api.update_image(read)


def test_404_for_unknown_objects(server: str) -> None:
    api = _api(server)
    with pytest.raises(NotFoundError, match=r'^images.image.openshift.io "sha256:0" not found$'):
        api.get_image("sha256:0")
    with pytest.raises(NotFoundError, match="imagestreamimage"):
        api.get_imagestreamimage("demo", "app@sha256:0")


def test_400_for_a_bad_imagestreamimage_name(server: str) -> None:
    with pytest.raises(BadRequestError, match="must be retrieved with <name>@<id>"):
        _api(server).get_imagestreamimage("demo", "app")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_a_server_error(server: str, faults: Faults, status: int) -> None:
    body = json.dumps(status_body(status, "InternalError", "etcd is sad")).encode()
    faults.fail("GET", "/apis/image.openshift.io/v1/images/", status, body)
    with pytest.raises(ClusterServerError, match="etcd is sad") as caught:
        _api(server).get_image(NAME)
    assert caught.value.status == status
    assert _api(server).get_image(NAME)["metadata"]["name"] == NAME  # only once


def test_a_proxy_error_page_is_a_server_error(server: str, faults: Faults) -> None:
    faults.fail("GET", "/apis/", 502, b"<html>Bad Gateway</html>")
    with pytest.raises(ClusterServerError, match="502") as caught:
        _api(server).get_image(NAME)
    assert caught.value.status == 502


def test_a_non_json_success_is_a_server_error(server: str, faults: Faults) -> None:
    faults.fail("GET", "/apis/", 200, b"<html>login</html>")
    with pytest.raises(ClusterServerError, match="not JSON"):
        _api(server).get_image(NAME)


def test_410_expired_continue_and_409_already_exists(server: str, faults: Faults) -> None:
    faults.fail(
        "GET",
        "/apis/image.openshift.io/v1/images",
        410,
        json.dumps(
            status_body(410, "Expired", "The provided continue parameter is too old")
        ).encode(),
    )
    with pytest.raises(ExpiredError, match="too old"):
        _api(server).list_images(limit=1, continue_token="x")
    faults.fail(
        "PUT", "/apis/", 409, json.dumps(status_body(409, "AlreadyExists", "exists")).encode()
    )
    with pytest.raises(AlreadyExistsError):
        _api(server).update_image(_api(server).get_image(NAME))


def test_a_server_side_timeout_status_is_a_timeout(server: str, faults: Faults) -> None:
    faults.fail("GET", "/apis/", 504, json.dumps(status_body(504, "Timeout", "slow")).encode())
    with pytest.raises(ClusterTimeout, match="slow"):
        _api(server).get_image(NAME)


# -- credentials ----------------------------------------------------------------------------


def _kubeconfig(path: Path, server: str, token: str, **cluster: object) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server, **cluster}}],
                "users": [{"name": "u", "user": {"token": token}}],
                "contexts": [
                    {"name": "ctx", "context": {"cluster": "c", "user": "u"}},
                    {"name": "bad", "context": {"cluster": "c", "user": "u"}},
                ],
                "current-context": "ctx",
            }
        )
    )
    return path


def test_kubeconfig_credentials(server: str, tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path / "kubeconfig", server, "writer")
    api = connect(ClusterOptions(kubeconfig=str(path)))
    assert api.get_image(NAME)["metadata"]["name"] == NAME
    reader = connect(ClusterOptions(kubeconfig=str(_kubeconfig(tmp_path / "k2", server, "x"))))
    with pytest.raises(UnauthorizedError):
        reader.get_image(NAME)


def test_a_broken_kubeconfig_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("clusters: []\n")
    with pytest.raises(InputError, match="cannot load the cluster credentials"):
        connect(ClusterOptions(kubeconfig=str(path), context="missing"))


def test_token_file(server: str, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("writer\n")
    api = connect(ClusterOptions(server=server, token_file=str(token)))
    assert api.get_image(NAME)["metadata"]["name"] == NAME


@pytest.fixture
def tls_server(faults: Faults, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    files = self_signed_certificate(tmp_path / "tls")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert, files.key)
    with serve_wsgi(faults, ssl_context=context) as url:
        yield url, files.cert


def test_tls_with_the_servers_ca(tls_server: tuple[str, Path]) -> None:
    url, ca = tls_server
    api = connect(ClusterOptions(server=url, token="writer", ca_file=str(ca)))
    assert api.get_image(NAME)["metadata"]["name"] == NAME


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_with_an_unknown_ca_is_unreachable(tls_server: tuple[str, Path]) -> None:
    url, _ = tls_server
    with pytest.raises(ClusterUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
        connect(ClusterOptions(server=url, token="writer")).get_image(NAME)
    api = connect(ClusterOptions(server=url, token="writer", insecure_skip_tls_verify=True))
    assert api.get_image(NAME)["metadata"]["name"] == NAME


def test_in_cluster_service_account(
    tls_server: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubernetes.config import incluster_config

    url, ca = tls_server
    token = tmp_path / "sa-token"
    token.write_text("reader")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    host, port = url.removeprefix("https://").split(":")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
    api = connect(ClusterOptions())
    assert api.get_image(NAME)["metadata"]["name"] == NAME
    with pytest.raises(ForbiddenError):
        api.update_image(api.get_image(NAME))


# -- pull credentials (admission) ------------------------------------------------------------


def test_get_secret_and_service_account_read_the_core_api(faults: Faults) -> None:
    secret = {"kind": "Secret", "type": "kubernetes.io/dockerconfigjson", "data": {}}
    account = {"kind": "ServiceAccount", "imagePullSecrets": [{"name": "pull"}]}
    core = CoreObjects(
        faults, secrets={("team", "pull"): secret}, service_accounts={("team", "default"): account}
    )
    with serve_wsgi(core) as url:
        api = _api(url, token="reader")
        assert api.get_secret("team", "pull") == secret
        assert api.get_service_account("team", "default") == account
        with pytest.raises(NotFoundError):
            api.get_secret("other", "pull")
        # Names are path segments, never paths.
        with pytest.raises(NotFoundError):
            api.get_secret("team", "../../secrets/pull")
    assert core.seen[:2] == [
        "/api/v1/namespaces/team/secrets/pull",
        "/api/v1/namespaces/team/serviceaccounts/default",
    ]
