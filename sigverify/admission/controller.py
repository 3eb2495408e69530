"""Runs one admission: find the images, resolve and verify them under a deadline, decide.

Every distinct image string of the request is resolved (one image API fetch each) and
verified in parallel on a bounded thread pool; the request waits for all of them until the
internal deadline (``deadlineSeconds``, below the webhook's ``timeoutSeconds``). Whatever has
not answered by then is judged *unavailable*: denied in enforce mode (fail closed) unless its
scope is ``failOpen``. The API server therefore always gets our answer — with a message that
says what happened — rather than its own timeout.

Admission never writes to the cluster (``sideEffects: None``): the verdict cache is the only
state it keeps, and recording conditions on Images is the reconciler's job.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import Any

from sigverify.admission.decide import (
    CheckReason,
    Decision,
    ImageCheck,
    ImageResult,
    allow,
    decide,
    deny_malformed,
)
from sigverify.admission.metrics import AdmissionMetrics
from sigverify.admission.modes import ImageTreatment, treatment_for
from sigverify.admission.pullsecrets import PullSecrets, SecretReader
from sigverify.admission.registry import RegistryGate, check_without_image
from sigverify.admission.resolve import (
    ImageLookup,
    Resolution,
    ResolutionKind,
    Resolver,
    parse_text,
)
from sigverify.admission.review import AdmissionRequest, AdmissionResponse
from sigverify.admission.workloads import ImageUse, changed_images, pod_spec, pod_spec_path
from sigverify.core.clock import utcnow
from sigverify.core.reference import DockerReference, ReferenceError
from sigverify.core.verdict import ImageVerdict
from sigverify.engine.cache import (
    CachedImageLookup,
    CacheMiss,
    Lookup,
    Origin,
    VerdictCache,
    compact_key,
    verdict_key,
)
from sigverify.engine.protocol import ImageVerifier
from sigverify.errors import BackendError, ClusterError, InputError, PolicyError
from sigverify.objects.documents import image_of
from sigverify.objects.types import Image
from sigverify.policyfile.admission import AdmissionConfig, UnpinnedTags

__all__ = ["AdmissionController"]

CHECKED_OPERATIONS = frozenset({"CREATE", "UPDATE"})
_log = logging.getLogger("sigverify.admission")
_IMAGE_FIELDS = ("image", "digest", "result", "mode", "scope")


def _log_decision(
    webhook: str, request: AdmissionRequest, decision: Decision, seconds: float
) -> None:
    """One line per admission decision (docs/admission.md, "Logs"): who, what, each image's
    verdict and mode, the decision and why, and how long it took."""
    if not _log.isEnabledFor(logging.INFO):
        return
    annotations = decision.response.audit_annotations
    fields = {
        "webhook": webhook,
        "uid": request.uid,
        "namespace": request.namespace,
        "kind": request.kind.kind,
        "name": request.name,
        "operation": request.operation,
        "decision": decision.decision,
        "allowed": decision.response.allowed,
        "reason": decision.reason,
        "images": [{k: e[k] for k in _IMAGE_FIELDS if k in e} for e in decision.images],
        "latencyMs": round(seconds * 1000, 3),
    }
    if request.dry_run:
        fields["dryRun"] = True
    if "exempt" in annotations:
        fields["exempt"] = annotations["exempt"]
    _log.info("admission %s", decision.decision, extra={"fields": fields})


class AdmissionController:
    """The admission webhook's logic, independent of HTTP."""

    @property
    def config(self) -> AdmissionConfig:
        source = self._config_source
        return source if isinstance(source, AdmissionConfig) else source()

    def __init__(
        self,
        config: AdmissionConfig | Callable[[], AdmissionConfig],
        image_api: ImageLookup,
        verifier: Callable[[], ImageVerifier],
        *,
        metrics: AdmissionMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utcnow,
    ) -> None:
        # A callable source follows policy reloads (modes, exemptions, deadline); cache sizes,
        # registry hosts and workers are read once, here.
        self._config_source = config
        config = self.config
        self.metrics = metrics if metrics is not None else AdmissionMetrics()
        self._verifier = verifier
        hosts = config.internal_registry_hosts
        # Pull secrets and service accounts come from the cluster client, when it reads them
        # (the embedded store has none: pods then have no pull credentials but authFile).
        self._secrets = image_api if isinstance(image_api, SecretReader) else None
        # The cached-only resolver answers warm admissions on the request's own thread; only
        # what needs the API or the verifier goes to the pool, under the deadline.
        self._cached_resolver: Resolver | None = None
        if config.cache.image_ttl_seconds > 0:
            cached = CachedImageLookup(
                image_api,
                ttl_seconds=config.cache.image_ttl_seconds,
                max_entries=config.cache.max_entries,
                clock=clock,
                on_lookup=self.metrics.count_image_lookup,
            )
            image_api = cached
            self._cached_resolver = Resolver(cached.cached_only(), hosts)
        self._resolver = Resolver(image_api, hosts)
        self._clock = clock
        self._wall_clock = wall_clock  # the time bucket of verdict cache keys
        self.cache: VerdictCache[ImageVerdict] = VerdictCache(
            max_entries=config.cache.max_entries,
            ttl_seconds=config.cache.ttl_seconds,
            negative_ttl_seconds=config.cache.negative_ttl_seconds,
            is_negative=lambda verdict: not verdict.trusted,
            clock=clock,
        )
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        self._registries = RegistryGate()

    # The pool is made on first use, so a server that forks workers after building the app
    # (gunicorn --preload) gives each worker threads of its own.
    def _pool(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self.config.workers, thread_name_prefix="sigverify-admission"
                )
            return self._executor

    def close(self) -> None:
        with self._executor_lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None

    # -- the two webhooks -------------------------------------------------------------------

    def validate(self, request: AdmissionRequest) -> Decision:
        """Allow or deny by the signatures of every new image of the workload."""
        started = self._clock()
        decision = self._validate(request, started + self.config.deadline_seconds)
        seconds = self._clock() - started
        self.metrics.count_admission("validate", decision.decision, decision.reason, seconds)
        _log_decision("validate", request, decision, seconds)
        return decision

    def mutate(self, request: AdmissionRequest) -> Decision:
        """Pin image-stream tags to the digests they resolve to (never denies)."""
        started = self._clock()
        decision = self._mutate(request, started + self.config.deadline_seconds)
        seconds = self._clock() - started
        self.metrics.count_admission("mutate", decision.decision, decision.reason, seconds)
        _log_decision("mutate", request, decision, seconds)
        return decision

    # -- shared steps -----------------------------------------------------------------------

    def _uses(self, request: AdmissionRequest) -> list[ImageUse] | Decision:
        """The images to check, or the decision when there is nothing to check."""
        if request.operation not in CHECKED_OPERATIONS:
            return allow(request, "NotChecked")
        group, kind = request.kind.group, request.kind.kind
        if pod_spec_path(group, kind) is None:
            return allow(request, "NotAWorkload")
        if self.config.is_exempt_namespace(request.namespace):
            return allow(request, CheckReason.EXEMPT.value, annotations={"exempt": "namespace"})
        old = request.old_object if request.operation == "UPDATE" else None
        try:
            uses = changed_images(group, kind, request.object, old)
        except InputError as exc:
            return deny_malformed(request, str(exc))
        if not uses:
            return allow(request, "NoImageChange" if old is not None else "NoImages")
        return uses

    def _treatment(
        self, text: str, namespace: str, parsed: DockerReference | ReferenceError | None = None
    ) -> ImageTreatment:
        reference = parsed if parsed is not None else parse_text(text)
        if isinstance(reference, ReferenceError):
            return treatment_for(self.config, namespace, None)
        return treatment_for(self.config, namespace, reference)

    def _run(
        self, texts: list[str], deadline: float, task: Callable[[str, bool], ImageResult]
    ) -> dict[str, ImageResult]:
        """``task(text, cached_only)`` for each text: from caches inline, else on the pool."""
        results: dict[str, ImageResult] = {}
        pending = list(texts)
        if self._cached_resolver is not None:
            pending = []
            for text in texts:
                try:
                    results[text] = task(text, True)
                except Exception:  # CacheMiss, or a failure the pool run reports (fail closed)
                    pending.append(text)
        if not pending:
            return results
        pool = self._pool()
        futures = {text: pool.submit(task, text, False) for text in pending}
        wait(futures.values(), timeout=max(0.0, deadline - self._clock()))
        for text, future in futures.items():
            if future.done() and not future.cancelled():
                error = future.exception()
                if error is None:
                    results[text] = future.result()
                    continue
                # A bug must not become an allow, nor a bare 500: fail closed, say so, log it.
                _log.error("checking %r failed", text, exc_info=error)
                results[text] = ImageResult(
                    passed=False,
                    reason=CheckReason.VERIFICATION_ERROR.value,
                    detail=f"sigverify failed while checking it ({type(error).__name__})",
                    unavailable=True,
                )
            else:
                future.cancel()  # still queued: never start it
                results[text] = ImageResult(
                    passed=False,
                    reason=CheckReason.DEADLINE_EXCEEDED.value,
                    detail=(
                        "the image API and verifier did not answer within the "
                        f"{self.config.deadline_seconds:g}s admission deadline"
                    ),
                    unavailable=True,
                )
        return results

    # -- validate ---------------------------------------------------------------------------

    def image_checks(self, request: AdmissionRequest) -> list[ImageCheck] | Decision:
        """What :meth:`validate` judges, before :func:`decide` words it: every image use of
        the request with its treatment and result, or the decision taken without a check
        (exempt namespace, no images, a malformed object). ``sigverify audit --workloads``
        judges workloads through this, so it can never disagree with the webhook."""
        return self._checks(request, self._clock() + self.config.deadline_seconds)

    def _validate(self, request: AdmissionRequest, deadline: float) -> Decision:
        checks = self._checks(request, deadline)
        return checks if isinstance(checks, Decision) else decide(request, checks)

    def _checks(self, request: AdmissionRequest, deadline: float) -> list[ImageCheck] | Decision:
        uses = self._uses(request)
        if isinstance(uses, Decision):
            return uses
        namespace = request.namespace
        parsed = {use.image: parse_text(use.image) for use in uses}  # once per image string
        treatments = {text: self._treatment(text, namespace, ref) for text, ref in parsed.items()}
        texts = [text for text, t in treatments.items() if not t.exempt]
        spec = pod_spec(request.kind.group, request.kind.kind, request.object)
        secrets = PullSecrets(self._secrets, namespace, spec)  # read only if a lookup needs it
        results = self._run(
            texts,
            deadline,
            lambda text, cached_only: self._check(
                text, namespace, treatments[text], deadline, cached_only, secrets, parsed[text]
            ),
        )
        exempt = ImageResult(passed=True, reason=CheckReason.EXEMPT.value, detail="exempt image")
        return [
            ImageCheck(use, treatments[use.image], results.get(use.image, exempt)) for use in uses
        ]

    def _check(
        self,
        text: str,
        namespace: str,
        treatment: ImageTreatment,
        deadline: float,
        cached_only: bool = False,
        secrets: PullSecrets | None = None,
        parsed: DockerReference | ReferenceError | None = None,
    ) -> ImageResult:
        resolver = self._cached_resolver if cached_only else self._resolver
        assert resolver is not None
        try:
            resolution = resolver.resolve(text, namespace, parsed)
        except ClusterError as exc:
            return ImageResult(
                passed=False,
                reason=CheckReason.IMAGE_API_UNAVAILABLE.value,
                detail=f"the image API could not answer: {exc}",
                unavailable=True,
            )
        if resolution.kind is ResolutionKind.IMAGE:
            return self._verify(resolution, deadline, cached_only)
        if resolution.kind in (ResolutionKind.NOT_FOUND, ResolutionKind.UNPINNED):
            decided = self._without_image(resolution, deadline, cached_only, secrets)
            if decided is not None:
                return decided
        if resolution.kind is ResolutionKind.UNPINNED:
            if treatment.unpinned_tags is UnpinnedTags.ALLOW:
                return ImageResult(
                    passed=True,
                    reason=CheckReason.UNPINNED_TAG_ALLOWED.value,
                    detail=resolution.message,
                    via=resolution.via,
                )
            return ImageResult(
                passed=False,
                reason=CheckReason.UNPINNED_TAG.value,
                detail=(
                    f"{resolution.message}; the policy requires images by digest or through "
                    "an image stream"
                ),
                via=resolution.via,
            )
        if resolution.kind is ResolutionKind.NOT_FOUND:
            return ImageResult(
                passed=False,
                reason=CheckReason.IMAGE_NOT_FOUND.value,
                detail=f"{resolution.message}; signatures seen: none",
                digest=resolution.digest,
                via=resolution.via,
            )
        return ImageResult(
            passed=False,
            reason=CheckReason.INVALID_REFERENCE.value,
            detail=f"not a valid image reference: {resolution.message}",
        )

    def _without_image(
        self,
        resolution: Resolution,
        deadline: float,
        cached_only: bool,
        secrets: PullSecrets | None = None,
    ) -> ImageResult | None:
        """No Image object: the scope alone, or the registry sources (admission/registry.py)."""
        verifier = self._verifier()
        try:
            return check_without_image(
                resolution,
                verifier=verifier,
                cache=self.cache,
                key_of=lambda image, identity: self._key(
                    image, Origin.REGISTRY, identity, verifier
                ),
                access=self.config.registries,
                gate=self._registries,
                seconds_left=lambda: deadline - self._clock(),
                cached_only=cached_only,
                pull_secrets=secrets,
            )
        except FutureTimeout:
            return ImageResult(
                passed=False,
                reason=CheckReason.DEADLINE_EXCEEDED.value,
                detail="verifying it did not finish within the admission deadline",
                digest=resolution.digest,
                unavailable=True,
            )
        except (BackendError, PolicyError, InputError) as exc:
            return ImageResult(
                passed=False,
                reason=CheckReason.VERIFICATION_ERROR.value,
                detail=f"it cannot be verified: {exc}",
                digest=resolution.digest,
                unavailable=True,
            )

    def _key(
        self, image: Image, origin: Origin, identity: str | None, verifier: ImageVerifier
    ) -> bytes:
        # Compacted: the admission cache keeps thousands of verdicts, and the key's objects
        # would be walked by every full collection as long as they are cached.
        return compact_key(
            verdict_key(
                image,
                origin=origin,
                expected_identity=identity,
                revision=verifier.revision,
                now=self._wall_clock(),
                bucket_seconds=self.config.cache.ttl_seconds,
            )
        )

    def _verify(self, resolution: Resolution, deadline: float, cached_only: bool) -> ImageResult:
        document = resolution.image
        assert document is not None
        digest = resolution.digest or ""
        try:
            verifier = self._verifier()
            image = image_of(dict(document))
            key = self._key(image, Origin.STORED, resolution.expected_identity, verifier)
            if cached_only:
                cached = self.cache.peek(key)
                if cached is None:
                    raise CacheMiss(key)
                verdict, lookup = cached, Lookup.HIT
            else:
                verdict, lookup = self.cache.get_or_compute(
                    key,
                    lambda: verifier.verify_image(
                        image, expected_identity=resolution.expected_identity
                    ),
                    timeout=max(0.0, deadline - self._clock()),
                )
        except FutureTimeout:
            return ImageResult(
                passed=False,
                reason=CheckReason.DEADLINE_EXCEEDED.value,
                detail=(
                    f"verifying {digest} did not finish within the "
                    f"{self.config.deadline_seconds:g}s admission deadline"
                ),
                digest=digest,
                unavailable=True,
            )
        except (BackendError, PolicyError) as exc:
            # The verifier itself cannot work (gpg failed, no policy loaded): not a verdict.
            return ImageResult(
                passed=False,
                reason=CheckReason.VERIFICATION_ERROR.value,
                detail=f"the signature verifier failed: {exc}",
                digest=digest,
                unavailable=True,
            )
        except InputError as exc:
            return ImageResult(
                passed=False,
                reason=CheckReason.VERIFICATION_ERROR.value,
                detail=f"the Image {digest} cannot be verified: {exc}",
                digest=digest,
            )
        self.metrics.count_lookup(lookup)
        return ImageResult(
            passed=verdict.trusted,
            reason=verdict.reason.value,
            detail=verdict.message,
            verdict=verdict,
            digest=digest,
            via=resolution.via,
            pinned=resolution.pinned,
        )

    # -- mutate -----------------------------------------------------------------------------

    def _pin(
        self,
        text: str,
        namespace: str,
        cached_only: bool = False,
        parsed: DockerReference | ReferenceError | None = None,
    ) -> ImageResult:
        resolver = self._cached_resolver if cached_only else self._resolver
        assert resolver is not None
        try:
            resolution = resolver.resolve(text, namespace, parsed)
        except ClusterError as exc:
            return ImageResult(
                passed=False,
                reason=CheckReason.IMAGE_API_UNAVAILABLE.value,
                detail=str(exc),
                unavailable=True,
            )
        return ImageResult(
            passed=resolution.pinned is not None,
            reason=resolution.kind.value,
            detail=resolution.message,
            digest=resolution.digest,
            via=resolution.via,
            pinned=resolution.pinned,
        )

    def _mutate(self, request: AdmissionRequest, deadline: float) -> Decision:
        uses = self._uses(request)
        if isinstance(uses, Decision):
            return uses
        namespace = request.namespace
        parsed = {use.image: parse_text(use.image) for use in uses}  # once per image string
        texts = [
            text for text, ref in parsed.items() if not self._treatment(text, namespace, ref).exempt
        ]
        results = self._run(
            texts,
            deadline,
            lambda text, cached_only: self._pin(text, namespace, cached_only, parsed[text]),
        )
        patch: list[dict[str, Any]] = []
        pinned: list[dict[str, str]] = []
        for use in uses:
            result = results.get(use.image)
            if result is None or result.pinned is None or result.pinned == use.image:
                continue
            # "test" first: if another mutating webhook changed the image since we read it,
            # the whole patch fails instead of overwriting its change.
            patch.append({"op": "test", "path": use.pointer, "value": use.image})
            patch.append({"op": "replace", "path": use.pointer, "value": result.pinned})
            pinned.append({"pointer": use.pointer, "from": use.image, "to": result.pinned})
        unresolved = sorted(text for text, result in results.items() if result.unavailable)
        annotations: dict[str, str] = {"decision": "allow"}
        if pinned:
            annotations["pinned"] = _compact(pinned)
        if unresolved:
            annotations["unresolved"] = _compact(unresolved)
        reason = "Pinned" if pinned else ("Unresolved" if unresolved else "NothingToPin")
        annotations["reason"] = reason
        if request.dry_run:
            annotations["dryRun"] = "true"
        response = AdmissionResponse(
            request.uid, True, audit_annotations=annotations, patch=patch or None
        )
        return Decision(response, "allow", reason)


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
