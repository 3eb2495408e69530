"""describe_user_id: the organisation is the domain after the *last* "@" of the email, as a
mail system reads it (found unpinned by mutation testing)."""

from __future__ import annotations

from sigverify.core.conditions import describe_user_id


def test_the_domain_follows_the_last_at_sign() -> None:
    assert describe_user_id("Ops <ops@team@example.com>") == ("Ops", "example.com")
