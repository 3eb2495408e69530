"""Trusted public keys: loading key files and naming keys by fingerprint or key ID.

Key files (binary or ASCII-armored OpenPGP public keys) are judged as GnuPG judges them
(expiry, revocation, capabilities): a plain certificate is read in-process
(:mod:`sigverify.openpgp._cert_reader`, which gives GnuPG's listing or declines), and every
other file by GnuPG itself in a throw-away home. Each key keeps its own material, so a backend
can be built from precisely the keys a policy names.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from sigverify.core.verdict import format_key_id
from sigverify.errors import BackendError, PolicyError
from sigverify.limits import MAX_KEY_FILE_BYTES

__all__ = ["Keyring", "PublicKey", "Subkey", "load_key_data", "load_key_file", "load_keys_dir"]

KEY_FILE_SUFFIXES = (".gpg", ".asc", ".pub", ".key", ".pgp")
_FINGERPRINT = re.compile(r"[0-9A-F]{40}")
_KEY_ID = re.compile(r"[0-9A-F]{16}")


@dataclass(frozen=True)
class Subkey:
    fingerprint: str
    key_id: str
    algorithm: int
    created: datetime
    expires: datetime | None
    revoked: bool
    can_sign: bool


@dataclass(frozen=True)
class PublicKey:
    """One OpenPGP certificate (primary key, user IDs, subkeys) as GnuPG sees it."""

    fingerprint: str
    key_id: str
    algorithm: int
    created: datetime
    expires: datetime | None
    revoked: bool
    can_sign: bool
    user_ids: tuple[str, ...]
    subkeys: tuple[Subkey, ...]
    material: bytes = field(repr=False)
    source: str = ""

    @property
    def public_key_id(self) -> str:
        return format_key_id(self.key_id)

    @property
    def primary_user_id(self) -> str | None:
        return self.user_ids[0] if self.user_ids else None

    def fingerprints(self) -> Iterator[str]:
        yield self.fingerprint
        for subkey in self.subkeys:
            yield subkey.fingerprint


def normalize_key_name(name: str) -> str:
    """Canonical upper-case hex of a fingerprint or key ID: spaces and a ``0x`` dropped."""
    text = name.strip().replace(" ", "").upper()
    if text.startswith("0X"):
        text = text[2:]
    return text


class Keyring:
    """An immutable set of public keys with lookup by fingerprint or 64-bit key ID."""

    def __init__(self, keys: Iterable[PublicKey] = ()) -> None:
        merged: dict[str, PublicKey] = {}
        for key in keys:
            merged.setdefault(key.fingerprint, key)
        self._keys = tuple(sorted(merged.values(), key=lambda k: k.fingerprint))
        self._by_fingerprint: dict[str, PublicKey] = {}
        for key in self._keys:
            for fingerprint in key.fingerprints():
                self._by_fingerprint[fingerprint] = key

    @property
    def keys(self) -> tuple[PublicKey, ...]:
        return self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[PublicKey]:
        return iter(self._keys)

    def __contains__(self, fingerprint: object) -> bool:
        return isinstance(fingerprint, str) and fingerprint in self._by_fingerprint

    def owner_of(self, fingerprint: str) -> PublicKey | None:
        """The certificate whose primary key or subkey has ``fingerprint``."""
        return self._by_fingerprint.get(fingerprint.upper())

    def resolve(self, name: str) -> PublicKey:
        """The one key named by a full fingerprint or a 64-bit key ID (``0x…`` accepted).

        A name that matches no key, or (for a key ID) more than one, is a policy error.
        """
        text = normalize_key_name(name)
        if _FINGERPRINT.fullmatch(text):
            key = self._by_fingerprint.get(text)
            if key is None:
                raise PolicyError(f"no key file holds the key with fingerprint {text}")
            return key
        if _KEY_ID.fullmatch(text):
            matches = {
                key.fingerprint: key
                for fingerprint, key in self._by_fingerprint.items()
                if fingerprint.endswith(text)
            }
            if not matches:
                raise PolicyError(f"no key file holds the key with key ID {format_key_id(text)}")
            if len(matches) > 1:
                raise PolicyError(
                    f"key ID {format_key_id(text)} is ambiguous: it matches "
                    + ", ".join(sorted(matches))
                )
            return next(iter(matches.values()))
        raise PolicyError(
            f"{name!r} is neither a 40-hex-digit fingerprint nor a 16-hex-digit key ID"
        )

    def subset(self, fingerprints: Iterable[str]) -> Keyring:
        return Keyring(k for k in self._keys if k.fingerprint in set(fingerprints))

    def union(self, other: Keyring) -> Keyring:
        return Keyring((*self._keys, *other.keys))

    def material(self) -> bytes:
        """All keys' exported material, concatenated (an OpenPGP keyring)."""
        return b"".join(key.material for key in self._keys)

    @property
    def revision(self) -> str:
        """A content hash: changes whenever any key (or its signatures) changes."""
        digest = hashlib.sha256()
        for key in self._keys:
            digest.update(hashlib.sha256(key.material).digest())
        return digest.hexdigest()


