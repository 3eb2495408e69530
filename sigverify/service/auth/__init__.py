"""Who may call the HTTP API, and what each request needs (docs/service.md, "Security").

- :mod:`.needs`: what a request touches, as Kubernetes authorization attributes and as
  sigverify's embedded-mode right.
- :mod:`.gate`: the ``before_request`` check: a bearer token → a user (static token file,
  generated admin token, or ``TokenReview``) → allowed (rights, or ``SubjectAccessReview``),
  else a Kubernetes ``Status`` 401/403 (503 when the review API cannot answer; never allow).

The admission webhook's endpoints are not behind bearer tokens (the API server calls them;
``--admission-client-ca`` checks its client certificate instead).
"""

from sigverify.service.auth.gate import Authenticator, Authorizer, AuthUnavailable, install_auth

__all__ = ["AuthUnavailable", "Authenticator", "Authorizer", "install_auth"]
