"""Which authentication the service runs with, from its settings.

- ``insecure_no_auth``: none (loopback only; settings refuse anything else), loudly logged.
- ``token_auth_file``: that static token file, rights by group.
- a cluster image API (``--kubeconfig``, in-cluster): ``TokenReview`` and
  ``SubjectAccessReview`` against it (delegated, as kube-rbac-proxy does).
- otherwise (the embedded store): one admin token generated in the state folder.
"""

from __future__ import annotations

import logging

from flask import Flask

from sigverify.authn.statedir import ensure_admin_token, read_admin_token, state_dir
from sigverify.authn.tokenfile import StaticTokens, load_token_file
from sigverify.authn.users import GROUP_ADMIN, User
from sigverify.service.auth.client_cert import install_admission_client_check
from sigverify.service.auth.embedded import GroupRights, TokenFileAuthenticator
from sigverify.service.auth.gate import install_auth
from sigverify.settings import Settings

__all__ = ["ADMIN_USER", "configure_auth"]

_log = logging.getLogger("sigverify.service.auth")

#: The user the generated admin token names.
ADMIN_USER = User(name="sigverify-admin", uid="sigverify-admin", groups=(GROUP_ADMIN,))


def configure_auth(app: Flask, settings: Settings) -> str:
    """Install the request check the settings call for; returns the mode's name."""
    if settings.admission_client_ca:
        install_admission_client_check(app)
    if settings.insecure_no_auth:
        _log.warning(
            "AUTHENTICATION IS OFF (--insecure-no-auth): anyone who reaches %s may read every "
            "verification, record verdicts and write the store; for local experiments only",
            settings.host,
        )
        return "none"
    if settings.token_auth_file:
        tokens = load_token_file(settings.token_auth_file)
        install_auth(app, TokenFileAuthenticator(tokens), GroupRights())
        return "token-file"
    if settings.uses_cluster:
        from sigverify.service.auth.cluster import cluster_auth

        authenticator, authorizer = cluster_auth(settings)
        install_auth(app, authenticator, authorizer)
        return "cluster"
    path = ensure_admin_token(state_dir(settings.state_dir))
    tokens = StaticTokens({read_admin_token(path): ADMIN_USER})
    install_auth(app, TokenFileAuthenticator(tokens), GroupRights())
    return "admin-token"
