"""kube-apiserver's static token file (``--token-auth-file``), read strictly.

Each line is CSV: ``token,user,uid[,"group1,group2"]`` (kube-apiserver
``plugin/pkg/authenticator/token/tokenfile``). Unlike kube-apiserver, which skips an empty
token and lets a repeated one win, both are refused: a token file is trusted configuration
and an ambiguous one must not start a server. Tokens are kept as SHA-256 digests and every
lookup compares against every entry with :func:`hmac.compare_digest`, so neither a match
nor its position shows in the time an answer takes.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from pathlib import Path

from sigverify.authn.users import User
from sigverify.errors import InputError
from sigverify.strict_input import StrictInputError, Wording, decode_text

__all__ = ["MAX_TOKEN_FILE_BYTES", "StaticTokens", "load_token_file"]

MAX_TOKEN_FILE_BYTES = 1024 * 1024
_WORDING = Wording(
    invalid_json="",
    invalid_yaml="",
    not_a_number="",
    duplicate_key="",
    too_deep="",
    empty="",
    too_large="the token file is larger than {limit} bytes",
    not_utf8="the token file is not valid UTF-8 (byte {start})",
)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class StaticTokens:
    """Tokens and the users they name."""

    def __init__(self, entries: dict[str, User]) -> None:
        if not entries:
            raise InputError("a token file must name at least one token")
        self._entries = [(_digest(token), user) for token, user in entries.items()]

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, token: str) -> User | None:
        """The user ``token`` names, or None; constant time in the token's value."""
        wanted = _digest(token)
        found: User | None = None
        for digest, user in self._entries:
            if hmac.compare_digest(digest, wanted):
                found = user
        return found


def parse_token_file(text: str, *, source: str) -> StaticTokens:
    entries: dict[str, User] = {}
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise InputError(f"not valid CSV: {exc}", path=source) from exc
    for number, row in enumerate(rows, start=1):
        if not row:
            continue  # an empty line, as Go's encoding/csv skips it
        where = f"{source}:{number}"
        if len(row) < 3:
            raise InputError(
                f"a token line needs at least 3 columns (token, user name, user uid), found "
                f"{len(row)}",
                path=where,
            )
        token, name, uid = row[0], row[1], row[2]
        if not token:
            raise InputError("the token is empty", path=where)
        if not name:
            raise InputError("the user name is empty", path=where)
        if token in entries:
            raise InputError("this token is already given on an earlier line", path=where)
        groups = tuple(g for g in row[3].split(",") if g) if len(row) >= 4 else ()
        entries[token] = User(name=name, uid=uid, groups=groups)
    return StaticTokens(entries)


def load_token_file(path: str | Path) -> StaticTokens:
    """Read ``path``; :class:`InputError` naming the file and line for anything wrong."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_TOKEN_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(
            f"cannot read the token file: {exc.strerror or exc}", path=str(path)
        ) from exc
    try:
        text = decode_text(data, _WORDING, max_bytes=MAX_TOKEN_FILE_BYTES)
    except StrictInputError as exc:
        raise InputError(exc.message, path=str(path)) from exc
    return parse_token_file(text, source=str(path))
