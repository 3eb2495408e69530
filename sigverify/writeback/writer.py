"""Condition write-back: record a verdict on the Image in the image API, losing nothing.

An Image update stores exactly the signatures sent (docs/domain.md §1), so the write is a
read-modify-write under optimistic concurrency:

1. read the whole Image (``get_image``; never an ImageStreamImage's image, whose manifest
   and config are blanked and would be cleared by the PUT);
2. verify it, and apply the verdict to it (:func:`sigverify.core.conditions.apply_verdict`
   touches only the judged signatures' conditions and claims; every other member is kept);
3. skip the write unless something changed or the probe times are older than the probe
   interval (:func:`needs_write`: no write storms);
4. PUT it with the ``resourceVersion`` read. On a conflict, read again, verify again only
   if the signatures or the reference changed, re-apply, and retry, a bounded number of
   times with a short jittered backoff.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sigverify.core.clock import utcnow
from sigverify.core.conditions import apply_verdict, whole_seconds
from sigverify.core.verdict import ImageVerdict
from sigverify.engine.protocol import ImageVerifier
from sigverify.errors import ConflictError, InputError, NotFoundError
from sigverify.imageapi.protocol import ImageAPI, JSONObject
from sigverify.objects.documents import dump_document, image_of
from sigverify.objects.schemas import dump_model
from sigverify.objects.types import Image, SignatureCondition
from sigverify.render import verdict_to_json

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_PROBE_INTERVAL",
    "ConditionWriter",
    "Recorded",
    "WriteConflictError",
    "needs_write",
    "verification_body",
]

_log = logging.getLogger("sigverify.writeback")


def _resource_version(document: JSONObject) -> str | None:
    metadata = document.get("metadata")
    version = metadata.get("resourceVersion") if isinstance(metadata, dict) else None
    return version if isinstance(version, str) else None


#: PUT attempts before giving up on an Image that keeps changing under us.
DEFAULT_MAX_ATTEMPTS = 5
#: How old probe times may get before an unchanged verdict is written again.
DEFAULT_PROBE_INTERVAL = timedelta(minutes=10)
_BACKOFF_CAP_SECONDS = 1.0


def _without_probe_times(document: dict[str, Any]) -> dict[str, Any]:
    for signature in document.get("signatures") or ():
        if isinstance(signature, dict):
            for condition in signature.get("conditions") or ():
                if isinstance(condition, dict):
                    condition.pop("lastProbeTime", None)
    return document


def needs_write(before: Image, after: Image, *, probe_interval: timedelta, now: datetime) -> bool:
    """Whether ``after`` is worth a PUT: a real change, or probe times that have gone stale.

    True when anything other than ``lastProbeTime`` differs, or when a condition whose probe
    time was refreshed had last been probed at least ``probe_interval`` before ``now`` (or
    never). A reconciler that re-verifies often thus writes only when something changed or
    once per interval, not on every pass.
    """
    # Equal models dump equal documents: compare the models first (microseconds) and dump
    # only when they differ, where the documents decide (they may still be equal).
    if not _same_but_probe_times(before, after) and _without_probe_times(
        dump_model(before)
    ) != _without_probe_times(dump_model(after)):
        return True
    now = whole_seconds(now)
    for signature in after.signatures:
        previous_signature = before.signature(signature.name)
        for condition in signature.conditions:
            previous = previous_signature.condition(condition.type) if previous_signature else None
            if previous is None:
                return True
            if previous.last_probe_time == condition.last_probe_time:
                continue  # not touched
            if previous.last_probe_time is None:
                return True
            if now - previous.last_probe_time >= probe_interval:
                return True
    return False


_PROBE = "lastProbeTime"


def _same_but_probe_times(before: Image, after: Image) -> bool:
    """Whether the two Images are equal models once every ``lastProbeTime`` is forgotten
    (unset, no preserved text, no explicit null): then their documents without probe times
    are equal too. False says nothing (the documents decide)."""
    if len(before.signatures) != len(after.signatures):
        return False
    for old, new in zip(before.signatures, after.signatures, strict=True):
        if len(old.conditions) != len(new.conditions):
            return False
        for old_condition, new_condition in zip(old.conditions, new.conditions, strict=True):
            if _without_probe(old_condition) != _without_probe(new_condition):
                return False
        if replace(new, conditions=old.conditions) != old:
            return False
    return replace(after, signatures=before.signatures) == before


def _without_probe(condition: SignatureCondition) -> tuple[object, ...]:
    preserved = condition.preserved
    return (
        condition.type,
        condition.status,
        condition.last_transition_time,
        condition.reason,
        condition.message,
        preserved.unknown,
        preserved.order,
        preserved.nulls - {_PROBE},
        {key: text for key, text in preserved.times.items() if key != _PROBE},
    )


class WriteConflictError(ConflictError):
    """The Image changed under every attempt; nothing was written by this writer."""

    def __init__(self, image: str, attempts: int) -> None:
        self.image = image
        self.attempts = attempts
        super().__init__(
            f"gave up recording conditions on {image}: it changed during each of "
            f"{attempts} attempts (409 Conflict every time)"
        )


@dataclass(frozen=True)
class Recorded:
    """The outcome of one write-back."""

    verdict: ImageVerdict
    #: The Image as stored after the write (or as read, when no write was needed).
    image: JSONObject
    written: bool
    #: PUT requests made (0 when nothing needed writing).
    attempts: int
    #: Of those, how many lost to a concurrent writer.
    conflicts: int


def verification_body(outcome: ImageVerdict | Recorded) -> dict[str, Any]:
    """The JSON answer to "verify, and maybe record": the same from the CLI and the HTTP API.

    The JSON verdict (:func:`sigverify.render.verdict_to_json`) with a ``recorded`` member:
    ``null`` for a bare verdict (nothing recorded), else what the write-back did.
    """
    if isinstance(outcome, ImageVerdict):
        body = verdict_to_json(outcome)
        body["recorded"] = None
        return body
    body = verdict_to_json(outcome.verdict)
    body["recorded"] = {
        "written": outcome.written,
        "attempts": outcome.attempts,
        "conflicts": outcome.conflicts,
        "resourceVersion": (outcome.image.get("metadata") or {}).get("resourceVersion"),
    }
    return body


def _verified_inputs(image: Image) -> tuple[object, ...]:
    """What a verdict depends on, from the Image: re-verify only when it changed."""
    return (
        image.docker_image_reference,
        tuple((s.name, s.type, s.content) for s in image.signatures),
    )


class ConditionWriter:
    """Verifies Images and records the verdicts as signature conditions through an ImageAPI."""

    def __init__(
        self,
        api: ImageAPI,
        verifier: ImageVerifier,
        *,
        probe_interval: timedelta = DEFAULT_PROBE_INTERVAL,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        backoff_seconds: float = 0.02,
    ) -> None:
        if max_attempts < 1:
            raise InputError("max_attempts must be at least 1")
        self.api = api
        self.verifier = verifier
        self.probe_interval = probe_interval
        self.max_attempts = max_attempts
        self._clock = clock
        self._sleep = sleep
        self._backoff = backoff_seconds

    def record(
        self,
        name: str,
        *,
        expected_identity: str | None = None,
        only: Collection[str] | None = None,
        read: JSONObject | None = None,
        force: bool = False,
    ) -> Recorded:
        """Verify Image ``name`` and write its conditions when worth it.

        ``only``: record just these signatures (by name); the others are left as they are.
        ``read``: the Image as just read (e.g. from a list page), saving the first GET.
        ``force``: write even when :func:`needs_write` says nothing changed.
        """
        document = read if read is not None else self.api.get_image(name)
        image = image_of(document, answer_to="Image")
        verdict = self._verify(image, expected_identity, only)
        inputs = _verified_inputs(image)
        conflicts = 0
        attempts = 0
        while True:
            now = verdict.verified_at or self._clock()
            after = apply_verdict(image, verdict, now)
            if not force and not needs_write(
                image, after, probe_interval=self.probe_interval, now=now
            ):
                return Recorded(verdict, document, False, attempts, conflicts)
            attempts += 1
            try:
                stored = self.api.update_image(dump_document(after))
            except ConflictError as exc:
                conflicts += 1
                if attempts >= self.max_attempts:
                    _log.warning(
                        "conditions not written: the Image changed under every attempt",
                        extra={"fields": {"image": name, "attempts": attempts}},
                    )
                    raise WriteConflictError(name, attempts) from exc
                self._pause(attempts)
                document = self.api.get_image(name)
                image = image_of(document, answer_to="Image")
                if _verified_inputs(image) != inputs:
                    verdict = self._verify(image, expected_identity, only)
                    inputs = _verified_inputs(image)
                continue
            _log.info(
                "conditions written",
                extra={
                    "fields": {
                        "image": name,
                        "trusted": verdict.trusted,
                        "reason": verdict.reason.value,
                        "attempts": attempts,
                        "conflicts": conflicts,
                        "resourceVersion": _resource_version(stored),
                    }
                },
            )
            return Recorded(verdict, stored, True, attempts, conflicts)

    def _verify(
        self, image: Image, expected_identity: str | None, only: Collection[str] | None
    ) -> ImageVerdict:
        verdict = self.verifier.verify_image(image, expected_identity=expected_identity)
        if only is None:
            return verdict
        wanted = set(only)
        missing = wanted - {s.name for s in image.signatures}
        if missing:
            raise NotFoundError(
                f"the Image {image.name} has no signature named {', '.join(sorted(missing))}"
            )
        return replace(verdict, signatures=tuple(s for s in verdict.signatures if s.name in wanted))

    def _pause(self, attempt: int) -> None:
        base = min(self._backoff * 2 ** (attempt - 1), _BACKOFF_CAP_SECONDS)
        self._sleep(base + random.uniform(0, self._backoff))  # noqa: S311 - jitter, not crypto
