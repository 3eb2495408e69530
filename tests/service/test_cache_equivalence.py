"""The verdict cache changes no answer (issue 9): a stateful property test interleaves
posted and stored verifications, policy reloads, signature and condition writes and the
passing of time, and checks that every answer of the caching service equals the answer of
the same service with the cache off (same store, same policy file, same clock)."""

from __future__ import annotations

import copy
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from sigverify.imageapi.store.image_store import ImageStore
from sigverify.settings import Settings
from tests.imageapi.demo import (
    APP,
    APP_SIGNATURE,
    DEMO_POLICY,
    KEYS,
    PARTNER_ONLY_POLICY,
    TOOLS,
    Clock,
    seeded_store,
)
from tests.service.conftest import make_app
from tests.support.budget import examples

STREAM_IMAGES = {APP: ("demo", f"app@{APP}"), TOOLS: ("demo", f"tools@{TOOLS}")}
IDENTITIES = (
    None,
    "registry.example.com/demo/app:1.0",
    "registry.example.com/demo/tools:latest",
    f"registry.example.com/demo/app@{APP}",
    "quay.io/other/app:1.0",
)
SIGNATURE_TYPES = ("atomic", "AtomicImageV1", "Foo")
_DEMO_TEXT = DEMO_POLICY.read_text().replace("keysDirectory: ../keys", f"keysDirectory: {KEYS}")
POLICIES = (_DEMO_TEXT, PARTNER_ONLY_POLICY)


def _answer(response: Any) -> tuple[int, Any]:
    """Status and body; ``verifiedAt`` says when the verdict was computed, so a cached one
    carries its own (the demo keys never expire: nothing else in a verdict reads the time)."""
    body = response.get_json()
    if isinstance(body, dict):
        body.pop("verifiedAt", None)
    return response.status_code, body


@pytest.mark.slow
class CacheEquivalence(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="sigverify-cache-eq-"))
        self.policy = self.folder / "policy.yaml"
        self.policy.write_text(POLICIES[0])
        self.store: ImageStore = seeded_store(self.folder / "store.db")
        self.clock = Clock()
        base = Settings(
            policy=str(self.policy),
            keys=None,
            store=str(self.folder / "store.db"),
            policy_reload_seconds=0.0,
            max_body_bytes=64 * 1024,
            insecure_no_auth=True,
        )
        cached = make_app(base, self.store, self.clock)
        uncached = make_app(
            Settings(**{**base.__dict__, "cache_ttl_seconds": 0, "cache_negative_ttl_seconds": 0}),
            self.store,
            self.clock,
        )
        self.apps = (cached, uncached)
        self.cached: FlaskClient = cached.test_client()
        self.uncached: FlaskClient = uncached.test_client()
        self.app_signature = copy.deepcopy(self.store.get_image(APP)["signatures"][0])

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _both(self, call: Any) -> None:
        with_cache = _answer(call(self.cached))
        without = _answer(call(self.uncached))
        assert with_cache == without

    # -- requests ---------------------------------------------------------------------------

    @rule(
        digest=st.sampled_from(sorted(STREAM_IMAGES)),
        identity=st.sampled_from(IDENTITIES),
    )
    def get_stored(self, digest: str, identity: str | None) -> None:
        namespace, name = STREAM_IMAGES[digest]
        path = f"/api/v1/namespaces/{namespace}/imagestreamimages/{name}/verification"
        query = {"expectedIdentity": identity} if identity else {}
        self._both(lambda client: client.get(path, query_string=query))

    @rule(
        digest=st.sampled_from(sorted(STREAM_IMAGES)),
        identity=st.sampled_from(IDENTITIES),
        signature_type=st.sampled_from(SIGNATURE_TYPES),
        reference=st.sampled_from((None, "registry.example.com/demo/app:1.0")),
    )
    def post_document(
        self, digest: str, identity: str | None, signature_type: str, reference: str | None
    ) -> None:
        document = copy.deepcopy(self.store.get_image(digest))
        for signature in document.get("signatures") or []:
            signature["type"] = signature_type
        if reference is not None:
            document["dockerImageReference"] = reference
        query = {"expectedIdentity": identity} if identity else {}
        self._both(lambda client: client.post("/api/v1/verify", json=document, query_string=query))

    # -- changes ----------------------------------------------------------------------------

    @rule(which=st.sampled_from(range(len(POLICIES))))
    def reload_policy(self, which: int) -> None:
        self.policy.write_text(POLICIES[which])
        for app in self.apps:
            app.extensions["sigverify"].holder.request_reload()

    @rule(signature_type=st.sampled_from(SIGNATURE_TYPES))
    def retype_stored_signature(self, signature_type: str) -> None:
        """A writer replaces the stored app signature (delete, then create with a type)."""
        if self.store.get_image(APP).get("signatures"):
            self.store.delete_signature(APP_SIGNATURE)
        content = self.app_signature["content"]
        self.store.add_signature(
            {"metadata": {"name": APP_SIGNATURE}, "type": signature_type, "content": content}
        )

    @rule()
    def record(self) -> None:
        """A verify-and-record write through the uncached service (conditions change)."""
        path = f"/api/v1/namespaces/demo/imagestreamimages/app@{APP}/verification"
        status = self.uncached.post(path, query_string={"record": "true"}).status_code
        assert status == 200

    @rule()
    @precondition(lambda self: self.store.get_image(APP).get("signatures"))
    def remove_stored_signature(self) -> None:
        self.store.delete_signature(APP_SIGNATURE)

    @rule(seconds=st.sampled_from((1, 29, 31, 299, 301, 86400 * 400)))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)


CacheEquivalence.TestCase.settings = settings(
    max_examples=examples(60), stateful_step_count=25, deadline=None
)
TestCacheEquivalence = pytest.mark.slow(CacheEquivalence.TestCase)
