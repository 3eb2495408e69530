"""One signature over the size limit is that signature's InvalidSignature; the Image still
loads and its other signatures are verified as usual (issue 9)."""

from __future__ import annotations

import base64

from flask.testing import FlaskClient

from sigverify.imageapi.store.image_store import ImageStore
from sigverify.limits import MAX_SIGNATURE_BLOB_BYTES
from tests.imageapi.demo import APP, APP_SIGNATURE

APP_PATH = f"/api/v1/namespaces/demo/imagestreamimages/app@{APP}/verification"
BIG = f"{APP}@oversize"


def test_an_oversize_signature_spoils_only_itself(client: FlaskClient, store: ImageStore) -> None:
    blob = base64.b64encode(b"\x00" * (MAX_SIGNATURE_BLOB_BYTES + 1)).decode()
    store.add_signature({"metadata": {"name": BIG}, "type": "atomic", "content": blob})
    for response in (client.get(APP_PATH), client.post(APP_PATH, query_string={"record": "true"})):
        body = response.get_json()
        assert (response.status_code, body["trusted"], body["reason"]) == (200, True, "Trusted")
        signatures = {s["name"]: s for s in body["signatures"]}
        assert (signatures[APP_SIGNATURE]["trusted"], signatures[APP_SIGNATURE]["reason"]) == (
            True,
            "Trusted",
        )
        assert (
            signatures[BIG]["trusted"],
            signatures[BIG]["reason"],
            signatures[BIG]["message"],
        ) == (
            False,
            "InvalidSignature",
            f"signature blob is larger than {MAX_SIGNATURE_BLOB_BYTES} bytes",
        )
