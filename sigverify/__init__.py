"""sigverify: verify OpenShift image signatures against a trust policy.

The library, without the CLI::

    import sigverify

    policy = sigverify.load_policy("policies/demo.yaml")
    with open("examples/demo/app-signed.json", "rb") as handle:
        verdict = sigverify.verify_document(handle.read(), policy)
    print(verdict.trusted, verdict.reason, verdict.message)
    for signature in verdict.signatures:
        print(signature.name, signature.reason, signature.signer)

:func:`verify_document` never raises for an untrusted image: the verdict says why, per
signature (:class:`SignatureVerdict`). It raises :class:`InputError` for a document it cannot
read and :class:`PolicyError` for a policy it cannot use; every error it raises on purpose is
a :class:`SigverifyError`. For many images, build one :class:`Verifier` with
:func:`verifier_for` and call :meth:`Verifier.verify_image` (or the raising gate
:meth:`Verifier.require_trusted`) on each.

The names are loaded on first use, so ``import sigverify`` stays cheap for the CLI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from sigverify.core.verdict import (
        ImageVerdict,
        Reason,
        SignatureRejected,
        SignatureVerdict,
        Signer,
    )
    from sigverify.engine.verifier import BACKENDS, Verifier, make_backend
    from sigverify.errors import (
        BackendError,
        ClusterError,
        InputError,
        PolicyError,
        SigverifyError,
        UntrustedImage,
    )
    from sigverify.objects.types import Image, ImageStreamImage
    from sigverify.policyfile.holder import verifier_for
    from sigverify.policyfile.loader import LoadedPolicy, load_policy

__all__ = [
    "BACKENDS",
    "BackendError",
    "ClusterError",
    "Image",
    "ImageStreamImage",
    "ImageVerdict",
    "InputError",
    "LoadedPolicy",
    "PolicyError",
    "Reason",
    "SignatureRejected",
    "SignatureVerdict",
    "Signer",
    "SigverifyError",
    "UntrustedImage",
    "Verifier",
    "__version__",
    "load_policy",
    "make_backend",
    "verifier_for",
    "verify_document",
]

__version__ = "0.1.0"

_HOMES = {
    "ImageVerdict": "sigverify.core.verdict",
    "Reason": "sigverify.core.verdict",
    "SignatureRejected": "sigverify.core.verdict",
    "SignatureVerdict": "sigverify.core.verdict",
    "Signer": "sigverify.core.verdict",
    "BACKENDS": "sigverify.engine.verifier",
    "Verifier": "sigverify.engine.verifier",
    "make_backend": "sigverify.engine.verifier",
    "BackendError": "sigverify.errors",
    "ClusterError": "sigverify.errors",
    "InputError": "sigverify.errors",
    "PolicyError": "sigverify.errors",
    "SigverifyError": "sigverify.errors",
    "UntrustedImage": "sigverify.errors",
    "Image": "sigverify.objects.types",
    "ImageStreamImage": "sigverify.objects.types",
    "verifier_for": "sigverify.policyfile.holder",
    "LoadedPolicy": "sigverify.policyfile.loader",
    "load_policy": "sigverify.policyfile.loader",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'sigverify' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def verify_document(
    document: bytes | str | dict[str, Any] | Image | ImageStreamImage,
    policy: LoadedPolicy | str | Path,
    *,
    backend: str = "auto",
    expected_identity: str | None = None,
) -> ImageVerdict:
    """Verify one Image or ImageStreamImage against a policy and return the verdict.

    ``document``: the object as ``oc get -o json|yaml`` prints it (bytes or text, read with
    the same strict reader as the CLI), a parsed mapping, or a typed object. ``policy``: a
    :class:`LoadedPolicy` or the path of a policy file (native or containers-policy.json).
    ``backend``: ``auto``, ``native`` or ``gnupg``. ``expected_identity``: the reference used
    for the scope lookup and the identity rules (default: the Image's
    ``dockerImageReference``).
    """
    from sigverify.objects.documents import image_of, parse_document_bytes
    from sigverify.policyfile.holder import verifier_for
    from sigverify.policyfile.loader import LoadedPolicy, load_policy

    loaded = policy if isinstance(policy, LoadedPolicy) else load_policy(policy)
    if isinstance(document, str):
        document = document.encode()
    if isinstance(document, bytes):
        document = parse_document_bytes(document, source="document")
    image = image_of(document)
    verifier = verifier_for(loaded, backend)
    try:
        return verifier.verify_image(image, expected_identity=expected_identity)
    finally:
        verifier.backend.close()
