"""Which mode, exemption and fallbacks apply to one image in one namespace.

Scopes are looked up exactly as the trust policy looks them up
(:func:`sigverify.core.policy.lookup_order`, containers-policy.json(5)): the exact reference,
the repository, each parent namespace, the host, ``*.domain`` wildcards built from the host,
then ``""``. The first configured scope found wins; rules are not merged.

Precedence of modes (docs/admission.md): a namespace's own mode, else the matched scope's
mode, else the global mode. A namespace rule is the operator saying "this is how workloads
here are treated", the most specific statement about a workload. ``failOpen`` and
``unpinnedTags`` stay properties of the image's scope.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from sigverify.core.policy import lookup_order
from sigverify.core.reference import DockerReference
from sigverify.policyfile.admission import AdmissionConfig, Mode, UnpinnedTags

__all__ = ["ImageTreatment", "treatment_for"]


@dataclass(frozen=True)
class ImageTreatment:
    """How the admission webhook treats a failed check of one image."""

    mode: Mode
    exempt: bool = False
    fail_open: bool = False
    unpinned_tags: UnpinnedTags = UnpinnedTags.REJECT
    scope: str | None = None  # the admission scope that matched, for messages


def _first(candidates: tuple[str, ...], table: Container[str]) -> str | None:
    return next((c for c in candidates if c in table), None)


def treatment_for(
    config: AdmissionConfig, namespace: str, reference: DockerReference | None
) -> ImageTreatment:
    """The treatment of ``reference`` (``None`` when it did not parse) in ``namespace``."""
    namespace_rule = config.namespaces.get(namespace)
    candidates = lookup_order(reference) if reference is not None else ()
    if _first(candidates, config.exempt_images) is not None:
        return ImageTreatment(mode=Mode.AUDIT, exempt=True)
    scope = _first(candidates, config.scopes)
    rule = config.scopes[scope] if scope is not None else None
    if namespace_rule is not None:
        mode = namespace_rule.mode
    elif rule is not None and rule.mode is not None:
        mode = rule.mode
    else:
        mode = config.mode
    unpinned = rule.unpinned_tags if rule and rule.unpinned_tags else config.unpinned_tags
    return ImageTreatment(
        mode=mode,
        fail_open=bool(rule and rule.fail_open),
        unpinned_tags=unpinned,
        scope=scope,
    )