def load_key_data(data: bytes, source: str = "<data>") -> list[PublicKey]:
    """Parse OpenPGP public key material (binary or armored) into :class:`PublicKey` s."""
    if len(data) > MAX_KEY_FILE_BYTES:
        raise PolicyError(f"{source}: key data is larger than {MAX_KEY_FILE_BYTES} bytes")
    if not data.strip():
        raise PolicyError(f"{source}: key data is empty")
    from sigverify.openpgp._cert_reader import Unsure, read_certificates
    from sigverify.openpgp.native import _math_check

    try:
        return read_certificates(data, source, _math_check)
    except Unsure:
        return load_key_data_with_gpg(data, source)


def load_key_data_with_gpg(data: bytes, source: str = "<data>") -> list[PublicKey]:
    """:func:`load_key_data` by GnuPG alone (import, list, export in a throw-away home)."""
    from sigverify.openpgp.gpghome import GpgHome

    if len(data) > MAX_KEY_FILE_BYTES:
        raise PolicyError(f"{source}: key data is larger than {MAX_KEY_FILE_BYTES} bytes")
    if not data.strip():
        raise PolicyError(f"{source}: key data is empty")
    with GpgHome() as home:
        imported = home.run(["--import-options", "import-minimal", "--import"], stdin=data)
        listing = home.run(["--with-colons", "--fixed-list-mode", "--list-keys"])
        if listing.returncode != 0:
            raise BackendError(f"{source}: gpg could not list keys")
        keys = _parse_colons(listing.stdout.decode("utf-8", "replace"), source)
        if not keys:
            detail = imported.stderr.decode("utf-8", "replace").strip().splitlines()
            hint = f" ({detail[-1]})" if detail else ""
            raise PolicyError(f"{source}: no OpenPGP public key found{hint}")
        exported = []
        for key in keys:
            result = home.run(["--export", key.fingerprint])
            if result.returncode != 0 or not result.stdout:
                raise BackendError(f"{source}: gpg could not export {key.fingerprint}")
            exported.append(replace(key, material=result.stdout))
        return exported


def load_key_file(path: str | Path) -> list[PublicKey]:
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_KEY_FILE_BYTES:
            raise PolicyError(f"{file}: key file is larger than {MAX_KEY_FILE_BYTES} bytes")
        data = file.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{file}: cannot read key file: {exc.strerror or exc}") from exc
    return load_key_data(data, str(file))


def load_keys_dir(directory: str | Path) -> Keyring:
    """Every key file (``*.gpg``, ``*.asc``, ``*.pub``, ``*.key``, ``*.pgp``) in ``directory``."""
    folder = Path(directory)
    if not folder.is_dir():
        raise PolicyError(f"{folder}: key directory does not exist")
    keys: list[PublicKey] = []
    for file in sorted(folder.iterdir()):
        if file.is_file() and file.suffix.lower() in KEY_FILE_SUFFIXES:
            keys.extend(load_key_file(file))
    return Keyring(keys)


def _timestamp(field_value: str) -> datetime | None:
    if not field_value:
        return None
    return datetime.fromtimestamp(int(field_value), tz=UTC)


@dataclass
class _KeyLine:
    """One ``pub``/``sub`` record of a colon listing, its ``fpr`` line and user IDs."""

    key_id: str
    algorithm: int
    created: datetime
    expires: datetime | None
    revoked: bool
    can_sign: bool
    fingerprint: str = ""
    user_ids: list[str] = field(default_factory=list)
    subkeys: list[_KeyLine] = field(default_factory=list)

    def subkey(self) -> Subkey:
        return Subkey(
            self.fingerprint,
            self.key_id,
            self.algorithm,
            self.created,
            self.expires,
            self.revoked,
            self.can_sign,
        )

    def public_key(self, source: str) -> PublicKey:
        return PublicKey(
            fingerprint=self.fingerprint,
            key_id=self.key_id,
            algorithm=self.algorithm,
            created=self.created,
            expires=self.expires,
            revoked=self.revoked,
            can_sign=self.can_sign,
            user_ids=tuple(self.user_ids),
            subkeys=tuple(sub.subkey() for sub in self.subkeys),
            material=b"",
            source=source,
        )


def _parse_colons(listing: str, source: str) -> list[PublicKey]:
    """Parse ``gpg --with-colons --fixed-list-mode`` output (doc/DETAILS in GnuPG)."""
    primaries: list[_KeyLine] = []
    last: _KeyLine | None = None
    for line in listing.splitlines():
        fields = line.split(":")
        kind = fields[0]
        if kind in ("pub", "sub"):
            record = _KeyLine(
                key_id=fields[4].upper(),
                algorithm=int(fields[3] or 0),
                created=_timestamp(fields[5]) or datetime.fromtimestamp(0, tz=UTC),
                expires=_timestamp(fields[6]),
                revoked=fields[1] == "r",
                can_sign="s" in fields[11],
            )
            if kind == "pub":
                primaries.append(record)
            elif primaries:
                primaries[-1].subkeys.append(record)
            last = record
        elif kind == "fpr" and last is not None and not last.fingerprint:
            last.fingerprint = fields[9].upper()
        elif kind == "uid" and primaries and fields[1] != "r":
            primaries[-1].user_ids.append(_unescape(fields[9]))
    return [primary.public_key(source) for primary in primaries]


def _unescape(text: str) -> str:
    # doc/DETAILS: user IDs in colon listings are C-escaped (\x3a for ':').
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text)
