"""The reference backend: GnuPG, driven through python-gnupg.

Each backend owns a private GNUPGHOME holding exactly the policy's keys (never the user's
keyring). Every blob first passes the shared structural reader (limits, exactly one
signature, no encryption), then gpg verifies it "as of" the given time. GnuPG's status lines
(doc/DETAILS) decide the outcome; python-gnupg's own summary is not trusted for that.
"""

from __future__ import annotations

import subprocess
import threading
from datetime import UTC, datetime
from typing import Any

import gnupg

from sigverify.core.verdict import Reason, SignatureRejected, Signer, format_key_id
from sigverify.errors import BackendError
from sigverify.limits import GPG_TIMEOUT_SECONDS, MAX_PAYLOAD_BYTES
from sigverify.openpgp.backend import VerifiedMessage
from sigverify.openpgp.gpghome import GpgHome, gpg_binary, gpg_environment
from sigverify.openpgp.keyring import Keyring
from sigverify.openpgp.packets import parse_signed_message

__all__ = ["GnuPGBackend"]

_VERIFY_OPTIONS = [
    "--no-autostart",
    "--no-auto-key-retrieve",
    "--no-auto-key-locate",
    "--trust-model",
    "always",
    "--keyid-format",
    "long",
]


class _TimedGPG(gnupg.GPG):  # type: ignore[misc]
    """python-gnupg with a per-process deadline: a gpg that hangs is killed."""

    def __init__(self, timeout: float, **kwargs: Any) -> None:
        self._timeout = timeout
        self._local = threading.local()
        super().__init__(**kwargs)

    def _open_subprocess(self, args: Any, passphrase: bool = False) -> subprocess.Popen[bytes]:
        process: subprocess.Popen[bytes] = super()._open_subprocess(args, passphrase)
        state = {"timed_out": False}

        def _kill() -> None:
            state["timed_out"] = True
            process.kill()

        timer = threading.Timer(self._timeout, _kill)
        timer.daemon = True
        timer.start()
        self._local.timer = timer
        self._local.state = state
        return process

    def finish(self) -> bool:
        """Stop the deadline of this thread's last gpg run; True when it had fired."""
        timer = getattr(self._local, "timer", None)
        if timer is not None:
            timer.cancel()
        state = getattr(self._local, "state", {"timed_out": False})
        return bool(state["timed_out"])


class GnuPGBackend:
    """Verifies blobs with gpg in an isolated home that holds only ``keyring``'s keys."""

    name = "gnupg"

    def __init__(self, keyring: Keyring, *, timeout: float = GPG_TIMEOUT_SECONDS) -> None:
        self.keyring = keyring
        self._home = GpgHome(timeout=timeout)
        try:
            if len(keyring):
                imported = self._home.run(["--import"], stdin=keyring.material())
                if imported.returncode not in (0, 2):
                    raise BackendError("gpg could not import the policy's keys")
            self._gpg = _TimedGPG(
                timeout,
                gpgbinary=gpg_binary(),
                gnupghome=self._home.path,
                options=_VERIFY_OPTIONS,
                env=gpg_environment(self._home.path),
                # Status lines echo unsigned, attacker-chosen bytes (the literal file name):
                # latin-1 decodes any byte, so python-gnupg's reader thread cannot die on them.
                encoding="latin-1",
            )
        except (OSError, ValueError) as exc:
            self._home.close()
            raise BackendError(f"cannot start GnuPG: {exc}") from exc
        except BackendError:
            self._home.close()
            raise

    def verify(self, blob: bytes, *, now: datetime) -> VerifiedMessage:
        # Structure first (sizes, packet counts, exactly one signature, not encrypted), so gpg
        # never sees a compression bomb or an encrypted message.
        parse_signed_message(blob)
        epoch = int(now.timestamp())
        try:
            result = self._gpg.decrypt(blob, extra_args=["--faked-system-time", f"{epoch}!"])
        except (OSError, ValueError) as exc:
            raise BackendError(f"gpg failed: {exc}") from exc
        finally:
            timed_out = self._gpg.finish()
        if timed_out:
            raise BackendError("gpg did not finish in time")
        stderr = getattr(result, "stderr", None)
        if not isinstance(stderr, str):
            raise BackendError("gpg's status output could not be read")
        status = _status_lines(stderr)
        payload = result.data if isinstance(result.data, bytes) else b""
        return _judge(status, payload, self.keyring)

    def close(self) -> None:
        self._home.close()

    def __enter__(self) -> GnuPGBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _status_lines(stderr: str) -> list[list[str]]:
    return [
        line[len("[GNUPG:] ") :].split(" ")
        for line in stderr.splitlines()
        if line.startswith("[GNUPG:] ")
    ]


