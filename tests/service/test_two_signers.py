"""The HTTP API on an image that meets one of two signedBy requirements (issue 15): the
verdict is untrusted with the unmet requirement's reason, and ``?record=true`` writes the
signature's ``Trusted`` condition False with that reason."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from sigverify.imageapi.store.image_store import ImageStore
from tests.imageapi.demo import APP, Clock, time_text
from tests.support.two_signers import (
    PARTNER_REQUIREMENT,
    RELEASE_REQUIREMENT,
    UNMET,
    both_signers_policy,
)

APP_PATH = f"/api/v1/namespaces/demo/imagestreamimages/app@{APP}/verification"


def test_verification_is_untrusted_and_records_trusted_false(
    client: FlaskClient, store: ImageStore, clock: Clock, policy_file: Path
) -> None:
    policy_file.write_text(both_signers_policy())
    response = client.post(APP_PATH, query_string={"record": "true"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["trusted"], body["reason"]) == (False, "UntrustedKey")
    assert f"is not trusted (scope registry.example.com/demo): {UNMET}" in body["message"]
    assert [(r["requirement"], r["satisfied"]) for r in body["requirements"]] == [
        (RELEASE_REQUIREMENT, True),
        (PARTNER_REQUIREMENT, False),
    ]
    assert [(s["trusted"], s["reason"]) for s in body["signatures"]] == [(False, "UntrustedKey")]
    assert body["recorded"]["written"] is True

    trusted, for_image = store.get_image(APP)["signatures"][0]["conditions"]
    now = time_text(clock.now)
    assert trusted == {
        "type": "Trusted",
        "status": "False",
        "lastProbeTime": now,
        "lastTransitionTime": now,
        "reason": "UntrustedKey",
        "message": body["signatures"][0]["message"],
    }
    assert (for_image["status"], for_image["reason"]) == ("True", "ForImage")


def test_posted_image_gets_the_same_verdict(
    client: FlaskClient, store: ImageStore, policy_file: Path
) -> None:
    policy_file.write_text(both_signers_policy())
    body = client.post("/api/v1/verify", json=store.get_image(APP)).get_json()
    assert (body["trusted"], body["reason"]) == (False, "UntrustedKey")
