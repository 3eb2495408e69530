"""What ``enforce`` would deny today: every workload through the admission webhook's logic.

Each workload (:mod:`sigverify.audit.manifests`) is handed to the webhook's own
:class:`~sigverify.admission.controller.AdmissionController` as a dry-run ``CREATE`` of it:
the same namespace exemptions, image exemptions, scope lookups, image resolution (digests,
image-stream tags, local lookup, unpinned tags), registry lookups, verifier and per-image
outcome (:func:`~sigverify.admission.decide.outcome`) the webhook would apply — nothing is
re-derived here. The one change is the question asked: every audited namespace is set to
``enforce`` (a namespace's mode wins over any scope's, docs/admission.md), so what would be
denied is exactly what moving that namespace to ``enforce`` would break. A namespace is ready
for enforce when nothing in it would be denied; an exempt namespace is not judged (its
readiness is unknown, ``null``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sigverify.admission.controller import AdmissionController
from sigverify.admission.decide import CheckReason, Decision, explain, outcome
from sigverify.admission.resolve import ImageLookup
from sigverify.admission.review import AdmissionRequest, GroupVersionKind
from sigverify.audit.manifests import Workload, WorkloadSet
from sigverify.engine.protocol import ImageVerifier
from sigverify.policyfile.admission import AdmissionConfig, CacheConfig, Mode, NamespaceRule

__all__ = ["DeniedContainer", "NamespaceRow", "WorkloadReport", "judge_workloads"]

#: Seconds each workload's images may take (at least; the policy's deadline if longer): an
#: audit is not answering an API server, and a verdict must not be lost to a busy machine.
MIN_AUDIT_DEADLINE_SECONDS = 60.0
# Keep verdicts and image answers for the whole run: each image is resolved and verified once.
_RUN_SECONDS = 86_400.0


@dataclass(frozen=True)
class DeniedContainer:
    """One container image that ``enforce`` would deny, and why."""

    namespace: str
    kind: str
    name: str
    container: str
    image: str
    reason: str
    message: str


@dataclass(frozen=True)
class NamespaceRow:
    namespace: str
    #: The namespace's mode today: its own rule, else the policy's global mode (a scope's
    #: mode may still differ per image).
    mode: str
    exempt: bool
    workloads: int
    containers: int  # image uses judged (0 in an exempt namespace)
    would_deny: int  # workloads enforce would deny

    @property
    def ready_for_enforce(self) -> bool | None:
        return None if self.exempt else self.would_deny == 0


@dataclass(frozen=True)
class WorkloadReport:
    source: str  # the --workloads argument, "stdin" or "cluster"
    namespaces: tuple[NamespaceRow, ...]
    denied: tuple[DeniedContainer, ...]
    #: Objects not judged, by kind (no pods, owned by a listed controller, no such API).
    skipped: tuple[tuple[str, int], ...] = ()

    @property
    def workloads(self) -> int:
        return sum(row.workloads for row in self.namespaces)

    @property
    def would_deny(self) -> int:
        return sum(row.would_deny for row in self.namespaces)


def _enforcing(
    config: AdmissionConfig, namespaces: Iterable[str], deadline: float
) -> AdmissionConfig:
    rules = dict(config.namespaces)
    rules.update({name: NamespaceRule(Mode.ENFORCE) for name in namespaces})
    return replace(
        config,
        namespaces=rules,
        deadline_seconds=max(config.deadline_seconds, deadline),
        cache=CacheConfig(
            max_entries=config.cache.max_entries,
            ttl_seconds=_RUN_SECONDS,
            negative_ttl_seconds=_RUN_SECONDS,
            image_ttl_seconds=_RUN_SECONDS,
        ),
    )


def _request(index: int, workload: Workload) -> AdmissionRequest:
    return AdmissionRequest(
        uid=f"sigverify-audit-{index}",
        kind=GroupVersionKind(workload.group, "v1", workload.kind),
        resource="",
        sub_resource="",
        name=workload.name,
        namespace=workload.namespace,
        operation="CREATE",
        object=workload.object,
        old_object=None,
        dry_run=True,
    )


@dataclass
class _Namespace:
    exempt: bool = False
    workloads: int = 0
    containers: int = 0
    would_deny: int = 0


def judge_workloads(
    found: WorkloadSet,
    config: AdmissionConfig,
    image_api: ImageLookup,
    verifier: ImageVerifier,
    *,
    deadline_seconds: float = MIN_AUDIT_DEADLINE_SECONDS,
) -> WorkloadReport:
    """Judge every workload of ``found`` as the webhook would with its namespace enforcing."""
    names = sorted({w.namespace for w in found.workloads})
    controller = AdmissionController(
        _enforcing(config, names, deadline_seconds), image_api, lambda: verifier
    )
    namespaces: dict[str, _Namespace] = {name: _Namespace() for name in names}
    denied: list[DeniedContainer] = []
    try:
        for index, workload in enumerate(found.workloads):
            row = namespaces[workload.namespace]
            row.workloads += 1
            checks = controller.image_checks(_request(index, workload))
            if isinstance(checks, Decision):
                row.exempt |= checks.reason == CheckReason.EXEMPT.value
                if not checks.response.allowed:  # a malformed object: never an allow
                    row.would_deny += 1
                    denied.append(
                        DeniedContainer(
                            workload.namespace,
                            workload.kind,
                            workload.name,
                            "",
                            "",
                            checks.reason,
                            checks.response.message or "",
                        )
                    )
                continue
            row.containers += len(checks)
            refused = [check for check in checks if outcome(check) == "deny"]
            row.would_deny += bool(refused)
            denied.extend(
                DeniedContainer(
                    workload.namespace,
                    workload.kind,
                    workload.name,
                    check.use.container,
                    check.use.image,
                    check.result.reason,
                    explain(check),
                )
                for check in refused
            )
    finally:
        controller.close()
    rows = tuple(
        NamespaceRow(
            namespace=name,
            mode=(config.namespaces[name].mode if name in config.namespaces else config.mode).value,
            exempt=entry.exempt,
            workloads=entry.workloads,
            containers=entry.containers,
            would_deny=entry.would_deny,
        )
        for name, entry in namespaces.items()
    )
    skipped: Counter[str] = found.skipped
    return WorkloadReport(found.source, rows, tuple(denied), tuple(sorted(skipped.items())))
