"""``GET /api/v1/audit``: the audit of the service's image API with its current policy, in
JSON, CSV and HTML, streamed; 400 on a bad parameter, 404 on nothing to audit; who may call
(embedded: ``sigverify:read``; cluster: ``list imagestreams`` in the namespace and ``get
images``, or both cluster-wide for every namespace, by SubjectAccessReview). The real app
with the real store and gpg; one real server on loopback for the streaming."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sigverify.audit.html import CONTENT_SECURITY_POLICY
from sigverify.audit.keyfacts import key_facts
from sigverify.audit.render import CSV_TABLES, csv_lines, csv_table, iter_json, report_to_json
from sigverify.audit.report import build_report
from sigverify.audit.scan import AuditTimeout, audit_image_api
from sigverify.errors import InputError
from sigverify.imageapi.openshift import ClusterOptions, connect
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import create_store_app
from sigverify.service import audit as audit_view
from sigverify.service.auth.needs import IMAGE_GROUP, Resource, need_of
from sigverify.settings import Settings
from tests.audit.html_document import html_document
from tests.audit.test_html import Page
from tests.imageapi.demo import APP, TOOLS, Clock, demo_verifier
from tests.imageapi.kube_auth import KubeAuth, Rule, UserInfo, auth_delegator
from tests.imageapi.servers import serve_wsgi
from tests.service.conftest import make_app

AUDIT = "/api/v1/audit"
NAMESPACE_RULE = (
    "is not a namespace name (lower-case letters, digits and '-', starting and ending with a "
    "letter or digit, at most 63 characters)"
)


def _expected(app: Flask, store: ImageStore, clock: Clock, namespace: str | None) -> Any:
    """The report the CLI's walk makes of the same store, policy and time."""
    state = app.extensions["sigverify"]
    in_use = state.holder.in_use()
    report = audit_image_api(
        store,
        in_use.verifier,
        policy=state.holder.status().source,
        namespace=namespace,
        keys=key_facts(in_use.loaded.policy, in_use.loaded.keyring),
        now=clock(),
    )
    return report_to_json(report)


@pytest.mark.parametrize("namespace", [None, "demo"])
def test_json_is_the_cli_report_streamed(
    app: Flask, client: FlaskClient, store: ImageStore, clock: Clock, namespace: str | None
) -> None:
    query = {"namespace": namespace} if namespace else {}
    response = client.get(AUDIT, query_string=query)
    assert (response.status_code, response.mimetype) == (200, "application/json")
    assert response.is_streamed and response.headers["Cache-Control"] == "no-store"
    body = json.loads(response.get_data())
    assert body == _expected(app, store, clock, namespace)
    assert body["namespace"] == namespace
    assert body["totals"] == {
        "images": 2,
        "trusted": 1,
        "denied": 1,
        "unsigned": 0,
        "unreferenced": 0,
        "tags": 2,
        "failed": 0,
    }
    assert [(image["image"], image["reason"]) for image in body["images"]] == [
        (TOOLS, "IdentityMismatch"),
        (APP, "Trusted"),
    ]


def test_json_is_written_image_by_image(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_view, "CHUNK_BYTES", 1)  # every piece its own write
    response = client.get(AUDIT)
    chunks = [bytes(chunk) for chunk in response.response]
    image_chunks = [c for c in chunks if c.startswith((b'{"image"', b', {"image"'))]
    assert len(image_chunks) == 2 + 1  # the images, and the one denied image
    assert json.loads(b"".join(chunks))["totals"]["images"] == 2


def test_the_streamed_forms_join_to_the_whole_ones() -> None:
    document = html_document()
    assert "".join(iter_json(document)) == json.dumps(document)
    report = build_report([], policy="p.yaml")
    for table in CSV_TABLES:
        assert "".join(csv_lines(report, table)) == csv_table(report, table)