def _judge(status: list[list[str]], payload: bytes, keyring: Keyring) -> VerifiedMessage:
    """Turn gpg's status lines into a verified message or a rejection (doc/DETAILS)."""
    keywords = [line[0] for line in status if line]
    signatures = keywords.count("NEWSIG")
    if any(k in keywords for k in ("ENC_TO", "BEGIN_DECRYPTION", "DECRYPTION_FAILED")):
        raise SignatureRejected(Reason.NO_SIGNATURE, "the blob is encrypted, not signed")
    if signatures == 0:
        raise SignatureRejected(Reason.NO_SIGNATURE, "the blob carries no signature")
    if signatures > 1:
        raise SignatureRejected(
            Reason.MULTIPLE_SIGNATURES, f"the blob carries {signatures} signatures, not one"
        )
    fields = {line[0]: line[1:] for line in status if line}
    if "ERRSIG" in fields:
        errsig = fields["ERRSIG"]
        key_id = errsig[0] if errsig else "?"
        if "NO_PUBKEY" in fields or (len(errsig) > 5 and errsig[5] == "9"):
            raise SignatureRejected(
                Reason.UNKNOWN_KEY,
                f"signed by key {format_key_id(key_id)}, which is not in the policy's keyring",
                key_id=key_id,
            )
        raise SignatureRejected(
            Reason.INVALID_SIGNATURE,
            f"gpg could not check the signature by {key_id}",
        )
    if "BADSIG" in fields:
        claimed = format_key_id(fields["BADSIG"][0])
        raise SignatureRejected(
            Reason.INVALID_SIGNATURE,
            f"bad signature: the blob was altered or not made by {claimed}",
        )
    if "REVKEYSIG" in fields:
        raise SignatureRejected(
            Reason.KEY_REVOKED,
            f"signed by key {format_key_id(fields['REVKEYSIG'][0])}, which is revoked",
        )
    if "EXPKEYSIG" in fields:
        raise SignatureRejected(
            Reason.KEY_EXPIRED,
            f"signed by key {format_key_id(fields['EXPKEYSIG'][0])}, which has expired",
        )
    if "EXPSIG" in fields:
        raise SignatureRejected(Reason.SIGNATURE_EXPIRED, "the signature has expired")
    if "GOODSIG" not in fields or "VALIDSIG" not in fields:
        raise SignatureRejected(Reason.INVALID_SIGNATURE, "gpg did not report a good signature")
    validsig = fields["VALIDSIG"]
    if len(validsig) < 10:
        raise SignatureRejected(Reason.INVALID_SIGNATURE, "gpg reported an incomplete signature")
    signing_fingerprint = validsig[0].upper()
    primary_fingerprint = validsig[9].upper()
    key = keyring.owner_of(primary_fingerprint)
    if key is None or key.fingerprint != primary_fingerprint:
        raise SignatureRejected(
            Reason.UNKNOWN_KEY, f"signed by {primary_fingerprint}, which is not in the keyring"
        )
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise SignatureRejected(Reason.INVALID_SIGNATURE, "the signed payload is too large")
    created = datetime.fromtimestamp(int(validsig[2]), tz=UTC)
    expires = int(validsig[3]) if validsig[3].isdigit() else 0
    return VerifiedMessage(
        payload=payload,
        signer=Signer(
            fingerprint=key.fingerprint,
            key_id=key.key_id,
            signing_key_fingerprint=signing_fingerprint,
            user_id=key.primary_user_id,
        ),
        signature_created=created,
        signature_expires=datetime.fromtimestamp(expires, tz=UTC) if expires else None,
    )
