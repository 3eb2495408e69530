"""``sigverify audit``: what in the cluster is signed, by whom, and what the policy would deny.

Read-only. The walk over the image API (each tagged Image verified once, compact rows only)
is :func:`sigverify.audit.scan.audit_image_api`, shared with the service's
``GET /api/v1/audit``; this module adds the command's options, output forms and exit status.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sigverify.audit.html import report_to_html
from sigverify.audit.keyfacts import key_facts
from sigverify.audit.render import CSV_TABLES, csv_table, report_to_json, report_to_text
from sigverify.audit.report import DEFAULT_EXPIRY_WARNING_DAYS, AuditReport
from sigverify.audit.scan import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGES,
    Progress,
    audit_image_api,
    check_namespace,
    nothing_audited,
)
from sigverify.cli._audit_dryrun import (
    DRY_RUN_TABLES,
    DryRun,
    csv_table_for,
    dry_run_options,
)
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
from sigverify.errors import InputError
from sigverify.imageapi.factory import open_image_api
from sigverify.imageapi.options import ClusterOptions, ImageSource
from sigverify.imageapi.protocol import ImageAPI
from sigverify.policyfile.holder import load_verifier
from sigverify.settings import Settings
from sigverify.sources import SourceOptions

# audit_image_api and the rest of the read-only walk live in sigverify.audit.scan, where the
# HTTP service (GET /api/v1/audit) calls them too; named here as before.
__all__ = ["MAX_PAGES", "Progress", "audit_image_api", "command", "exit_status", "nothing_audited"]


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


def _write_tables(report: AuditReport, directory: str, dry_run: DryRun) -> None:
    """Every CSV table into ``directory`` (created if missing), ``NAME.csv`` each; the dry
    runs' tables too (comparison.csv, workloads.csv) when they ran."""
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in CSV_TABLES:
            (folder / f"{name}.csv").write_text(csv_table(report, name), encoding="utf-8")
        for name, text in dry_run.csv_tables().items():
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
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
    dry_run: DryRun,
) -> None:
    if output_dir is not None:
        _write_tables(report, output_dir, dry_run)
        return
    document = {**report_to_json(report), **dry_run.json_members()}
    if output in ("json", "yaml"):
        text = dump_output(document, output)
    elif output == "csv":
        tables = dry_run.csv_tables()
        text = tables[table] if table in tables else csv_table(report, table)
    elif output == "html":
        text = report_to_html(document)
    else:
        text = report_to_text(report) + dry_run.text()
    write_output(text, output_file)


def _check_namespace(namespace: str | None) -> None:
    if namespace is not None:
        check_namespace(namespace, "--namespace")


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
    type=click.Choice([*CSV_TABLES, *DRY_RUN_TABLES]),
    default=None,
    help="The CSV table to print (default: images; comparison with --compare-policy, "
    "workloads with --workloads).",
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
@dry_run_options
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
    compare_policy: str | None,
    compare_keys: str | None,
    workloads: str | None,
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
    sigverify audit --policy P -o html --output-file report.html   (one page to hand on)
    sigverify audit --policy P --images pull-specs.txt [--registries-d DIR] [--authfile F]
    sigverify audit --policy CURRENT --compare-policy NEW     (what NEW would change)
    sigverify audit --policy P --workloads pods.yaml|-|cluster (what enforce would deny)

    Exit status: 0 every audited image is trusted, 1 some would be denied, 2 an error
    (including images that could not be audited, when the report is still printed, and
    nothing to audit at all, such as an unknown namespace). With --compare-policy: 1 when
    NEW would deny an image the policy admits, else 0; with --workloads also 1 when
    enforce would deny a workload.
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
    if output == "csv" and output_dir is None:
        table = csv_table_for(
            table, compare=compare_policy is not None, workloads=workloads is not None
        )
    dry_run = DryRun.start(
        policy=policy,
        compare_policy=compare_policy,
        compare_keys=compare_keys,
        keys=keys,
        backend=backend,
        workloads=workloads,
        images_file=images_file,
        store=store,
        namespace=namespace,
    )
    observe = dry_run.comparer.observe if dry_run.comparer is not None else None
    try:
        specs = read_pull_specs(images_file) if images_file is not None else []
        loaded, verifier = load_verifier(policy, keys, backend)
    except BaseException:
        dry_run.close()
        raise
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
                observe=observe,
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
                observe=observe,
            )
            dry_run.judge_workloads(
                api,
                loaded.admission,
                verifier,
                namespace=namespace,
                page_size=page_size,
                timeout=timeout,
            )
        dry_run.finish()
    finally:
        verifier.backend.close()
        dry_run.close()
        if progress is not None:
            progress.close()
    if nothing_audited(report) and not dry_run.judged_workloads:
        raise InputError(_nothing_message(namespace, images_file))
    _render(report, output, table or "images", output_dir, output_file, dry_run)
    # Workloads judged in a namespace without image streams: the report is not empty.
    empty = nothing_audited(report) and dry_run.judged_workloads
    status = dry_run.exit_status(EXIT_TRUSTED if empty else exit_status(report))
    if status == EXIT_ERROR:
        click.echo(
            f"sigverify: error: {report.totals.failed} images or image streams could not be "
            "audited (listed in the report)",
            err=True,
        )
    sys.exit(status)