def test_csv_tables(client: FlaskClient) -> None:
    response = client.get(AUDIT, query_string={"format": "csv"})
    assert (response.status_code, response.mimetype) == (200, "text/csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["image", "status", "reason"]
    assert [row[:3] for row in rows[1:]] == [
        [TOOLS, "denied", "IdentityMismatch"],
        [APP, "trusted", "Trusted"],
    ]
    keys = client.get(AUDIT, query_string={"format": "csv", "table": "keys", "namespace": "demo"})
    key_rows = list(csv.reader(io.StringIO(keys.get_data(as_text=True))))
    assert key_rows[0][:2] == ["fingerprint", "publicKeyID"]
    assert sorted(row[1] for row in key_rows[1:]) == [  # the policy's three keys
        "0x199E2F91FD431D51",
        "0x43C6880E17BA57E9",
        "0x43E64D08F2489B7B",
    ]


def test_html_is_the_self_contained_page(client: FlaskClient) -> None:
    response = client.get(AUDIT, query_string={"format": "html", "namespace": "demo"})
    assert (response.status_code, response.mimetype) == (200, "text/html")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    text = response.get_data(as_text=True)
    assert "http:" not in text and "https:" not in text
    page = Page(text)
    assert {"summary", "charts", "keys", "images", "image-table"} <= page.ids()
    text = " ".join(" ".join(page.text).split())
    assert APP in text and TOOLS in text and "namespace demo" in text


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("namespace=Demo", 400, f"namespace: 'Demo' {NAMESPACE_RULE}"),
        ("namespace=", 400, f"namespace: '' {NAMESPACE_RULE}"),
        (f"namespace={'a' * 64}", 400, f"namespace: '{'a' * 64}' {NAMESPACE_RULE}"),
        ("namespace=demo&namespace=other", 400, "namespace: given more than once"),
        ("format=xml", 400, "format: Must be one of: json, csv, html."),
        ("format=csv&format=html", 400, "format: given more than once"),
        ("format=csv&table=nothing", 400, "table: Must be one of: images, keys, signatures, "
         "unsigned, signers, scopes, namespaces, failures."),
        ("fromat=html", 400, "fromat: Unknown field."),
        ("namespace=nowhere", 404, "nothing to audit in namespace 'nowhere': no such "
         "namespace, or no ImageStream there has an imported tag"),
    ],
)  # fmt: skip
def test_bad_parameters_and_nothing_to_audit(
    client: FlaskClient, query: str, status: int, message: str
) -> None:
    response = client.get(f"{AUDIT}?{query}")
    assert response.status_code == status
    body = response.get_json()
    assert (body["code"], body["message"]) == (status, message)


def test_no_policy_is_503_and_a_broken_reload_keeps_the_old_one(
    settings: Settings, store: ImageStore, clock: Clock, tmp_path: Path, policy_file: Path
) -> None:
    missing = dataclasses.replace(settings, policy=str(tmp_path / "missing.yaml"))
    response = make_app(missing, store, clock).test_client().get(AUDIT)
    assert response.status_code == 503
    assert response.get_json()["message"].startswith("no trust policy is loaded: ")
    client = make_app(settings, store, clock).test_client()
    policy_file.write_text("not: [a policy")
    assert client.get(AUDIT).get_json()["policy"] == str(policy_file)  # still served


def test_an_empty_store_is_404(settings: Settings, tmp_path: Path, clock: Clock) -> None:
    empty = ImageStore(str(tmp_path / "empty.db"))
    response = make_app(settings, empty, clock).test_client().get(AUDIT)
    assert response.status_code == 404
    assert response.get_json()["message"] == (
        "nothing to audit in the image API: it has no Images and no ImageStreams"
    )


# -- who may call ------------------------------------------------------------------------------


def test_the_need_of_an_audit() -> None:
    from werkzeug.datastructures import MultiDict

    def need(query: dict[str, list[str]]) -> Any:
        found = need_of("GET", AUDIT, MultiDict([(k, v) for k, vs in query.items() for v in vs]))
        assert found is not None
        return found.right.name, found.all_of

    streams = Resource("list", "imagestreams", IMAGE_GROUP, "demo")
    assert need({"namespace": ["demo"]}) == (
        "READ",
        ((streams,), (Resource("get", "images", IMAGE_GROUP),)),
    )
    everywhere = (
        "READ",
        ((Resource("list", "imagestreams", IMAGE_GROUP),), (Resource("list", "images"),)),
    )
    assert need({}) == everywhere
    assert need({"namespace": ["demo", "other"]}) == everywhere  # fail closed
    assert need({"namespace": [""]}) == everywhere


TOKENS = 't-reader,reader,u1,"sigverify:read"\nt-nobody,nobody,u2\n'


