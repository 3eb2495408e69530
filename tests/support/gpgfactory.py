"""Real GnuPG keys and real atomic-signature blobs for tests.

Everything here runs the real ``gpg`` (and ``skopeo``) binaries in throw-away homes; nothing
is mocked. Each generated key lives in its own GNUPGHOME holding only its secret key, so a
signer (gpg or skopeo) can never pick the wrong key. Keys are generated once per
:class:`GpgFactory` (the test session) and cached by :class:`KeySpec`.

Typical use (the ``gpg_factory`` fixture is a session-scoped :class:`GpgFactory`)::

    key = gpg_factory.key(KeySpec("rsa2048"))
    blob = gpg_factory.sign(key, atomic_payload(DIGEST, "example.com/ns/app:v1"))
    keyring = Keyring(load_key_file(key.public_binary))
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

__all__ = [
    "PAST_EPOCH",
    "Compression",
    "GeneratedKey",
    "GpgError",
    "GpgFactory",
    "KeySpec",
    "atomic_payload",
    "faked_time",
]

Compression = Literal["none", "zip", "zlib", "bzip2", "uncompressed-packet"]
"""``none``: no compressed-data packet at all; ``uncompressed-packet``: a compressed-data
packet with algorithm 0 (what ``gpg -z 0`` writes is no packet, so that one is hand-built)."""

#: Algorithms accepted by ``gpg --quick-gen-key``/``--quick-add-key``.
KEY_ALGORITHMS = (
    "rsa2048",
    "rsa3072",
    "rsa4096",
    "ed25519",
    "dsa1024",
    "dsa2048",
    "dsa3072",
    "nistp256",
    "nistp384",
    "nistp521",
)

#: A fixed moment in the past (2020-01-01T00:00:00Z) used to make already-expired keys.
PAST_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

_GPG_TIMEOUT = 120.0  # RSA 4096 / DSA 3072 generation may take a while on a slow machine
_ATOMIC_TYPE = "atomic container signature"


class GpgError(RuntimeError):
    """gpg or skopeo failed while preparing test material."""


def faked_time(moment: datetime) -> str:
    """The ``--faked-system-time`` value freezing gpg's clock at ``moment`` (UTC)."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S") + "!"


def atomic_payload(
    digest: str,
    reference: str,
    *,
    creator: str | None = "sigverify tests",
    timestamp: int | None = 1458239713,
    extra_optional: dict[str, object] | None = None,
) -> bytes:
    """The canonical atomic container signature JSON (containers-signature(5))."""
    optional: dict[str, object] = {}
    if creator is not None:
        optional["creator"] = creator
    if timestamp is not None:
        optional["timestamp"] = timestamp
    if extra_optional:
        optional.update(extra_optional)
    document = {
        "critical": {
            "type": _ATOMIC_TYPE,
            "image": {"docker-manifest-digest": digest},
            "identity": {"docker-reference": reference},
        },
        "optional": optional,
    }
    return json.dumps(document, separators=(",", ":")).encode()


