"""The HTTP API over the embedded store, in-process (Flask test client, real store, real
verifier, settable clock): verdicts and written conditions field by field, every error."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sigverify.core.verdict import ImageVerdict, Reason
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.render import verdict_to_json
from sigverify.service.schemas import VerificationSchema
from sigverify.settings import Settings
from tests.imageapi.demo import (
    APP,
    APP_SIGNATURE,
    PARTNER_ONLY_POLICY,
    TOOLS,
    TOOLS_SIGNATURES,
    Clock,
    time_text,
)
from tests.service.conftest import make_app

APP_PATH = f"/api/v1/namespaces/demo/imagestreamimages/app@{APP}/verification"
TOOLS_PATH = f"/api/v1/namespaces/demo/imagestreamimages/tools@{TOOLS}/verification"


def _error(response: Any, code: int) -> dict[str, Any]:
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert list(body) == ["code", "status", "message", "errors"]
    assert body["code"] == code and isinstance(body["message"], str) and body["message"]
    assert "trusted" not in body
    return body


def _conditions(store: ImageStore, image: str, index: int = 0) -> list[dict[str, Any]]:
    conditions: list[dict[str, Any]] = store.get_image(image)["signatures"][index]["conditions"]
    return conditions


# -- verify by reference --------------------------------------------------------------------


def test_get_verification_answers_the_verdict_without_side_effects(
    client: FlaskClient, store: ImageStore, clock: Clock
) -> None:
    before = store.get_image(APP)
    response = client.get(APP_PATH)
    assert response.status_code == 200
    body = response.get_json()
    assert body["trusted"] is True
    assert body["image"] == APP
    assert body["reference"] == f"registry.example.com/demo/app@{APP}"
    assert body["scope"] == "registry.example.com/demo"
    assert body["reason"] == "Trusted"
    assert body["verifiedAt"] == time_text(clock.now)
    assert body["recorded"] is None
    (signature,) = body["signatures"]
    assert signature["name"] == APP_SIGNATURE
    assert (signature["trusted"], signature["forImage"], signature["reason"]) == (
        True,
        True,
        "Trusted",
    )
    assert signature["signer"]["keyID"] == "0x43C6880E17BA57E9"
    assert signature["claims"]["dockerReference"] == "registry.example.com/demo/app:1.0"
    assert store.get_image(APP) == before


def test_get_verification_of_an_untrusted_image(client: FlaskClient) -> None:
    body = client.get(TOOLS_PATH).get_json()
    assert body["trusted"] is False
    assert [s["reason"] for s in body["signatures"]] == [
        "UntrustedKey",
        "DigestMismatch",
        "IdentityMismatch",
    ]
    assert body["reason"] == "IdentityMismatch"


def test_get_uses_the_cache_and_counts_it(client: FlaskClient) -> None:
    first = client.get(APP_PATH).get_json()
    second = client.get(APP_PATH).get_json()
    assert first == second
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'sigverify_verdict_cache_lookups_total{outcome="miss"} 1.0' in metrics
    assert 'sigverify_verdict_cache_lookups_total{outcome="hit"} 1.0' in metrics
    assert 'sigverify_verifications_total{reason="Trusted",result="trusted"} 2.0' in metrics
    assert "sigverify_verification_seconds_bucket" in metrics


def test_expected_identity_changes_the_scope(client: FlaskClient) -> None:
    body = client.get(
        APP_PATH, query_string={"expectedIdentity": "registry.example.com/partner/app:1.0"}
    ).get_json()
    assert body["scope"] == "registry.example.com/partner"
    assert body["trusted"] is False


def test_a_digest_prefix_resolves(client: FlaskClient) -> None:
    path = f"/api/v1/namespaces/demo/imagestreamimages/app@{APP[:16]}/verification"
    assert client.get(path).get_json()["image"] == APP


# -- verify and record ----------------------------------------------------------------------


def test_post_without_record_writes_nothing(client: FlaskClient, store: ImageStore) -> None:
    before = store.get_image(APP)
    body = client.post(APP_PATH).get_json()
    assert body["trusted"] is True and body["recorded"] is None
    assert store.get_image(APP) == before


def test_record_writes_conditions_field_by_field(
    client: FlaskClient, store: ImageStore, clock: Clock
) -> None:
    before = store.get_image(APP)
    body = client.post(APP_PATH, query_string={"record": "true"}).get_json()
    after = store.get_image(APP)
    assert body["recorded"] == {
        "written": True,
        "attempts": 1,
        "conflicts": 0,
        "resourceVersion": after["metadata"]["resourceVersion"],
    }
    now = time_text(clock.now)
    trusted, for_image = after["signatures"][0]["conditions"]
    assert trusted == {
        "type": "Trusted",
        "status": "True",
        "lastProbeTime": now,
        "lastTransitionTime": now,
        "reason": "Trusted",
        "message": trusted["message"],
    }
    assert trusted["message"].startswith("signed by 0x43C6880E17BA57E9")
    assert (for_image["type"], for_image["status"], for_image["reason"]) == (
        "ForImage",
        "True",
        "ForImage",
    )
    assert for_image["lastProbeTime"] == for_image["lastTransitionTime"] == now
    signature = after["signatures"][0]
    assert signature["imageIdentity"] == "registry.example.com/demo/app:1.0"
    assert signature["issuedTo"]["publicKeyID"] == "0x43C6880E17BA57E9"
    for key in set(before) - {"signatures", "metadata"}:
        assert after[key] == before[key]


def test_re_probe_keeps_and_flip_changes_the_transition_time(
    client: FlaskClient, store: ImageStore, clock: Clock, policy_file: Path
) -> None:
    first = time_text(clock.now)
    client.post(APP_PATH, query_string={"record": "true"})
    clock.advance(minutes=5)
    body = client.post(APP_PATH, query_string={"record": "true"}).get_json()
    assert body["recorded"]["written"] is False  # within the probe interval: no write storm
    clock.advance(minutes=10)
    body = client.post(APP_PATH, query_string={"record": "true"}).get_json()
    assert body["recorded"]["written"] is True
    for condition in _conditions(store, APP):
        assert condition["lastProbeTime"] == time_text(clock.now)
        assert condition["lastTransitionTime"] == first
    # The policy changes on disk: picked up without a restart, the status flips.
    policy_file.write_text(PARTNER_ONLY_POLICY)
    clock.advance(minutes=1)
    body = client.post(APP_PATH, query_string={"record": "true"}).get_json()
    assert body["trusted"] is False and body["recorded"]["written"] is True
    for condition in _conditions(store, APP):
        assert condition["status"] == "False"
        assert condition["lastProbeTime"] == condition["lastTransitionTime"] == time_text(clock.now)


def test_record_only_named_signatures(client: FlaskClient, store: ImageStore) -> None:
    body = client.post(
        TOOLS_PATH, query_string={"record": "true", "signature": [TOOLS_SIGNATURES[2]]}
    ).get_json()
    assert body["recorded"]["written"] is True
    signatures = store.get_image(TOOLS)["signatures"]
    assert "conditions" not in signatures[0] and "conditions" not in signatures[1]
    assert signatures[2]["conditions"][0]["reason"] == "IdentityMismatch"
    missing = client.post(TOOLS_PATH, query_string={"record": "true", "signature": "nope"})
    assert "has no signature named nope" in _error(missing, 404)["message"]


# -- posted documents -----------------------------------------------------------------------


def test_verify_a_posted_image_and_imagestreamimage(client: FlaskClient, store: ImageStore) -> None:
    image = store.get_image(APP)
    assert client.post("/api/v1/verify", json=image).get_json()["trusted"] is True
    isi = store.get_imagestreamimage("demo", f"tools@{TOOLS}")
    assert client.post("/api/v1/verify", json=isi).get_json()["reason"] == "IdentityMismatch"
    yaml_body = json.dumps(image)  # JSON is YAML
    response = client.post("/api/v1/verify", data=yaml_body, content_type="application/yaml")
    assert response.get_json()["trusted"] is True


@pytest.mark.parametrize(
    ("data", "content_type", "code"),
    [
        ("{not json", "application/json", 400),
        ("", "application/json", 400),
        ("[1, 2]", "application/json", 422),
        ('{"kind": "Image"}', "application/json", 422),
        ('{"kind": "Pod", "metadata": {"name": "x"}}', "application/json", 422),
        ("kind: Image\nmetadata: [", "application/yaml", 400),
        ("kind: Image\nkind: Image\n", "application/yaml", 400),
        ("kind: Image\nvalue: .nan\n", "application/yaml", 400),
        ("", "application/yaml", 400),
        ('{"kind": "Image", "kind": "Image"}', "application/yaml", 400),
        ("kind: Pod\nmetadata: {name: x}\n", "application/yaml", 422),
        ("<xml/>", "application/xml", 415),
        ("a=b", "application/x-www-form-urlencoded", 415),
    ],
)
def test_malformed_bodies_are_400_415_or_422(
    client: FlaskClient, data: str, content_type: str, code: int
) -> None:
    _error(client.post("/api/v1/verify", data=data, content_type=content_type), code)


def test_an_invalid_document_names_the_field(client: FlaskClient, store: ImageStore) -> None:
    image = store.get_image(APP)
    image["signatures"][0]["content"] = "***"
    body = _error(client.post("/api/v1/verify", json=image), 422)
    assert list(body["errors"]["body"]) == ["signatures[0].content"]


def test_a_too_large_body_is_413(client: FlaskClient) -> None:
    _error(client.post("/api/v1/verify", data="{" + " " * 70_000 + "}"), 413)


# -- errors of every endpoint ---------------------------------------------------------------


def test_unknown_image_stream_or_digest_is_404(client: FlaskClient) -> None:
    body = _error(client.get(APP_PATH.replace(APP, "sha256:0000")), 404)
    assert body["message"] == 'imagestreamimage.image.openshift.io "app@sha256:0000" not found'
    _error(client.get(APP_PATH.replace("/demo/", "/elsewhere/")), 404)
    _error(client.post(APP_PATH.replace("app@", "nope@"), query_string={"record": "true"}), 404)


def test_bad_stream_image_name_is_400(client: FlaskClient) -> None:
    body = _error(client.get("/api/v1/namespaces/demo/imagestreamimages/app/verification"), 400)
    assert body["message"] == "ImageStreamImages must be retrieved with <name>@<id>"


def test_bad_query_values_are_422(client: FlaskClient) -> None:
    body = _error(client.post(APP_PATH, query_string={"record": "perhaps"}), 422)
    assert body["errors"] == {"query": {"record": ["Not a valid boolean."]}}


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("DELETE", APP_PATH, 405),
        ("PUT", "/api/v1/verify", 405),
        ("GET", "/api/v1/verify", 405),
        ("POST", "/healthz", 405),
        ("POST", "/readyz", 405),
        ("POST", "/metrics", 405),
        ("GET", "/api/v1/nothing", 404),
    ],
)
def test_wrong_methods_and_paths(client: FlaskClient, method: str, path: str, code: int) -> None:
    _error(client.open(path, method=method), code)


def test_the_store_api_is_served_unless_turned_off(
    settings: Settings, store: ImageStore, clock: Clock
) -> None:
    served = make_app(settings, store, clock).test_client()
    assert served.get("/apis/image.openshift.io/v1/images").get_json()["kind"] == "ImageList"
    assert served.get("/apis").get_json()["kind"] == "APIGroupList"
    off = dataclasses.replace(settings, serve_store_api=False)
    client = make_app(off, store, clock).test_client()
    for path in ("/apis/image.openshift.io/v1/images", "/apis", "/api", "/version"):
        _error(client.get(path), 404)


# -- health, readiness, metrics, OpenAPI ----------------------------------------------------


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    body = client.get("/readyz").get_json()
    assert body["ready"] is True
    assert body["policy"]["loaded"] is True and body["policy"]["error"] is None
    assert body["imageAPI"] == {"kind": "embedded", "reachable": True, "error": None}


def test_a_broken_policy_at_start_is_not_ready(
    settings: Settings, store: ImageStore, clock: Clock, policy_file: Path
) -> None:
    policy_file.write_text("apiVersion: sigverify/v1\nkind: TrustPolicy\ndefault: []\n")
    client = make_app(settings, store, clock).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["ready"] is False and body["policy"]["loaded"] is False
    assert body["policy"]["error"]
    _error(client.get(APP_PATH), 503)


def test_a_broken_reload_keeps_the_old_policy_and_shows_the_error(
    client: FlaskClient, policy_file: Path, store: ImageStore
) -> None:
    revision = client.get("/readyz").get_json()["policy"]["revision"]
    good = policy_file.read_text()
    policy_file.write_text("this: is: not: a policy")
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["ready"] is True
    assert body["policy"]["revision"] == revision
    assert body["policy"]["error"]
    assert client.get(APP_PATH).get_json()["trusted"] is True  # old policy still in use
    policy_file.write_text(good + "\n# touched\n")
    body = client.get("/readyz").get_json()
    assert body["policy"]["error"] is None and body["policy"]["reloads"] == 2
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'sigverify_policy_reloads_total{outcome="failure"} 1.0' in metrics
    assert 'sigverify_policy_reloads_total{outcome="success"} 1.0' in metrics


def test_openapi_document(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"] == "3.0.3"
    paths = spec["paths"]
    verification = paths["/api/v1/namespaces/{namespace}/imagestreamimages/{name}/verification"]
    assert set(verification) >= {"get", "post"}
    for code in ("200", "400", "404", "422", "502", "503", "504"):
        assert code in verification["get"]["responses"]
    assert "409" in verification["post"]["responses"]
    assert {"/api/v1/verify", "/healthz", "/readyz", "/metrics"} <= set(paths)
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"code", "status", "message", "errors"}


def test_the_response_schema_covers_the_rendered_verdict(app: Flask, store: ImageStore) -> None:
    # Guard against drift between sigverify.render and the published schema.
    with app.app_context():
        verifier = app.extensions["sigverify"].holder.verifier()
    from sigverify.objects.documents import load_document

    image = load_document(store.get_image(TOOLS))
    verdict: ImageVerdict = verifier.verify_image(image)  # type: ignore[arg-type]
    rendered = verdict_to_json(verdict)
    schema = VerificationSchema()
    assert set(rendered) <= set(schema.fields)
    signature_fields = set(schema.fields["signatures"].inner.schema.fields)  # type: ignore[attr-defined]
    for signature in rendered["signatures"]:
        assert set(signature) <= signature_fields
    assert schema.dump(rendered | {"recorded": None}) == rendered | {"recorded": None}
    assert verdict.reason is Reason.IDENTITY_MISMATCH