def test_embedded_mode_needs_the_read_right(
    settings: Settings, store: ImageStore, clock: Clock, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text(TOKENS)
    secured = dataclasses.replace(settings, insecure_no_auth=False, token_auth_file=str(tokens))
    client = make_app(secured, store, clock).test_client()
    assert client.get(AUDIT).status_code == 401
    assert client.get(AUDIT, headers={"Authorization": "Bearer t-forged"}).status_code == 401
    denied = client.get(AUDIT, headers={"Authorization": "Bearer t-nobody"})
    assert denied.status_code == 403
    assert denied.get_json()["message"] == (
        'forbidden: User "nobody" cannot list resource "imagestreams" in API group '
        '"image.openshift.io" and list resource "images" in API group "image.openshift.io"'
    )
    # a bad parameter is answered only to a caller who may ask
    assert client.get(f"{AUDIT}?format=xml").status_code == 401
    allowed = client.get(AUDIT, headers={"Authorization": "Bearer t-reader"})
    assert allowed.status_code == 200 and allowed.get_json()["totals"]["images"] == 2


SA = UserInfo("system:serviceaccount:sigverify:sigverify", "sa", ("system:serviceaccounts",))
IMAGES = ("image.openshift.io",)
AUDITORS = {
    "demo-auditor": UserInfo("demo-auditor", "u1", ("system:authenticated",)),
    "cluster-auditor": UserInfo("cluster-auditor", "u2", ("system:authenticated",)),
    "streams-only": UserInfo("streams-only", "u3", ("system:authenticated",)),
}
RULES = [
    *auth_delegator(f"user:{SA.username}"),
    Rule("user:demo-auditor", ("list",), IMAGES, ("imagestreams",), namespace="demo"),
    Rule("user:demo-auditor", ("get",), IMAGES, ("images",)),
    Rule("user:cluster-auditor", ("get", "list"), IMAGES, ("imagestreams", "images")),
    Rule("user:streams-only", ("list",), IMAGES, ("imagestreams",), namespace="demo"),
]


@pytest.fixture
def cluster_client(settings: Settings, store: ImageStore, clock: Clock) -> Iterator[FlaskClient]:
    tokens = {"sa": SA} | {f"t-{name}": user for name, user in AUDITORS.items()}
    double = KubeAuth(create_store_app(store, tokens={"sa": "write"}), tokens=tokens, rules=RULES)
    with serve_wsgi(double) as url:
        secure = dataclasses.replace(settings, insecure_no_auth=False, server=url, token="sa")
        api = connect(ClusterOptions(server=url, token="sa", timeout=10))
        yield make_app(secure, api, clock).test_client()


@pytest.mark.parametrize(
    ("user", "namespace", "status"),
    [
        ("demo-auditor", "demo", 200),
        ("demo-auditor", None, 403),
        ("demo-auditor", "other", 403),
        ("streams-only", "demo", 403),
        ("cluster-auditor", "demo", 200),
        ("cluster-auditor", None, 200),
        (None, "demo", 401),
    ],
)
def test_cluster_mode_asks_the_cluster(
    cluster_client: FlaskClient, user: str | None, namespace: str | None, status: int
) -> None:
    headers = {"Authorization": f"Bearer t-{user}"} if user else {}
    query = {"namespace": namespace} if namespace else {}
    response = cluster_client.get(AUDIT, query_string=query, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 200:
        assert response.get_json()["totals"]["images"] == 2


# -- a real server -----------------------------------------------------------------------------


def test_a_real_server_streams_the_answer_in_chunks(
    app: Flask, store: ImageStore, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_view, "CHUNK_BYTES", 512)
    with serve_wsgi(app) as url:
        with urllib.request.urlopen(f"{url}{AUDIT}?format=json", timeout=30) as answer:
            assert answer.status == 200
            assert answer.headers["Content-Type"] == "application/json"
            assert answer.headers["Transfer-Encoding"] == "chunked"
            assert answer.headers["Content-Length"] is None
            body = answer.read()
        with urllib.request.urlopen(f"{url}{AUDIT}?format=html", timeout=30) as answer:
            page = answer.read().decode()
    assert json.loads(body) == _expected(app, store, clock, None)
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")


# -- the bound on the audit's time -------------------------------------------------------------


class _SlowLists:
    """The store, each list page answered after ``delay`` seconds (a slow API server)."""

    def __init__(self, store: ImageStore, delay: float) -> None:
        self._store, self._delay = store, delay

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not name.startswith("list_"):
            return attribute

        def slow(*args: Any, **kwargs: Any) -> Any:
            time.sleep(self._delay)
            return attribute(*args, **kwargs)

        return slow


@pytest.mark.parametrize("output", ["json", "csv", "html"])
@pytest.mark.slow  # waits out a real deadline or timeout
def test_an_audit_over_its_bound_is_504_with_a_status_body(
    settings: Settings, store: ImageStore, clock: Clock, output: str
) -> None:
    bounded = dataclasses.replace(settings, audit_timeout_seconds=0.05)
    client = make_app(bounded, _SlowLists(store, 0.1), clock).test_client()
    response = client.get(f"{AUDIT}?format={output}")
    assert (response.status_code, response.mimetype) == (504, "application/json")
    assert response.get_json() == {
        "code": 504,
        "status": "Gateway Timeout",
        "message": "the audit did not finish within 0.05 s: audit one namespace at a time, "
        "or raise the bound (audit_timeout_seconds)",
        "errors": {},
    }
    # Within the bound, the same slow API is audited whole.
    patient = make_app(settings, _SlowLists(store, 0.1), clock).test_client()
    assert patient.get(AUDIT).get_json()["totals"]["images"] == 2  # the demo store's


def test_the_bound_is_checked_after_each_page_and_image(store: ImageStore) -> None:
    """A fake clock that moves one second a reading: the walk stops at the first check past
    the bound, with nothing returned."""
    readings = iter(range(1_000))
    seen: list[int] = []
    with pytest.raises(AuditTimeout, match=r"^the audit did not finish within 3 s: "):
        audit_image_api(
            store,
            demo_verifier(Clock()),
            policy="p",
            page_size=1,
            timeout_seconds=3,
            monotonic=lambda: float(next(readings)),
            progress=lambda done, total: seen.append(done),
        )
    # started at 0 (bound at 3): readings 1 to 3 (list pages) pass, 4 is past it: no Image
    # reported done, no reading after it
    assert seen == []
    assert next(readings) == 5
    settings = Settings(audit_timeout_seconds=0)
    with pytest.raises(InputError, match="audit_timeout_seconds: must be positive"):
        settings.validate()
