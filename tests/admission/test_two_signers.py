"""The admission webhook on an image that meets one of two signedBy requirements (issue 15):
denied, with the unmet requirement's reason and the unmet requirement named."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sigverify.imageapi.openshift import ClusterOptions, connect
from tests.admission.builders import pod_spec, review, workload
from tests.admission.world import WEB, Keys, post, service_with_webhook, serving

TWO_SIGNERS_POLICY = """\
apiVersion: sigverify/v1
kind: TrustPolicy
keysDirectory: keys
default:
  - type: reject
scopes:
  quay.io/acme:
    - type: signedBy
      keys: ["{acme}"]
    - type: signedBy
      keys: ["{partner}"]
"""


def key_id(fingerprint: str) -> str:
    return "0x" + fingerprint[-16:]


@pytest.fixture(scope="module")
def webhook(
    store_url: str, admission_keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    root = tmp_path_factory.mktemp("two-signers")
    (root / "keys").mkdir()
    for name in ("acme", "partner"):
        (root / "keys" / f"{name}.gpg").write_bytes(getattr(admission_keys, name).public_material)
    policy = root / "policy.yaml"
    policy.write_text(
        TWO_SIGNERS_POLICY.format(
            acme=admission_keys.acme.fingerprint, partner=admission_keys.partner.fingerprint
        )
    )
    api = connect(ClusterOptions(server=store_url, timeout=5))
    app, controller = service_with_webhook(policy, api)
    with serving(app) as url:
        yield url
    controller.close()
    api.close()


def test_one_of_two_required_signers_is_denied_naming_the_unmet_requirement(
    webhook: str, admission_keys: Keys
) -> None:
    image = f"quay.io/acme/web@{WEB}"  # signed by acme only
    status, body = post(
        f"{webhook}/admission/validate", review(workload("Pod", pod_spec((image,))))
    )
    assert status == 200, body
    response = body["response"]
    acme = key_id(admission_keys.acme.fingerprint)
    partner = key_id(admission_keys.partner.fingerprint)
    assert response["allowed"] is False
    assert response["status"] == {
        "code": 403,
        "message": (
            f'sigverify denied Pod team/web: image "{image}" at spec.containers[0] (c0) is not '
            f"trusted [UntrustedKey]: signatures seen: {acme} (UntrustedKey); scope "
            f'"quay.io/acme" requires: signedBy {partner} (matchRepoDigestOrExact)'
        ),
    }
    assert response["auditAnnotations"]["reason"] == "UntrustedKey"
    [verdict] = json.loads(response["auditAnnotations"]["verdicts"])
    assert (verdict["image"], verdict["result"], verdict["passed"]) == (
        image,
        "UntrustedKey",
        False,
    )
