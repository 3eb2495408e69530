"""``sigverify audit`` over the sample store with a scope that needs both demo keys (issue 15):
the reason table never counts a denied image as Trusted, and the release key, which one
requirement accepted, is still shown as trusted in that scope."""

from __future__ import annotations

from pathlib import Path

from sigverify.audit.report import AuditedImage, ScopeRow, SignerScope, build_report
from sigverify.cli._common import build_verifier
from sigverify.cli.audit import audit_image_api
from sigverify.core.verdict import Reason
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.objects.documents import load_document
from sigverify.objects.types import Image
from tests.imageapi.demo import APP, TOOLS, seeded_store
from tests.support.two_signers import (
    PARTNER_REQUIREMENT,
    RELEASE_KEY,
    RELEASE_REQUIREMENT,
    UNMET,
    both_signers_policy,
)


def test_reason_table_rows_and_signers(tmp_path: Path) -> None:
    seeded_store(tmp_path / "store.db")
    policy = tmp_path / "policy.yaml"
    policy.write_text(both_signers_policy())
    verifier = build_verifier(str(policy), None, "native")
    try:
        report = audit_image_api(ImageStore(tmp_path / "store.db"), verifier, policy="policy.yaml")
    finally:
        verifier.backend.close()

    rows = {row.image: row for row in report.images}
    assert (rows[APP].trusted, rows[APP].reason) == (False, Reason.UNTRUSTED_KEY)
    assert f"is not trusted (scope registry.example.com/demo): {UNMET}" in rows[APP].message
    assert rows[TOOLS].trusted is False
    assert Reason.TRUSTED not in dict(report.reasons)
    assert Reason.TRUSTED not in dict(report.signature_reasons)
    assert report.totals.trusted == 0 and report.totals.denied == 2
    assert report.scopes == (
        ScopeRow("registry.example.com/demo", (RELEASE_REQUIREMENT, PARTNER_REQUIREMENT), 2, 0, 2),
    )
    [release] = [s for s in report.signers if s.public_key_id == RELEASE_KEY]
    # Its two signatures on the tools image are for another digest and another identity:
    # only the app image counts (issue 13).
    assert release.images == 1
    assert release.scopes == (SignerScope("registry.example.com/demo", 1, True),)


def test_a_key_one_requirement_accepted_is_trusted_in_the_scope(tmp_path: Path) -> None:
    # Only the app image: its lone signature is reported UntrustedKey (for the partner's
    # requirement), yet the release key *is* trusted in that scope.
    policy = tmp_path / "policy.yaml"
    policy.write_text(both_signers_policy())
    image = load_document(seeded_store(tmp_path / "store.db").get_image(APP))
    assert isinstance(image, Image)
    verifier = build_verifier(str(policy), None, "native")
    try:
        verdict = verifier.verify_image(image)
    finally:
        verifier.backend.close()
    report = build_report([AuditedImage(verdict)], policy="policy.yaml")
    [release] = report.signers
    assert release.public_key_id == RELEASE_KEY
    assert release.scopes == (SignerScope("registry.example.com/demo", 1, True),)
    assert report.reasons == ((Reason.UNTRUSTED_KEY, 1),)
