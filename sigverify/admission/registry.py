"""Images with no Image object: decided by their scope alone, or from their registry.

Two steps, in this order, so that nothing is fetched that the decision does not need:

1. The engine judges the image with no signatures at all. A scope that accepts anything
   (``insecureAcceptAnything``) admits it and one that rejects everything denies it: no
   lookup, no network call.
2. A scope that needs signatures: the image's registry is asked (manifest by digest, then
   the lookaside registries.d names and the signatures extension, sigverify.sources) —
   only when ``admission.registries.enabled`` and only if the host is one the trust policy's
   scopes, registries.d or ``allowedHosts`` name. A pod spec is written by whoever may
   create pods: any other host is never contacted (no SSRF), and the image is decided
   without a network call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

from sigverify.admission.decide import CheckReason, ImageResult
from sigverify.admission.pullsecrets import Auths, PullSecrets
from sigverify.admission.resolve import Resolution, ResolutionKind
from sigverify.core.policy import Policy
from sigverify.core.reference import DockerReference, ReferenceError, parse_reference
from sigverify.core.verdict import ImageVerdict, Reason
from sigverify.engine.cache import CacheMiss, VerdictCache
from sigverify.engine.protocol import ImageVerifier
from sigverify.objects.types import Image, ObjectMeta
from sigverify.policyfile.admission import RegistryAccess
from sigverify.sources import (
    RegistryImage,
    SourceError,
    SourceOptions,
    fetch_image,
    label_sources,
)
from sigverify.sources.registries_d import RegistriesConfig, load_registries_d
from sigverify.sources.transport import host_of

__all__ = ["RegistryGate", "bare_image", "check_without_image", "hosts_named_by"]


def bare_image(reference: DockerReference) -> Image:
    """The image as the engine sees it when nothing is known of it but its reference."""
    return Image(
        metadata=ObjectMeta(name=reference.digest or ""),
        docker_image_reference=str(reference),
    )


def _scope_host(scope: str) -> str | None:
    """The registry a policy or registries.d scope names (``*.domain`` kept as is)."""
    if scope.startswith("*."):
        return scope
    try:
        reference = parse_reference(scope.split("@", 1)[0])
    except ReferenceError:
        host = scope.split("/", 1)[0]
        return host if ("." in host or ":" in host or host == "localhost") else None
    return reference.domain if "/" in scope or reference.domain == scope else None


def hosts_named_by(policy: Policy | None, registries: RegistriesConfig) -> frozenset[str]:
    """Every registry host (or ``*.domain``) the policy's scopes and registries.d name, and
    the hosts of the lookaside URLs registries.d names."""
    scopes = [*(policy.scopes if policy is not None else ()), *registries.docker]
    hosts = {host for scope in scopes if (host := _scope_host(scope)) is not None}
    hosts.update(host_of(url) for url in registries.urls() if url.startswith("http"))
    return frozenset(hosts)


def _matches(host: str, allowed: frozenset[str]) -> bool:
    if host in allowed:
        return True
    bare = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return any(
        entry.startswith("*.") and bare.endswith(entry[1:]) and bare != entry[2:]
        for entry in allowed
    )


@dataclass
class _Loaded:
    access: RegistryAccess
    registries: RegistriesConfig


class RegistryGate:
    """The allow-list and the lookup, for one admission configuration at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    def _registries(self, access: RegistryAccess) -> RegistriesConfig:
        with self._lock:
            if self._loaded is None or self._loaded.access is not access:
                folder = Path(access.registries_d) if access.registries_d else None
                self._loaded = _Loaded(access, load_registries_d(folder))
            return self._loaded.registries

    def allowed(self, access: RegistryAccess, policy: Policy | None) -> Callable[[str], bool]:
        """``host[:port]`` → may the webhook contact it."""
        named = hosts_named_by(policy, self._registries(access)) | access.allowed_hosts
        if "docker.io" in named:  # served from registry-1.docker.io (sources.registry.api_host)
            named |= {"registry-1.docker.io"}
        return lambda host: _matches(host, named)

    def fetch(
        self,
        reference: DockerReference,
        access: RegistryAccess,
        allowed: Callable[[str], bool],
        seconds_left: float,
        auths: Auths = (),
    ) -> RegistryImage:
        """The image and its signatures from its registry, within ``seconds_left``;
        ``auths`` (the pod's pull secrets) before ``authFile``."""
        certs = Path(access.certs_directory, reference.domain)
        return fetch_image(
            reference,
            SourceOptions(
                authfile=access.auth_file,
                tls_verify=access.tls_verify,
                cert_dir=certs if certs.is_dir() else None,
                timeout=min(access.timeout_seconds, seconds_left),
                deadline=seconds_left,
                retries=1,
                allowed=allowed,
                registries=self._registries(access),
                auths=auths,
            ),
        )

    def permits(self, reference: DockerReference, allowed: Callable[[str], bool]) -> bool:
        return allowed(host_of(f"https://{reference.domain}/"))


