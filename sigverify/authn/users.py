"""The authenticated caller and the groups sigverify's embedded mode grants rights by."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from sigverify.errors import SigverifyError

__all__ = [
    "GROUP_ADMIN",
    "GROUP_READ",
    "GROUP_RECORD",
    "AuthUnavailable",
    "Right",
    "User",
    "right_of",
]


class AuthUnavailable(SigverifyError):
    """Who is calling, or what they may do, cannot be found out now (the review API does not
    answer): the request is refused with 503, never allowed."""


#: Verification reads, ``POST /api/v1/verify``, store REST reads, ``/metrics``.
GROUP_READ = "sigverify:read"
#: Also ``record=true`` (verify and write the conditions back).
GROUP_RECORD = "sigverify:record"
#: Also writes through the embedded store's REST.
GROUP_ADMIN = "sigverify:admin"


class Right(IntEnum):
    """What a caller may do in embedded mode; each right includes the ones below it."""

    NONE = 0
    READ = 1
    RECORD = 2
    ADMIN = 3


_RIGHTS = {GROUP_READ: Right.READ, GROUP_RECORD: Right.RECORD, GROUP_ADMIN: Right.ADMIN}


@dataclass(frozen=True)
class User:
    """``authentication.k8s.io/v1`` ``UserInfo``: who the token belongs to."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()


def right_of(user: User) -> Right:
    """The strongest right the user's groups grant."""
    return max((_RIGHTS.get(group, Right.NONE) for group in user.groups), default=Right.NONE)
