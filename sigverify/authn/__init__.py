"""Who is calling: face-neutral authentication material shared by the service and the CLI.

- :mod:`~sigverify.authn.users`: the authenticated caller (``User``) and sigverify's groups.
- :mod:`~sigverify.authn.tokenfile`: kube-apiserver's static token file
  (``--token-auth-file``), compared in constant time.
- :mod:`~sigverify.authn.statedir`: the state folder ``serve`` keeps its generated admin
  token, CA and serving certificate in, and where clients find them.
- :mod:`~sigverify.authn.kube`: ``TokenReview`` and ``SubjectAccessReview`` against the
  cluster (delegated authentication and authorization, docs/domain.md §8).

Deciding what a request needs and answering 401/403 belongs to the faces (the service).
"""