@dataclass(frozen=True)
class KeySpec:
    """What kind of key to make. Equal specs share one generated key within a factory.

    ``algorithm``: primary key algorithm (one of ``KEY_ALGORITHMS``).
    ``signing_subkey``: add a signing-capable subkey of this algorithm (the primary keeps
    its own signing capability; sign with ``subkey=True`` to use the subkey).
    ``expired``: the primary was created at :data:`PAST_EPOCH` and expired a day later.
    ``subkey_expired``: the subkey (needs ``signing_subkey``) was created at
    :data:`PAST_EPOCH` and expired a day later; the primary stays valid.
    ``revoked``: the exported public key carries a key revocation (signing still works:
    the secret home never saw the revocation).
    ``subkey_revoked``: the exported public key carries a revocation of the subkey.
    ``expires_in_days``: the primary expires this many days from now (valid today).
    ``encryption_subkey``: add an encryption-only subkey of this algorithm (after any
    signing subkey, so it is the last of ``subkey_fingerprints``).
    ``name``: distinguishes otherwise-equal specs (for two different keys of one kind).
    ``created_at``: the primary (and any subkey) is created at this exact moment (gpg's
    clock faked); signatures are then made an hour later unless ``sign(at=...)`` says.
    ``expires_at``: with ``created_at``, the primary expires at this exact moment.
    ``subkey_expires_at``: with ``created_at`` and ``signing_subkey``, the subkey expires at
    this exact moment.
    """

    algorithm: str = "rsa2048"
    signing_subkey: str | None = None
    expired: bool = False
    subkey_expired: bool = False
    revoked: bool = False
    subkey_revoked: bool = False
    expires_in_days: int | None = None
    encryption_subkey: str | None = None
    name: str = ""
    created_at: datetime | None = None
    expires_at: datetime | None = None
    subkey_expires_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.expires_at is not None and self.created_at is None:
            raise ValueError("expires_at needs created_at")
        if self.subkey_expires_at is not None and (
            self.created_at is None or self.signing_subkey is None
        ):
            raise ValueError("subkey_expires_at needs created_at and signing_subkey")
        if self.created_at is not None and (self.expired or self.expires_in_days is not None):
            raise ValueError("created_at does not go with expired/expires_in_days")
        for algorithm in (self.algorithm, self.signing_subkey):
            if algorithm is not None and algorithm not in KEY_ALGORITHMS:
                raise ValueError(f"unknown key algorithm {algorithm!r}")
        if (self.subkey_expired or self.subkey_revoked) and not self.signing_subkey:
            raise ValueError("subkey_expired/subkey_revoked need signing_subkey")

    @property
    def label(self) -> str:
        parts = [self.algorithm]
        if self.signing_subkey:
            parts.append(f"sub-{self.signing_subkey}")
        for flag in ("expired", "subkey_expired", "revoked", "subkey_revoked"):
            if getattr(self, flag):
                parts.append(flag.replace("_", "-"))
        if self.expires_in_days is not None:
            parts.append(f"exp{self.expires_in_days}d")
        if self.created_at is not None:
            parts.append(f"c{int(self.created_at.timestamp())}")
        if self.expires_at is not None:
            parts.append(f"x{int(self.expires_at.timestamp())}")
        if self.subkey_expires_at is not None:
            parts.append(f"sx{int(self.subkey_expires_at.timestamp())}")
        if self.encryption_subkey:
            parts.append(f"enc-{self.encryption_subkey}")
        if self.name:
            parts.append(self.name)
        return "_".join(parts)


@dataclass(frozen=True)
class GeneratedKey:
    """A generated key: its secret home and its exported public key files."""

    spec: KeySpec
    user_id: str
    fingerprint: str
    key_id: str
    subkey_fingerprints: tuple[str, ...]
    home: Path = field(repr=False)
    public_binary: Path = field(repr=False)
    public_armored: Path = field(repr=False)
    #: The signing time that lies inside the key's validity (for already-expired keys).
    valid_at: datetime | None = None

    @property
    def public_material(self) -> bytes:
        return self.public_binary.read_bytes()

    @property
    def signing_subkey_fingerprint(self) -> str:
        if not self.subkey_fingerprints:
            raise ValueError(f"key {self.spec.label} has no subkey")
        return self.subkey_fingerprints[0]


