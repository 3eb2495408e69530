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

With ``--compare-policy NEW`` the same workloads are judged once more, by NEW's verifier and
NEW's ``admission:`` section, and :func:`compare_workloads` keeps the container images whose
fate under enforce differs: newly denied (CURRENT admits, NEW would deny) and newly admitted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sigverify.admission.controller import AdmissionController
from sigverify.admission.decide import CheckReason, Decision, ImageCheck, explain, outcome
from sigverify.admission.resolve import ImageLookup
from sigverify.admission.review import AdmissionRequest, GroupVersionKind
from sigverify.audit.compare import Change, Changed, Outcome
from sigverify.audit.manifests import Workload, WorkloadSet
from sigverify.engine.protocol import ImageVerifier
from sigverify.policyfile.admission import AdmissionConfig, CacheConfig, Mode, NamespaceRule

__all__ = [
    "JudgedContainer",
    "NamespaceRow",
    "WorkloadChange",
    "WorkloadComparison",
    "WorkloadReport",
    "compare_workloads",
    "judge_workloads",
]

#: Seconds each workload's images may take (at least; the policy's deadline if longer): an
#: audit is not answering an API server, and a verdict must not be lost to a busy machine.
MIN_AUDIT_DEADLINE_SECONDS = 60.0
# Keep verdicts and image answers for the whole run: each image is resolved and verified once.
_RUN_SECONDS = 86_400.0


@dataclass(frozen=True)
class JudgedContainer:
    """One container image and why ``enforce`` would deny or admit it. A workload judged as
    a whole (exempt namespace, malformed object) has an empty container and image."""

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
    denied: tuple[JudgedContainer, ...]
    #: Objects not judged, by kind (no pods, owned by a listed controller, no such API).
    skipped: tuple[tuple[str, int], ...] = ()
    #: What enforce would admit (the reason it passes), for :func:`compare_workloads`.
    admitted: tuple[JudgedContainer, ...] = ()
    #: With --compare-policy: what NEW would change (:func:`compare_workloads`).
    comparison: WorkloadComparison | None = None

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


def _judged(
    workload: Workload, container: str, image: str, reason: str, message: str
) -> JudgedContainer:
    return JudgedContainer(
        workload.namespace, workload.kind, workload.name, container, image, reason, message
    )


def _why(check: ImageCheck, denied: bool) -> tuple[str, str]:
    """The reason and message of one checked image: the denial's clause when enforce would
    deny it, else why it passes (an exempt image, the engine's verdict)."""
    if denied:
        return check.result.reason, explain(check)
    verdict = check.result.verdict
    return check.result.reason, verdict.message if verdict is not None else check.result.detail


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
    judged: dict[bool, list[JudgedContainer]] = {True: [], False: []}  # by: enforce denies
    try:
        for index, workload in enumerate(found.workloads):
            row = namespaces[workload.namespace]
            row.workloads += 1
            checks = controller.image_checks(_request(index, workload))
            if isinstance(checks, Decision):
                exempt = checks.reason == CheckReason.EXEMPT.value
                row.exempt |= exempt
                # a malformed object is never an allow
                row.would_deny += not checks.response.allowed
                message = checks.response.message or ("exempt namespace" if exempt else "")
                judged[not checks.response.allowed].append(
                    _judged(workload, "", "", checks.reason, message)
                )
                continue
            row.containers += len(checks)
            refused = False
            for check in checks:
                denies = outcome(check) == "deny"
                refused |= denies
                judged[denies].append(
                    _judged(workload, check.use.container, check.use.image, *_why(check, denies))
                )
            row.would_deny += refused
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
    return WorkloadReport(
        found.source,
        rows,
        tuple(judged[True]),
        tuple(sorted(skipped.items())),
        admitted=tuple(judged[False]),
    )


# -- the same workloads under a NEW policy (--compare-policy with --workloads) ---------------

#: A container image of a workload: namespace, kind, name, container, image.
_Key = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class WorkloadChange(Changed):
    """One container image that enforce would treat differently under NEW than under CURRENT
    (``trusted`` of each :class:`Outcome` is "admitted")."""

    namespace: str
    kind: str
    name: str
    container: str
    image: str
    current: Outcome
    new: Outcome


@dataclass(frozen=True)
class WorkloadComparison:
    compare_policy: str  # NEW
    newly_denied: tuple[WorkloadChange, ...]
    newly_admitted: tuple[WorkloadChange, ...]
    #: The workloads judged by NEW per namespace: NEW's own mode, would deny, readiness.
    namespaces: tuple[NamespaceRow, ...]

    @property
    def changes(self) -> tuple[WorkloadChange, ...]:
        return (*self.newly_denied, *self.newly_admitted)


def _outcomes(report: WorkloadReport) -> dict[_Key, Outcome]:
    found: dict[_Key, Outcome] = {}
    for admitted, items in ((True, report.admitted), (False, report.denied)):
        for item in items:  # a denial wins over an admission of the same container image
            key = (item.namespace, item.kind, item.name, item.container, item.image)
            found[key] = Outcome(admitted, item.reason, item.message)
    return found


def _judged_whole(outcomes: dict[_Key, Outcome], key: _Key) -> Outcome | None:
    """``key``'s outcome, else its workload's when that was judged as a whole (an exempt
    namespace, a malformed object: no container of it was looked at)."""
    return outcomes.get(key) or outcomes.get((*key[:3], "", ""))


def compare_workloads(
    current: WorkloadReport, new: WorkloadReport, *, compare_policy: str
) -> WorkloadComparison:
    """The container images whose fate under enforce changes from ``current`` (CURRENT's
    verifier and ``admission:`` section) to ``new`` (NEW's), on the same workloads."""
    before, after = _outcomes(current), _outcomes(new)
    by_container = {key[:3] for key in (*before, *after) if key[3:] != ("", "")}
    changes: list[WorkloadChange] = []
    for key in sorted({*before, *after}):
        if key[3:] == ("", "") and key[:3] in by_container:
            continue  # judged container by container on the other side
        was, now = _judged_whole(before, key), _judged_whole(after, key)
        if was is not None and now is not None and was.trusted != now.trusted:
            changes.append(WorkloadChange(*key, current=was, new=now))
    return WorkloadComparison(
        compare_policy,
        tuple(c for c in changes if c.change is Change.NEWLY_DENIED),
        tuple(c for c in changes if c.change is Change.NEWLY_ADMITTED),
        new.namespaces,
    )
