"""Embedded mode: tokens from a static token file (or the generated admin token), rights
from the groups ``sigverify:read``, ``sigverify:record`` and ``sigverify:admin``."""

from __future__ import annotations

from sigverify.authn.tokenfile import StaticTokens
from sigverify.authn.users import User, right_of
from sigverify.service.auth.needs import Need

__all__ = ["GroupRights", "TokenFileAuthenticator"]


class TokenFileAuthenticator:
    def __init__(self, tokens: StaticTokens) -> None:
        self._tokens = tokens

    def authenticate(self, token: str) -> User | None:
        return self._tokens.authenticate(token)


class GroupRights:
    """Allowed when the user's strongest group right covers the request's."""

    def allowed(self, user: User, need: Need) -> bool:
        return right_of(user) >= need.right
