"""A ready kubeconfig for ``sigverify serve``'s embedded store: kubectl, oc and client libraries.

``sigverify serve --print-kubeconfig`` prints it, and ``serve`` writes it as ``kubeconfig``
(0600: it holds the admin token) in the state folder once it listens, with the port it got.
It names the HTTPS server, its CA (the state folder's, inline as
``certificate-authority-data``) and the generated admin token — kubectl sends a bearer token
only over HTTPS. A server with a certificate of its own (``--tls-cert``) is named without a
CA: the system's trust store decides, as for any server. Without authentication
(``--insecure-no-auth``) the kubeconfig names a plain-HTTP server and no user credentials.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sigverify.authn.statedir import (
    CA_CERT_FILE,
    SERVING_CERT_FILE,
    admin_token_path,
    read_admin_token,
)
from sigverify.errors import InputError

__all__ = [
    "KUBECONFIG_FILE",
    "KubeconfigTarget",
    "embedded_kubeconfig",
    "render_kubeconfig",
    "server_url",
    "write_kubeconfig",
]

KUBECONFIG_FILE = "kubeconfig"
#: The names inside the kubeconfig: one cluster, one user, one context.
CLUSTER_NAME = "sigverify"
USER_NAME = "sigverify-admin"


@dataclass(frozen=True)
class KubeconfigTarget:
    """What a kubeconfig for one server says."""

    server: str
    #: The CA certificate (PEM) that signed the server's, None to trust the system's store.
    ca_pem: bytes | None
    #: The bearer token, None for a server without authentication.
    token: str | None


def server_url(host: str, port: int, *, tls: bool) -> str:
    """The URL a client on this machine uses: a wildcard address becomes loopback."""
    if port <= 0:
        raise InputError("the kubeconfig needs the port: give --port (not 0)")
    if host in ("", "0.0.0.0"):  # noqa: S104 - compared, not bound
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{port}"


def _scalar(value: str) -> str:
    # A JSON string is a YAML double-quoted scalar: no quoting rule of YAML to get wrong.
    return json.dumps(value)


def render_kubeconfig(target: KubeconfigTarget) -> str:
    """The kubeconfig (``apiVersion: v1``, ``kind: Config``) as YAML text."""
    cluster = [f"    server: {_scalar(target.server)}"]
    if target.ca_pem is not None:
        data = base64.b64encode(target.ca_pem).decode("ascii")
        cluster.append(f"    certificate-authority-data: {_scalar(data)}")
    user = "  user: {}"
    if target.token is not None:
        user = f"  user:\n    token: {_scalar(target.token)}"
    lines = [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        f"- name: {_scalar(CLUSTER_NAME)}",
        "  cluster:",
        *cluster,
        "users:",
        f"- name: {_scalar(USER_NAME)}",
        user,
        "contexts:",
        f"- name: {_scalar(CLUSTER_NAME)}",
        "  context:",
        f"    cluster: {_scalar(CLUSTER_NAME)}",
        f"    user: {_scalar(USER_NAME)}",
        f"current-context: {_scalar(CLUSTER_NAME)}",
        "preferences: {}",
    ]
    return "\n".join(lines) + "\n"


def write_kubeconfig(folder: Path, text: str) -> Path:
    """Write ``text`` as ``folder/kubeconfig``, mode 0600, replacing the file atomically."""
    path = folder / KUBECONFIG_FILE
    partial = folder / f".{KUBECONFIG_FILE}.{os.getpid()}"
    try:
        partial.unlink(missing_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InputError(
            f"cannot write the kubeconfig: {exc.strerror or exc}", path=str(path)
        ) from exc
    return path


def embedded_kubeconfig(
    folder: Path, url: str, *, tls_cert: str | None, authenticated: bool = True
) -> str:
    """The kubeconfig of a server whose admin token (and, unless it was given a certificate
    of its own, CA) are in the state folder ``folder``."""
    token = read_admin_token(admin_token_path(folder)) if authenticated else None
    ca_pem = None
    generated = folder / SERVING_CERT_FILE
    if tls_cert and Path(tls_cert).absolute() == generated.absolute():
        try:
            ca_pem = (folder / CA_CERT_FILE).read_bytes()
        except OSError as exc:
            raise InputError(
                f"cannot read the CA: {exc.strerror or exc}", path=str(folder / CA_CERT_FILE)
            ) from exc
    return render_kubeconfig(KubeconfigTarget(url, ca_pem, token))
