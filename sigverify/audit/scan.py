"""The read-only walk of an audit: every tagged Image of a namespace (or of all namespaces,
plus the Images no tag points at) verified once with the engine and accumulated into an
:class:`~sigverify.audit.report.AuditReport`.

ImageStreams are listed page by page; each tag's current image
(``status.tags[].items[0].image``) is verified once, however many tags point at it; without
a namespace the Images no tag points at are audited too (from the Image list, which also
saves a GET per tagged Image). Only compact rows are kept
(:class:`sigverify.audit.report.AuditAccumulator`), never the raw documents. Both faces call
it: ``sigverify audit`` and the service's ``GET /api/v1/audit``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from sigverify.audit.compare import ImageObserver
from sigverify.audit.report import (
    DEFAULT_EXPIRY_WARNING_DAYS,
    AuditAccumulator,
    AuditedImage,
    AuditFailure,
    AuditReport,
    KeyFacts,
    TagRef,
)
from sigverify.audit.report import current_tags as stream_tags
from sigverify.engine.verifier import Verifier
from sigverify.errors import InputError, NotFoundError
from sigverify.imageapi.protocol import ImageAPI, JSONObject, Page
from sigverify.objects.documents import UpstreamDocumentError, image_of

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_NAMESPACE_LENGTH",
    "MAX_PAGES",
    "NAMESPACE_PATTERN",
    "Progress",
    "audit_image_api",
    "check_namespace",
    "nothing_audited",
]

#: Told ``(images done, total or None when not known yet)`` after each image.
Progress = Callable[[int, int | None], None]

#: Pages one list may take at most (a runaway ``continue`` chain cannot loop forever).
MAX_PAGES = 100_000
DEFAULT_PAGE_SIZE = 250
#: Kubernetes namespace names are DNS-1123 labels.
NAMESPACE_PATTERN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")
MAX_NAMESPACE_LENGTH = 63


def _pages(fetch: Callable[[str | None], Page]) -> Iterator[list[JSONObject]]:
    token: str | None = None
    for _ in range(MAX_PAGES):
        items, token = fetch(token)
        yield items
        if token is None:
            return
    raise InputError(f"the list did not end after {MAX_PAGES} pages")


def _name_of(item: JSONObject) -> str | None:
    metadata = item.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) and name else None


class _Audit:
    """One audit run: the tags found, the images judged, the accumulating report."""

    def __init__(
        self,
        api: ImageAPI,
        verifier: Verifier,
        accumulator: AuditAccumulator,
        progress: Progress | None = None,
        observe: ImageObserver | None = None,
    ) -> None:
        self.api = api
        self.verifier = verifier
        self.accumulator = accumulator
        self.observe = observe  # sees each Image judged (the --compare-policy dry run)
        self.tags: dict[str, list[TagRef]] = {}
        self.seen: set[str] = set()
        self.progress = progress
        #: Images to judge, when known (``--namespace``: the tagged digests).
        self.total: int | None = None

    def _tick(self) -> None:
        if self.progress is not None:
            self.progress(len(self.seen), self.total)

    def collect_tags(self, namespace: str | None, page_size: int) -> None:
        def fetch(token: str | None) -> Page:
            return self.api.list_imagestreams(namespace, limit=page_size, continue_token=token)

        for page in _pages(fetch):
            for stream in page:
                found, problems = stream_tags(stream)
                for tag, image in found:
                    self.tags.setdefault(image, []).append(tag)
                for subject, message in problems:
                    self.accumulator.add_failure(AuditFailure(subject, message))

    def judge(self, name: str, document: JSONObject) -> None:
        """Verify one Image (as read) and account for it with the tags pointing at it."""
        if name in self.seen:
            return
        self.seen.add(name)
        tags = tuple(self.tags.pop(name, ()))
        try:
            image = image_of(document, answer_to="Image")
            if image.name != name:
                raise UpstreamDocumentError(f"the image API answered with Image {image.name}")
            verdict = self.verifier.verify_image(image)
        except (InputError, UpstreamDocumentError) as exc:
            self.accumulator.add_failure(AuditFailure(name, str(exc), tags))
        else:
            self.accumulator.add(AuditedImage(verdict, tags))
            if self.observe is not None:
                self.observe(image, tags, verdict, None)
        self._tick()

    def judge_all_images(self, page_size: int) -> None:
        def fetch(token: str | None) -> Page:
            return self.api.list_images(limit=page_size, continue_token=token)

        for page in _pages(fetch):
            for item in page:
                name = _name_of(item)
                if name is None:
                    self.accumulator.add_failure(
                        AuditFailure("?", "an Image without metadata.name in the list")
                    )
                    continue
                self.judge(name, item)

    def judge_tagged(self) -> None:
        """GET each tagged Image not judged yet (all of them with ``--namespace``)."""
        for name in sorted(self.tags):
            tags = tuple(self.tags[name])
            try:
                document = self.api.get_image(name)
            except NotFoundError:
                self.tags.pop(name)
                self.seen.add(name)
                self.accumulator.add_failure(
                    AuditFailure(name, "the tag points at an Image that does not exist", tags)
                )
                self._tick()
                continue
            self.judge(name, document)


def audit_image_api(
    api: ImageAPI,
    verifier: Verifier,
    *,
    policy: str,
    namespace: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    keys: Iterable[KeyFacts] = (),
    now: datetime | None = None,
    expiry_warning_days: int = DEFAULT_EXPIRY_WARNING_DAYS,
    progress: Progress | None = None,
    observe: ImageObserver | None = None,
) -> AuditReport:
    """Audit the image API read-only: every tagged Image of ``namespace`` (all namespaces
    when None, plus every Image no tag points at), each verified exactly once (and shown to
    ``observe`` with its verdict: ``--compare-policy``).

    ``keys``, ``now`` and ``expiry_warning_days`` go to the report
    (:class:`~sigverify.audit.report.AuditAccumulator`); ``progress`` is told after each
    Image (the total is known with a namespace: the distinct tagged digests)."""
    if page_size < 1:
        raise InputError("the page size must be at least 1")
    accumulator = AuditAccumulator(
        policy=policy,
        namespace=namespace,
        keys=keys,
        now=now,
        expiry_warning_days=expiry_warning_days,
    )
    run = _Audit(api, verifier, accumulator, progress, observe)
    run.collect_tags(namespace, page_size)
    if namespace is None:
        run.judge_all_images(page_size)
    else:
        run.total = len(run.tags)
    run.judge_tagged()
    return run.accumulator.report()


def nothing_audited(report: AuditReport) -> bool:
    """No image audited and none failed: nothing was there to judge."""
    return not report.totals.images and not report.totals.failed


def check_namespace(namespace: str, name: str) -> None:
    """Refuse (InputError) what is not a namespace name; ``name`` says where it came from."""
    if len(namespace) > MAX_NAMESPACE_LENGTH or not NAMESPACE_PATTERN.fullmatch(namespace):
        raise InputError(
            f"{name} {namespace!r} is not a namespace name (lower-case letters, digits "
            f"and '-', starting and ending with a letter or digit, at most "
            f"{MAX_NAMESPACE_LENGTH} characters)"
        )