def check_without_image(
    resolution: Resolution,
    *,
    verifier: ImageVerifier,
    cache: VerdictCache[ImageVerdict],
    key_of: Callable[[Image, str], Hashable],
    access: RegistryAccess,
    gate: RegistryGate,
    seconds_left: Callable[[], float],
    cached_only: bool,
    pull_secrets: PullSecrets | None = None,
) -> ImageResult | None:
    """The result for an image the cluster has no Image for, or None to let the caller's
    own rule stand (signatures are needed and the registry is not to be asked)."""
    reference = resolution.reference
    if reference is None:
        return None
    bare = verifier.verify_image(bare_image(reference), expected_identity=str(reference))
    if bare.reason in (Reason.ACCEPTED, Reason.REJECTED):
        # The scope decides without signatures: no lookup at all.
        return ImageResult(
            passed=bare.trusted,
            reason=bare.reason.value,
            detail=bare.message,
            verdict=bare,
            digest=reference.digest,
            via=f"scope {bare.scope or 'default'} (no lookup)",
        )
    if resolution.kind is not ResolutionKind.NOT_FOUND or not access.enabled:
        return None  # an unpinned tag keeps its rule: a registry tag can move after admission
    # The Verifier has the policy; a stand-in without one allows only the configured hosts.
    policy = getattr(verifier, "policy", None)
    allowed = gate.allowed(access, policy if isinstance(policy, Policy) else None)
    if not gate.permits(reference, allowed):
        return ImageResult(
            passed=False,
            reason=CheckReason.IMAGE_NOT_FOUND.value,
            detail=(
                f"{resolution.message}; registry {reference.domain} is not on the admission "
                "allow-list, so it was not asked"
            ),
            digest=reference.digest,
            via=resolution.via,
        )
    if cached_only:
        raise CacheMiss(reference)  # the network belongs on the pool, under the deadline
    identity = f"{reference.name}@{reference.digest}"
    # A failed lookup is never cached: a pod whose pull secrets open the registry is never
    # answered by a failure another pod (with none, or other ones) met. Only verdicts are,
    # keyed by what they depend on (digest, signature contents, policy, identity), never by
    # the credentials that fetched the signatures.
    auths = pull_secrets.auths() if pull_secrets is not None else ()
    try:
        fetched = gate.fetch(reference, access, allowed, max(0.0, seconds_left()), auths)
    except SourceError as exc:
        return ImageResult(
            passed=False,
            reason=CheckReason.REGISTRY_UNAVAILABLE.value,
            detail=f"its registry could not answer: {exc}",
            digest=reference.digest,
            via=f"registry {reference.domain}",
            unavailable=True,
        )
    key = key_of(fetched.image, identity)
    verdict, _ = cache.get_or_compute(
        key,
        lambda: verifier.verify_image(fetched.image, expected_identity=identity),
        timeout=max(0.0, seconds_left()),
    )
    verdict = label_sources(verdict, fetched.sources)
    return ImageResult(
        passed=verdict.trusted,
        reason=verdict.reason.value,
        detail=verdict.message,
        verdict=verdict,
        digest=fetched.digest,
        via=f"registry {reference.domain}",
    )
