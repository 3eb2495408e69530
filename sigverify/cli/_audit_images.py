"""``sigverify audit --images FILE``: audit pull specs (one per line) against registries.

Each line is a ``docker://``-style pull spec (the prefix optional); blank lines and ``#``
comments are skipped. Every image is fetched from its registry with the signatures of its
digest from the lookaside and the signatures extension (sigverify.sources), and judged by
the one engine; an image that cannot be fetched is a failure in the report (exit 2), never
a trust. Each digest is judged once, by the first line that names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from sigverify.audit.compare import ImageObserver
from sigverify.audit.report import (
    DEFAULT_EXPIRY_WARNING_DAYS,
    AuditAccumulator,
    AuditedImage,
    AuditFailure,
    AuditReport,
    KeyFacts,
)
from sigverify.engine.verifier import Verifier
from sigverify.errors import InputError
from sigverify.sources import SourceError, SourceOptions, fetch_image, label_sources
from sigverify.sources import parse_pull_spec as parse_spec

__all__ = [
    "MAX_IMAGES",
    "MAX_IMAGES_FILE_BYTES",
    "audit_pull_specs",
    "read_pull_specs",
]


#: Largest ``--images`` file read, and most pull specs audited from it.
MAX_IMAGES_FILE_BYTES = 1024 * 1024
MAX_IMAGES = 10_000


def read_pull_specs(path: str) -> list[str]:
    """The pull specs of ``path`` (``-`` is not accepted: the file is read once, bounded)."""
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_IMAGES_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=f"--images {path}") from exc
    if len(data) > MAX_IMAGES_FILE_BYTES:
        raise InputError(f"larger than {MAX_IMAGES_FILE_BYTES} bytes", path=f"--images {path}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 (byte {exc.start})", path=f"--images {path}") from None
    specs = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    if len(specs) > MAX_IMAGES:
        raise InputError(f"more than {MAX_IMAGES} pull specs", path=f"--images {path}")
    return specs


def audit_pull_specs(
    specs: list[str],
    verifier: Verifier,
    options: SourceOptions,
    *,
    policy: str,
    observe: ImageObserver | None = None,
    keys: Iterable[KeyFacts] = (),
    now: datetime | None = None,
    expiry_warning_days: int = DEFAULT_EXPIRY_WARNING_DAYS,
    progress: Callable[[int, int | None], None] | None = None,
) -> AuditReport:
    """Audit every pull spec; failures (bad spec, registry unreachable) are reported.
    ``progress`` is told ``(specs done, specs)`` after each."""
    accumulator = AuditAccumulator(
        policy=policy, keys=keys, now=now, expiry_warning_days=expiry_warning_days
    )
    seen: set[str] = set()
    for done, spec in enumerate(specs, 1):
        if progress is not None:
            progress(done - 1, len(specs))
        try:
            fetched = fetch_image(parse_spec(spec), options)
            if fetched.digest in seen:
                continue
            verdict = verifier.verify_image(fetched.image, expected_identity=fetched.identity)
        except (SourceError, InputError) as exc:
            accumulator.add_failure(AuditFailure(spec, str(exc)))
            continue
        seen.add(fetched.digest)
        accumulator.add(AuditedImage(label_sources(verdict, fetched.sources)))
        if observe is not None:
            observe(fetched.image, (), verdict, fetched.identity)
    if progress is not None and specs:
        progress(len(specs), len(specs))
    return accumulator.report()