def _run(
    command: list[str], *, home: Path | None, stdin: bytes = b"", timeout: float = _GPG_TIMEOUT
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TZ", "HOME")}
    env["LC_ALL"] = "C"
    if home is not None:
        env["GNUPGHOME"] = str(home)
    done = subprocess.run(
        command, input=stdin, capture_output=True, env=env, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise GpgError(
            f"{' '.join(command)} failed ({done.returncode}): "
            + done.stderr.decode("utf-8", "replace").strip()
        )
    return done


class GpgFactory:
    """Generates keys and signs payloads with real gpg; one instance per test session."""

    def __init__(self, root: Path | str | None = None) -> None:
        self._owned = root is None
        # Short paths: gpg-agent's socket path must fit in sun_path (108 bytes).
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="sv-gpg-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self._keys: dict[KeySpec, GeneratedKey] = {}
        self._homes: list[Path] = []
        self._lock = threading.Lock()
        self._counter = 0
        self.gpg = shutil.which("gpg") or "gpg"

    # -- keys -----------------------------------------------------------------------------

    def key(self, spec: KeySpec | str = "rsa2048") -> GeneratedKey:
        """The key for ``spec`` (generated on first use, then cached)."""
        if isinstance(spec, str):
            spec = KeySpec(spec)
        with self._lock:
            key = self._keys.get(spec)
            if key is None:
                key = self._generate(spec)
                self._keys[spec] = key
            return key

    def _new_home(self, prefix: str) -> Path:
        self._counter += 1
        home = self.root / f"{prefix}{self._counter}"
        home.mkdir(mode=0o700)
        self._homes.append(home)
        return home

    def _gpg(
        self, home: Path, args: list[str], stdin: bytes = b"", timeout: float = _GPG_TIMEOUT
    ) -> bytes:
        command = [
            self.gpg,
            "--homedir",
            str(home),
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            *args,
        ]
        return _run(command, home=home, stdin=stdin, timeout=timeout).stdout

    def _generate(self, spec: KeySpec) -> GeneratedKey:
        home = self._new_home("k")
        user_id = f"Test {spec.label} <{spec.label.replace('_', '.')}@sigverify.test>"
        valid_at: datetime | None = None
        primary_time: list[str] = []
        expire = "never"
        if spec.expired:
            primary_time = ["--faked-system-time", faked_time(PAST_EPOCH)]
            expire = "1d"
            valid_at = PAST_EPOCH + timedelta(hours=1)
        elif spec.expires_in_days is not None:
            expire = f"{spec.expires_in_days}d"
        elif spec.created_at is not None:
            primary_time = ["--faked-system-time", faked_time(spec.created_at)]
            if spec.expires_at is not None:
                expire = f"seconds={int((spec.expires_at - spec.created_at).total_seconds())}"
            valid_at = spec.created_at + timedelta(hours=1)
        self._gpg(home, [*primary_time, "--quick-gen-key", user_id, spec.algorithm, "sign", expire])
        fingerprint = self._fingerprints(home)[0]
        if spec.signing_subkey:
            sub_time: list[str] = []
            sub_expire = "never"
            if spec.expired:
                sub_time = ["--faked-system-time", faked_time(PAST_EPOCH + timedelta(minutes=1))]
                sub_expire = "1d"
            elif spec.created_at is not None:
                sub_time = ["--faked-system-time", faked_time(spec.created_at)]
                if spec.subkey_expires_at is not None:
                    lifetime = spec.subkey_expires_at - spec.created_at
                    sub_expire = f"seconds={int(lifetime.total_seconds())}"
            elif spec.subkey_expired:
                # Valid for one second from its creation: signatures are then made at that
                # very second (valid_at) and the key is expired by the time tests use it.
                sub_expire = "seconds=1"
            self._gpg(
                home,
                [
                    *sub_time,
                    "--quick-add-key",
                    fingerprint,
                    _subkey_algo(spec.signing_subkey),
                    "sign",
                    sub_expire,
                ],
            )
            if spec.subkey_expired and not spec.expired:
                valid_at = self._subkey_created(home)
        if spec.encryption_subkey:
            self._gpg(
                home, ["--quick-add-key", fingerprint, spec.encryption_subkey, "encr", "never"]
            )
        fingerprints = self._fingerprints(home)
        if spec.subkey_expired and not spec.expired:
            while datetime.now(UTC) < valid_at + timedelta(seconds=2):  # type: ignore[operator]
                time.sleep(0.2)
        public_home = home
        if spec.revoked or spec.subkey_revoked:
            public_home = self._revoked_public_home(home, fingerprint, spec)
        binary = self.root / f"{spec.label}.gpg"
        armored = self.root / f"{spec.label}.asc"
        binary.write_bytes(self._gpg(public_home, ["--export", fingerprint]))
        armored.write_bytes(self._gpg(public_home, ["--armor", "--export", fingerprint]))
        return GeneratedKey(
            spec=spec,
            user_id=user_id,
            fingerprint=fingerprint,
            key_id=fingerprint[-16:],
            subkey_fingerprints=tuple(fingerprints[1:]),
            home=home,
            public_binary=binary,
            public_armored=armored,
            valid_at=valid_at,
        )

    def _fingerprints(self, home: Path) -> list[str]:
        listing = self._gpg(home, ["--with-colons", "--fixed-list-mode", "--list-secret-keys"])
        return [
            line.split(":")[9] for line in listing.decode().splitlines() if line.startswith("fpr:")
        ]

    def _subkey_created(self, home: Path) -> datetime:
        listing = self._gpg(home, ["--with-colons", "--fixed-list-mode", "--list-keys"])
        for line in listing.decode().splitlines():
            if line.startswith("sub:"):
                return datetime.fromtimestamp(int(line.split(":")[5]), tz=UTC)
        raise GpgError("no subkey listed")

    def _revoked_public_home(self, home: Path, fingerprint: str, spec: KeySpec) -> Path:
        """A copy of the key where the public side carries the revocation(s).

        The signing home keeps the unrevoked key so test blobs can still be made with it,
        as an attacker holding a revoked key could.
        """
        copy = self._new_home("r")
        for name in ("pubring.kbx", "trustdb.gpg"):
            if (home / name).exists():
                shutil.copy2(home / name, copy / name)
        shutil.copytree(home / "private-keys-v1.d", copy / "private-keys-v1.d")
        if spec.revoked:
            certificate = (home / "openpgp-revocs.d" / f"{fingerprint}.rev").read_text()
            # gpg prefixes the armor line with ':' so the stored certificate is not
            # imported by accident; remove it to import on purpose.
            certificate = certificate.replace(
                ":-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----BEGIN PGP PUBLIC KEY BLOCK-----"
            )
            self._gpg(copy, ["--import"], stdin=certificate.encode())
        if spec.subkey_revoked:
            commands = "key 1\nrevkey\ny\n0\n\ny\nsave\n"
            self._gpg(
                copy,
                ["--command-fd", "0", "--status-fd", "2", "--edit-key", fingerprint],
                stdin=commands.encode(),
            )
        return copy

    # -- signing --------------------------------------------------------------------------

    def sign(
        self,
        key: GeneratedKey,
        payload: bytes,
        *,
        compression: Compression = "zip",
        textmode: bool = False,
        filename: str | None = None,
        subkey: bool = False,
        signing_key: str | None = None,
        sig_expire: str | None = None,
        at: datetime | None = None,
        digest_algo: str | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> bytes:
        """``gpg --sign`` (binary, not detached) of ``payload`` with ``key``.

        ``subkey``: sign with the first subkey (``FPR!``); ``signing_key``: any explicit
        ``--local-user`` value. ``sig_expire``: ``--default-sig-expire`` (e.g. ``"1d"`` or
        ``"seconds=1"``). ``at``: faked signing time (defaults to ``key.valid_at``).
        """
        if signing_key is None:
            signing_key = f"{key.signing_subkey_fingerprint}!" if subkey else f"{key.fingerprint}!"
        args = ["--local-user", signing_key, "--sign"]
        when = at if at is not None else key.valid_at
        if when is not None:
            args += ["--faked-system-time", faked_time(when)]
        if compression == "none" or compression == "uncompressed-packet":
            args += ["--compress-algo", "none"]
        else:
            args += ["--compress-algo", compression]
        if textmode:
            args.append("--textmode")
        if filename is not None:
            args += ["--set-filename", filename]
        if sig_expire is not None:
            args += ["--ask-sig-expire", "--default-sig-expire", sig_expire]
        if digest_algo is not None:
            args += ["--digest-algo", digest_algo]
        args += list(extra_args)
        blob = self._gpg(key.home, [*args, "--output", "-"], stdin=payload)
        if compression == "uncompressed-packet":
            blob = wrap_in_compressed_packet(blob, algorithm=0)
        return blob

    def skopeo_sign(
        self, key: GeneratedKey, manifest: Path, reference: str, *, subkey: bool = False
    ) -> bytes:
        """``skopeo standalone-sign`` (containers/image's own signer) with ``key``."""
        fingerprint = key.signing_subkey_fingerprint if subkey else key.fingerprint
        with tempfile.TemporaryDirectory(prefix="sv-skopeo-") as scratch:
            output = Path(scratch) / "signature"
            _run(
                [
                    "skopeo",
                    "standalone-sign",
                    str(manifest),
                    reference,
                    fingerprint,
                    "-o",
                    str(output),
                ],
                home=key.home,
            )
            return output.read_bytes()

    def skopeo_verify(
        self, manifest: Path, reference: str, fingerprint: str, signature: bytes, keyring: bytes
    ) -> bool:
        """``skopeo standalone-verify`` against a home holding only ``keyring``."""
        home = self._new_home("v")
        self._gpg(home, ["--import"], stdin=keyring)
        sig = home / "signature"
        sig.write_bytes(signature)
        try:
            _run(
                ["skopeo", "standalone-verify", str(manifest), reference, fingerprint, str(sig)],
                home=home,
            )
        except GpgError:
            return False
        return True

    def close(self) -> None:
        """Stop every gpg-agent this factory started (by home) and remove the files."""
        for home in self._homes:
            subprocess.run(
                ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
                capture_output=True,
                check=False,
                timeout=30,
            )
        if self._owned:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> GpgFactory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _subkey_algo(algorithm: str) -> str:
    # For subkeys gpg reads a bare NIST curve name as ECDH; ask for ECDSA explicitly.
    return f"{algorithm}/ecdsa" if algorithm.startswith("nistp") else algorithm


def _new_format_packet(tag: int, body: bytes) -> bytes:
    length = len(body)
    if length < 192:
        header = bytes([length])
    elif length < 8384:
        length -= 192
        header = bytes([(length >> 8) + 192, length & 0xFF])
    else:
        header = b"\xff" + length.to_bytes(4, "big")
    return bytes([0xC0 | tag]) + header + body


def wrap_in_compressed_packet(message: bytes, *, algorithm: int = 0) -> bytes:
    """Wrap a whole message in a compressed-data packet (tag 8).

    Only algorithm 0 (stored) is built here: the other algorithms come from gpg itself.
    """
    if algorithm != 0:
        raise ValueError("only the uncompressed (0) algorithm is hand-built")
    return _new_format_packet(8, bytes([algorithm]) + message)
