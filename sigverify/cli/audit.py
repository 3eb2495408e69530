"""``sigverify audit``: what in the cluster is signed, by whom, and what the policy would deny.

Read-only. ImageStreams are listed page by page; each tag's current image
(``status.tags[].items[0].image``) is verified once with the engine, however many tags point
at it; without ``--namespace`` the Images no tag points at are audited too (from the Image
list, which also saves a GET per tagged Image). Only compact rows are kept
(:class:`sigverify.audit.report.AuditAccumulator`), never the raw documents.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

import click

from sigverify.audit.html import report_to_html
from sigverify.audit.keyfacts import key_facts
from sigverify.audit.render import CSV_TABLES, csv_table, report_to_json, report_to_text
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
from sigverify.cli._audit_images import audit_pull_specs, read_pull_specs
from sigverify.cli._common import (
    EXIT_ERROR,
    EXIT_TRUSTED,
    EXIT_UNTRUSTED,
    backend_option,
    handle_errors,
)
from sigverify.cli._kube import dump_output, kubeconfig_in_use
from sigverify.cli._output_file import check_output_file, write_output
from sigverify.cli._progress import progress_for
from sigverify.cli._registry_options import registry_options
from sigverify.core.clock import utcnow
from sigverify.engine.verifier import Verifier
from sigverify.errors import InputError, NotFoundError
from sigverify.imageapi.factory import open_image_api
from sigverify.imageapi.options import ClusterOptions, ImageSource
from sigverify.imageapi.protocol import ImageAPI, JSONObject, Page
from sigverify.objects.documents import UpstreamDocumentError, image_of
from sigverify.policyfile.holder import load_verifier
from sigverify.settings import Settings
from sigverify.sources import SourceOptions

__all__ = ["MAX_PAGES", "Progress", "audit_image_api", "command", "exit_status", "nothing_audited"]

#: Told ``(images done, total or None when not known yet)`` after each image.
Progress = Callable[[int, int | None], None]

#: Pages one list may take at most (a runaway ``continue`` chain cannot loop forever).
MAX_PAGES = 100_000
DEFAULT_PAGE_SIZE = 250
# Kubernetes namespace names are DNS-1123 labels.
_NAMESPACE = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")
_MAX_NAMESPACE_LENGTH = 63


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
    ) -> None:
        self.api = api
        self.verifier = verifier
        self.accumulator = accumulator
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
) -> AuditReport:
    """Audit the image API read-only: every tagged Image of ``namespace`` (all namespaces
    when None, plus every Image no tag points at), each verified exactly once.

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
    run = _Audit(api, verifier, accumulator, progress)
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


def exit_status(report: AuditReport) -> int:
    """2 when something could not be audited or nothing was there to audit, else 1 when any
    image would be denied, else 0 (every audited image is trusted)."""
    if report.totals.failed or nothing_audited(report):
        return EXIT_ERROR
    return EXIT_UNTRUSTED if report.totals.denied else EXIT_TRUSTED


def _nothing_message(namespace: str | None, images_file: str | None) -> str:
    if images_file is not None:
        return f"--images {images_file}: no pull spec to audit"
    if namespace is not None:
        return (
            f"nothing to audit in namespace {namespace!r}: no such namespace, or no "
            "ImageStream there has an imported tag"
        )
    return "nothing to audit: the store or cluster has no Images and no ImageStreams"


def _write_tables(report: AuditReport, directory: str) -> None:
    """Every CSV table into ``directory`` (created if missing), ``NAME.csv`` each."""
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in CSV_TABLES:
            (folder / f"{name}.csv").write_text(csv_table(report, name), encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot write: {exc.strerror or exc}", path=f"--output-dir {folder}"
        ) from exc


def _render(
    report: AuditReport,
    output: str,
    table: str,
    output_dir: str | None,
    output_file: str | None,
    now: datetime,
) -> None:
    if output_dir is not None:
        _write_tables(report, output_dir)
        return
    if output in ("json", "yaml"):
        text = dump_output(report_to_json(report), output)
    elif output == "csv":
        text = csv_table(report, table)
    elif output == "html":
        text = report_to_html(report_to_json(report), generated=now)
    else:
        text = report_to_text(report)
    write_output(text, output_file)


def _check_namespace(namespace: str | None) -> None:
    if namespace is None:
        return
    if len(namespace) > _MAX_NAMESPACE_LENGTH or not _NAMESPACE.fullmatch(namespace):
        raise InputError(
            f"--namespace {namespace!r} is not a namespace name (lower-case letters, digits "
            f"and '-', starting and ending with a letter or digit, at most "
            f"{_MAX_NAMESPACE_LENGTH} characters)"
        )


def _open_api(
    store: str | None, kubeconfig: str | None, context: str | None, timeout: float
) -> ImageAPI:
    if store is not None and (kubeconfig is not None or context is not None):
        raise InputError("give either --store or --kubeconfig/--context, not both")
    # oc's and kubectl's default: the cluster of $KUBECONFIG, else ~/.kube/config
    if kubeconfig is not None or context is not None or (store is None and kubeconfig_in_use()):
        cluster = ClusterOptions(kubeconfig=kubeconfig, context=context, timeout=timeout)
        return open_image_api(ImageSource(cluster=cluster))
    path = store if store is not None else Settings().store
    # Read-only: opening a missing file would create an empty store.
    if not Path(path).is_file():
        raise InputError(f"--store {path}: no such store file")
    return open_image_api(ImageSource(store=path))


