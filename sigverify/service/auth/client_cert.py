"""The admission webhook's callers: with ``--admission-client-ca``, only a caller that
presented a client certificate signed by that CA (verified in the TLS handshake) reaches
``/admission/…`` — the API server, configured (AdmissionConfiguration ``kubeConfigFile``) to
present one. Anything else is a 401 ``Status``; a server that cannot tell (no TLS socket) fails
closed."""

from __future__ import annotations

import logging
import ssl

from flask import Flask, Response, request

from sigverify.service.auth.gate import status_response
from sigverify.service.auth.needs import ADMISSION_PREFIX

__all__ = ["install_admission_client_check", "peer_subject"]

_log = logging.getLogger("sigverify.service.auth")


def peer_subject() -> str | None:
    """The verified client certificate's subject CN (or "" without one), None without TLS."""
    sock = request.environ.get("gunicorn.socket")
    if not isinstance(sock, ssl.SSLSocket):
        return None
    certificate = sock.getpeercert()
    if not certificate:
        return ""
    subject: tuple[tuple[tuple[str, str], ...], ...] = certificate.get("subject", ())  # type: ignore[assignment]
    names = [value for rdn in subject for key, value in rdn if key == "commonName"]
    return names[0] if names else "<no common name>"


def install_admission_client_check(app: Flask) -> None:
    def check() -> Response | None:
        if not request.path.startswith(ADMISSION_PREFIX):
            return None
        subject = peer_subject()
        if subject:
            return None
        _log.warning(
            "denied 401: admission caller without a client certificate from the admission "
            "client CA: method=%s path=%s",
            request.method,
            request.path,
        )
        return status_response(
            401, "Unauthorized", "Unauthorized: a client certificate is required"
        )

    app.before_request(check)
