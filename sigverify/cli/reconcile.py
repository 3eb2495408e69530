"""``sigverify reconcile``: keep every Image's signature conditions current."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import timedelta
from typing import Any

import click

from sigverify.cli._common import EXIT_ERROR, handle_errors
from sigverify.cli._settings_options import (
    cluster_options,
    duration_seconds,
    policy_options,
    settings_from,
)
from sigverify.errors import SigverifyError
from sigverify.imageapi.factory import image_source, open_image_api
from sigverify.logs import configure_logging
from sigverify.policyfile.holder import PolicyHolder
from sigverify.writeback.reconciler import PassSummary, Reconciler

__all__ = ["command"]


@click.command("reconcile")
@policy_options
@cluster_options
@click.option(
    "--interval",
    default=None,
    help="Pause between passes, e.g. 30s, 10m, 1h (default: settings, 10m).",
)
@click.option("--once", is_flag=True, help="Run one pass and exit (status 2 if any failed).")
@click.option("--page-size", type=int, default=None, help="Images per list request.")
@click.option(
    "--probe-interval",
    default=None,
    help="Rewrite unchanged conditions once their probe is this old (e.g. 10m).",
)
@click.option("--quiet", "-q", is_flag=True, help="Only the pass summaries.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log lines (one per condition write, on stderr) as text or JSON.",
)
@handle_errors
def command(
    interval: str | None,
    once: bool,
    page_size: int | None,
    probe_interval: str | None,
    quiet: bool,
    **flags: Any,
) -> None:
    """List every Image (paginated), verify it, and write the conditions back when they
    changed or their probe is stale; then again every --interval until interrupted."""
    if interval is not None:
        flags["reconcile_interval_seconds"] = duration_seconds(interval)
    if probe_interval is not None:
        flags["probe_interval_seconds"] = duration_seconds(probe_interval)
    if page_size is not None:
        flags["reconcile_page_size"] = page_size
    settings = settings_from(flags)
    configure_logging(settings.log_level, settings.log_format)
    source = image_source(settings)
    api, kind = open_image_api(source), source.kind
    holder = PolicyHolder(
        settings.policy,
        settings.keys,
        settings.backend,
        check_interval=settings.policy_reload_seconds,
    )
    reconciler = Reconciler(
        api,
        holder.verifier,
        page_size=settings.reconcile_page_size,
        probe_interval=timedelta(seconds=settings.probe_interval_seconds),
        max_attempts=settings.write_attempts,
        progress=None if quiet else lambda line: click.echo(f"  {line}"),
    )
    where = settings.kubeconfig or settings.server or ("in-cluster" if settings.in_cluster else "")
    click.echo(f"reconciling the {kind} image API {where or settings.store}".rstrip())
    stop = threading.Event()
    failures: list[int] = []

    def report(number: int, summary: PassSummary | None, error: SigverifyError | None) -> None:
        if summary is not None:
            click.echo(f"pass {number}: {summary.describe()}")
            for name, message in summary.failed:
                click.echo(f"  failed: {name}: {message}", err=True)
            if not summary.ok:
                failures.append(number)
        else:
            click.echo(f"pass {number} failed: {error}", err=True)
            failures.append(number)

    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    try:
        reconciler.run(
            interval=settings.reconcile_interval_seconds,
            passes=1 if once else None,
            stop=stop,
            on_pass=report,
        )
    finally:
        holder.close()
    if once and failures:
        sys.exit(EXIT_ERROR)