@click.command("audit")
@click.option("--policy", default=None, help="Trust policy to audit against (required).")
@click.option(
    "--keys",
    default=None,
    help="Directory of public key files the policy's key names resolve against.",
)
@click.option(
    "--store",
    default=None,
    metavar="FILE",
    help="Embedded store file (default with no kubeconfig at all: sigverify.db in the state "
    "folder, $XDG_STATE_HOME/sigverify).",
)
@click.option(
    "--kubeconfig",
    default=None,
    metavar="FILE",
    help="Audit a cluster (default: $KUBECONFIG, else ~/.kube/config when it exists).",
)
@click.option("--context", default=None, help="kubeconfig context (default: the current one).")
@click.option(
    "--namespace",
    "-n",
    default=None,
    help="Only the ImageStreams of this namespace (default: all, plus untagged Images).",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json", "yaml", "csv", "html"]),
    default=None,
    help="Report form (default: text; csv with --table or --output-dir); html: one "
    "self-contained page (charts, keys, a sortable, filterable image table).",
)
@click.option(
    "--output-file",
    default=None,
    metavar="PATH",
    help="Write the report to PATH instead of standard output.",
)
@click.option(
    "--table",
    type=click.Choice(list(CSV_TABLES)),
    default=None,
    help="The CSV table to print (default: images).",
)
@click.option(
    "--output-dir",
    default=None,
    metavar="DIR",
    help="Write every CSV table to DIR (images.csv, keys.csv, signatures.csv, ...) instead "
    "of printing one.",
)
@click.option(
    "--expiry-warning-days",
    type=click.IntRange(0, 36_500),
    default=DEFAULT_EXPIRY_WARNING_DAYS,
    show_default=True,
    help="Flag keys that expire within this many days.",
)
@click.option(
    "--page-size",
    type=click.IntRange(1, 10_000),
    default=DEFAULT_PAGE_SIZE,
    show_default=True,
    help="Objects per list request.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=30.0,
    show_default=True,
    help="Seconds to wait for each cluster request.",
)
@click.option(
    "--images",
    "images_file",
    default=None,
    metavar="FILE",
    help="Audit these pull specs (one per line, docker://HOST/REPO@DIGEST or :TAG) "
    "against their registries instead of a cluster or store.",
)
@registry_options
@backend_option
@handle_errors
def command(
    policy: str | None,
    keys: str | None,
    store: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    output: str | None,
    output_file: str | None,
    table: str | None,
    output_dir: str | None,
    expiry_warning_days: int,
    page_size: int,
    timeout: float,
    images_file: str | None,
    registries_d: str | None,
    authfile: str | None,
    tls_verify: bool,
    cert_dir: str | None,
    backend: str,
) -> None:
    """Report what the images of a cluster or store are signed with, by whom, and which
    ones the policy would deny. Read-only.

    \b
    sigverify audit --policy P -n prod -o csv     ($KUBECONFIG's current context)
    sigverify audit --policy P --store FILE
    sigverify audit --policy P --table keys       (one CSV table: keys, signatures, ...)
    sigverify audit --policy P --output-dir DIR   (every CSV table, one file each)
    sigverify audit --policy P --images pull-specs.txt [--registries-d DIR] [--authfile F]

    Exit status: 0 every audited image is trusted, 1 some would be denied, 2 an error
    (including images that could not be audited, when the report is still printed, and
    nothing to audit at all, such as an unknown namespace).
    """
    if policy is None:
        raise InputError("--policy is required (the trust policy to audit against)")
    if output is None:
        output = "csv" if table is not None or output_dir is not None else "text"
    if (table is not None or output_dir is not None) and output != "csv":
        raise click.UsageError("--table and --output-dir are CSV tables: use them with -o csv")
    if table is not None and output_dir is not None:
        raise click.UsageError("give either --table or --output-dir, not both")
    if output_file is not None and output_dir is not None:
        raise click.UsageError("give either --output-file or --output-dir, not both")
    _check_namespace(namespace)
    if images_file is not None and (store or kubeconfig or context or namespace):
        raise click.UsageError("--images audits registries: drop --store, --kubeconfig, -n")
    if images_file is None and (registries_d or authfile or cert_dir or not tls_verify):
        raise click.UsageError(
            "--registries-d, --authfile, --tls-verify and --cert-dir need --images"
        )
    check_output_file(output_file)
    specs = read_pull_specs(images_file) if images_file is not None else []
    loaded, verifier = load_verifier(policy, keys, backend)
    facts = key_facts(loaded.policy, loaded.keyring)
    now = utcnow()
    progress = progress_for(sys.stderr)
    try:
        if images_file is not None:
            options = SourceOptions(
                registries_d=Path(registries_d) if registries_d else None,
                authfile=authfile,
                tls_verify=tls_verify,
                cert_dir=Path(cert_dir) if cert_dir else None,
                timeout=timeout,
                deadline=timeout,
            )
            report = audit_pull_specs(
                specs,
                verifier,
                options,
                policy=policy,
                keys=facts,
                now=now,
                expiry_warning_days=expiry_warning_days,
                progress=progress,
            )
        else:
            api = _open_api(store, kubeconfig, context, timeout)
            report = audit_image_api(
                api,
                verifier,
                policy=policy,
                namespace=namespace,
                page_size=page_size,
                keys=facts,
                now=now,
                expiry_warning_days=expiry_warning_days,
                progress=progress,
            )
    finally:
        verifier.backend.close()
        if progress is not None:
            progress.close()
    if nothing_audited(report):
        raise InputError(_nothing_message(namespace, images_file))
    _render(report, output, table or "images", output_dir, output_file, now)
    status = exit_status(report)
    if status == EXIT_ERROR:
        click.echo(
            f"sigverify: error: {report.totals.failed} images or image streams could not be "
            "audited (listed in the report)",
            err=True,
        )
    sys.exit(status)
