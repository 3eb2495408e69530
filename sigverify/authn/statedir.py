"""The state folder of ``sigverify serve``: its generated admin token, CA and serving certificate.

Without ``--token-auth-file`` the server makes one random admin token; without a certificate
it makes a CA and a serving certificate signed by it (kubectl and client libraries send bearer
tokens only over HTTPS). Both live in the state folder — ``--state-dir``, else
``$XDG_STATE_HOME/sigverify``, else ``~/.local/state/sigverify``, never the working
directory — created 0700, secrets written 0600 and never logged. Clients on the same account
(``verify --server``, ``reconcile --server``) find the token and the CA there.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sigverify.errors import InputError

__all__ = [
    "ADMIN_TOKEN_FILE",
    "CA_CERT_FILE",
    "SERVING_CERT_FILE",
    "ClientCredentials",
    "ServingFiles",
    "admin_token_path",
    "client_credentials",
    "ensure_admin_token",
    "ensure_serving_certificate",
    "read_admin_token",
    "state_dir",
]

ADMIN_TOKEN_FILE = "admin.token"  # noqa: S105 - a file name, not a secret
CA_CERT_FILE = "ca.crt"
_CA_KEY_FILE = "ca.key"
SERVING_CERT_FILE = "tls.crt"
_SERVING_KEY_FILE = "tls.key"
_MAX_TOKEN_BYTES = 4096
_CERT_DAYS = 365


def state_dir(explicit: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """``explicit``, else ``$XDG_STATE_HOME/sigverify``, else ``~/.local/state/sigverify``.

    A relative ``$XDG_STATE_HOME`` is ignored (the XDG base directory specification); with no
    home either, this is an error, never the working directory.
    """
    if explicit:
        return Path(explicit).absolute()
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_STATE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "sigverify"
    home = env.get("HOME", "")
    if not home or not os.path.isabs(home):
        raise InputError(
            "no state folder: set --state-dir, $XDG_STATE_HOME or $HOME (an absolute path)"
        )
    return Path(home) / ".local" / "state" / "sigverify"


def _private_folder(folder: Path) -> Path:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create the state folder: {exc.strerror or exc}", path=str(folder)
        ) from exc
    return folder


def _write_secret(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 (never over an existing file)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _check_private(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(
            f"readable by others (mode {stat.S_IMODE(mode):04o}); make it 0600", path=str(path)
        )


def admin_token_path(folder: Path) -> Path:
    return folder / ADMIN_TOKEN_FILE


def ensure_admin_token(folder: Path) -> Path:
    """The admin token file in ``folder``, made (random, 0600) when missing."""
    path = admin_token_path(_private_folder(folder))
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it first
            _write_secret(path, (secrets.token_urlsafe(32) + "\n").encode("ascii"))
    read_admin_token(path)
    return path


def read_admin_token(path: Path) -> str:
    """The token in ``path`` (refused when others may read it, or when it is malformed)."""
    try:
        _check_private(path)
        with open(path, "rb") as handle:
            data = handle.read(_MAX_TOKEN_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read the token: {exc.strerror or exc}", path=str(path)) from exc
    try:
        token = data.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise InputError("the token is not ASCII text", path=str(path)) from exc
    if not token or len(data) > _MAX_TOKEN_BYTES or any(c.isspace() for c in token):
        raise InputError("not a token (one line of visible ASCII)", path=str(path))
    return token


@dataclass(frozen=True)
class ServingFiles:
    ca_cert: Path
    cert: Path
    key: Path


def _hosts_of(host: str) -> list[str]:
    names = ["localhost", "127.0.0.1", "::1"]
    if host and host not in ("0.0.0.0", "::") and host not in names:  # noqa: S104 - compared, not bound
        names.append(host)
    return names


def ensure_serving_certificate(folder: Path, host: str) -> ServingFiles:
    """A CA and a serving certificate it signed, for localhost and ``host``, made once."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    _private_folder(folder)
    files = ServingFiles(
        folder / CA_CERT_FILE, folder / SERVING_CERT_FILE, folder / _SERVING_KEY_FILE
    )
    if files.ca_cert.exists() and files.cert.exists() and files.key.exists():
        _check_private(files.key)
        return files
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sigverify serving CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alternatives: list[x509.GeneralName] = []
    for name in _hosts_of(host):
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alternatives.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sigverify")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def pem_key(private: ec.EllipticCurvePrivateKey) -> bytes:
        return private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    for path in (files.ca_cert, folder / _CA_KEY_FILE, files.cert, files.key):
        path.unlink(missing_ok=True)  # a partial set from an interrupted start is made again
    _write_secret(folder / _CA_KEY_FILE, pem_key(ca_key))
    _write_secret(files.key, pem_key(key))
    _write_secret(files.cert, cert.public_bytes(serialization.Encoding.PEM))
    _write_secret(files.ca_cert, ca.public_bytes(serialization.Encoding.PEM))
    return files


@dataclass(frozen=True)
class ClientCredentials:
    """What a client on this account sends to ``sigverify serve``."""

    token: str | None
    #: The state folder's CA, when there is one.
    ca_file: Path | None
    #: The token is the state folder's admin token: it may go only to a server whose
    #: certificate that CA signed (trust nothing else, or it could reach another server).
    ca_only: bool


def client_credentials(
    token: str | None, environ: Mapping[str, str] | None = None, folder: str | None = None
) -> ClientCredentials:
    """``token`` (``--token``), else ``$SIGVERIFY_TOKEN``, else the state folder's admin token."""
    env = os.environ if environ is None else environ
    try:
        state = state_dir(folder, env)
    except InputError:
        state = None
    ca = state / CA_CERT_FILE if state is not None and (state / CA_CERT_FILE).is_file() else None
    token = token or env.get("SIGVERIFY_TOKEN") or None
    if token is not None:
        return ClientCredentials(token, ca, ca_only=False)
    if state is not None and ca is not None and admin_token_path(state).is_file():
        return ClientCredentials(read_admin_token(admin_token_path(state)), ca, ca_only=True)
    return ClientCredentials(None, ca, ca_only=False)
