"""``sigverify audit --compare-policy NEW`` and ``--workloads``: the two dry runs' options,
their set-up and their share of the output and the exit status (docs/audit.md).

The logic is in :mod:`sigverify.audit.compare` and :mod:`sigverify.audit.workloads`; this
only wires it into the command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from sigverify.audit.compare import PolicyComparer, PolicyComparison
from sigverify.audit.render_dryrun import (
    comparison_to_csv,
    comparison_to_json,
    comparison_to_text,
    workloads_to_csv,
    workloads_to_json,
    workloads_to_text,
)
from sigverify.cli._common import EXIT_ERROR, EXIT_TRUSTED, EXIT_UNTRUSTED
from sigverify.engine.verifier import Verifier
from sigverify.errors import InputError
from sigverify.imageapi.protocol import ImageAPI
from sigverify.policyfile.holder import load_verifier

if TYPE_CHECKING:
    # Imported when --workloads is given: they load the admission webhook (Flask, its
    # metrics), which a plain `sigverify audit` does not need.
    from sigverify.audit.manifests import WorkloadSet
    from sigverify.audit.workloads import WorkloadReport
    from sigverify.policyfile.admission import AdmissionConfig

__all__ = ["DRY_RUN_TABLES", "DryRun", "csv_table_for", "dry_run_options"]

F = TypeVar("F", bound=Callable[..., Any])
CLUSTER = "cluster"
#: The CSV tables of the dry runs (``--table``, ``--output-dir``), beside the report's.
DRY_RUN_TABLES = ("comparison", "workloads")


def dry_run_options(function: F) -> F:
    options = (
        click.option(
            "--compare-policy",
            default=None,
            metavar="NEW",
            help="Also judge every image by the policy NEW and list what would change "
            "(newly denied, newly admitted); exit 1 when NEW denies an image --policy admits.",
        ),
        click.option(
            "--compare-keys",
            default=None,
            metavar="DIR",
            help="Key directory for --compare-policy (default: --keys, else NEW's own).",
        ),
        click.option(
            "--workloads",
            default=None,
            metavar="FILE|DIR|-|cluster",
            help="Judge these workloads (oc get pods,deploy,dc,cronjob -A -o yaml), or the "
            "cluster's, with the policy's admission: section: what enforce would deny.",
        ),
    )
    for option in reversed(options):
        function = option(function)
    return function


def csv_table_for(table: str | None, *, compare: bool, workloads: bool) -> str | None:
    """The CSV table ``-o csv`` prints: ``--table``'s, else the dry run's own table
    (``comparison``, ``workloads``) when one is asked for, else None (the report's images).
    Checked before anything is read."""
    asked = [name for name, on in zip(DRY_RUN_TABLES, (compare, workloads), strict=True) if on]
    if table in DRY_RUN_TABLES and table not in asked:
        flag = "--compare-policy" if table == "comparison" else "--workloads"
        raise click.UsageError(f"--table {table} needs {flag}")
    if table is not None or not asked:
        return table
    if len(asked) > 1:
        raise click.UsageError(
            "-o csv prints one table: add --table comparison or --table workloads "
            "(or --output-dir for all)"
        )
    return asked[0]


@dataclass
class DryRun:
    """The dry runs one ``sigverify audit`` asked for."""

    comparer: PolicyComparer | None = None
    workloads_target: str | None = None
    found: WorkloadSet | None = None  # read before anything else: bad input fails fast
    comparison: PolicyComparison | None = None
    workloads: WorkloadReport | None = None

    @classmethod
    def start(
        cls,
        *,
        policy: str,
        compare_policy: str | None,
        compare_keys: str | None,
        keys: str | None,
        backend: str,
        workloads: str | None,
        images_file: str | None,
        store: str | None,
        namespace: str | None,
    ) -> DryRun:
        """Check the options, read manifest files, load NEW (errors: exit 2, one line)."""
        if compare_keys is not None and compare_policy is None:
            raise click.UsageError("--compare-keys needs --compare-policy")
        if workloads is not None and images_file is not None:
            raise click.UsageError(
                "--workloads resolves images in a cluster or store: drop --images"
            )
        if workloads == CLUSTER and store is not None:
            raise click.UsageError("--workloads cluster needs a cluster, not --store")
        run = cls(workloads_target=workloads)
        if workloads is not None and workloads != CLUSTER:
            from sigverify.audit.manifests import read_workloads

            run.found = read_workloads(workloads, namespace=namespace)
        if compare_policy is not None:
            new = load_verifier(compare_policy, compare_keys or keys, backend)[1]
            run.comparer = PolicyComparer(new, policy=policy, compare_policy=compare_policy)
        return run

    def close(self) -> None:
        if self.comparer is not None and isinstance(self.comparer.verifier, Verifier):
            self.comparer.verifier.backend.close()

    def judge_workloads(
        self,
        api: ImageAPI,
        config: AdmissionConfig | None,
        verifier: Verifier,
        *,
        namespace: str | None,
        page_size: int,
        timeout: float,
    ) -> None:
        """Read the cluster's workloads if asked, then judge them (after the image audit)."""
        if self.workloads_target is None:
            return
        from sigverify.audit.manifests import list_cluster_workloads
        from sigverify.audit.workloads import judge_workloads
        from sigverify.policyfile.admission import AdmissionConfig

        found = self.found
        if found is None:
            lister = getattr(api, "list_objects", None)
            if lister is None:
                raise InputError("--workloads cluster needs a cluster (--kubeconfig)")
            found = list_cluster_workloads(lister, namespace=namespace, page_size=page_size)
        self.workloads = judge_workloads(
            found, config or AdmissionConfig(), api, verifier, deadline_seconds=timeout
        )

    @property
    def judged_workloads(self) -> bool:
        """Workloads were judged: a namespace with workloads but no image stream is no
        "nothing to audit"."""
        return self.workloads is not None and self.workloads.workloads > 0

    def finish(self) -> None:
        if self.comparer is not None:
            self.comparison = self.comparer.comparison()

    # -- output -----------------------------------------------------------------------------

    def json_members(self) -> dict[str, Any]:
        members: dict[str, Any] = {}
        if self.comparison is not None:
            members["comparison"] = comparison_to_json(self.comparison)
        if self.workloads is not None:
            members["workloads"] = workloads_to_json(self.workloads)
        return members

    def text(self) -> str:
        parts = []
        if self.comparison is not None:
            parts.append(comparison_to_text(self.comparison))
        if self.workloads is not None:
            parts.append(workloads_to_text(self.workloads))
        return "".join("\n" + part for part in parts)

    def csv_tables(self) -> dict[str, str]:
        """The dry runs' CSV tables, by name, of the dry runs that ran."""
        tables: dict[str, str] = {}
        if self.comparison is not None:
            tables["comparison"] = comparison_to_csv(self.comparison)
        if self.workloads is not None:
            tables["workloads"] = workloads_to_csv(self.workloads)
        return tables

    def exit_status(self, status: int) -> int:
        """The audit's ``status`` as the dry runs change it: 2 stays; with --compare-policy
        the comparison alone decides 1 (something newly denied) or 0; workloads that
        enforce would deny make it 1."""
        if status == EXIT_ERROR or (self.comparison is not None and self.comparison.failures):
            return EXIT_ERROR
        if self.comparison is not None:
            status = EXIT_UNTRUSTED if self.comparison.newly_denied else EXIT_TRUSTED
        if self.workloads is not None and self.workloads.would_deny:
            status = EXIT_UNTRUSTED
        return status
