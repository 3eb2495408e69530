"""``sigverify serve``: the HTTP API under gunicorn."""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import click

from sigverify.cli._common import handle_errors
from sigverify.cli._settings_options import cluster_options, policy_options, settings_from
from sigverify.errors import InputError
from sigverify.logs import configure_logging
from sigverify.settings import Settings, demo_seed

__all__ = ["command"]

_log = logging.getLogger("sigverify.service")


def _seed_if_empty(settings: Settings) -> None:
    """Load the sample objects into an empty embedded store (missing paths are skipped)."""
    from sigverify.imageapi.store.image_store import ImageStore
    from sigverify.imageapi.store.seed import load_paths

    store = ImageStore(settings.store, history=settings.store_history)
    counts = store.counts()
    if counts["images"] or counts["imagestreams"]:
        return
    paths = [p for p in settings.seed if Path(p).exists()]
    if paths:
        count = load_paths(store, paths)
        click.echo(f"sigverify: seeded the empty store {settings.store} with {count} objects")


def _secure(settings: Settings) -> Settings:
    """Make what serving with authentication needs: the admin token (embedded mode without a
    token file) and, without a certificate, a CA and serving certificate (HTTPS)."""
    import dataclasses

    from sigverify.authn.statedir import (
        ensure_admin_token,
        ensure_serving_certificate,
        state_dir,
    )

    if settings.insecure_no_auth:
        _log.warning(
            "AUTHENTICATION IS OFF (--insecure-no-auth) on %s:%s: for local experiments only",
            settings.host,
            settings.port,
        )
        return settings
    # The state folder only when something goes there: a pod with a certificate in cluster
    # mode (deploy/) writes nothing and needs no home.
    if not settings.token_auth_file and not settings.uses_cluster:
        path = ensure_admin_token(state_dir(settings.state_dir))
        _log.info("the admin token (group sigverify:admin) is in %s", path)
    if not settings.tls_cert:
        files = ensure_serving_certificate(state_dir(settings.state_dir), settings.host)
        _log.info("serving HTTPS with %s, signed by the CA in %s", files.cert, files.ca_cert)
        settings = dataclasses.replace(settings, tls_cert=str(files.cert), tls_key=str(files.key))
    return settings


def _kubeconfig_folder(settings: Settings) -> Path | None:
    """Where ``serve`` writes its kubeconfig: the state folder, when the server is the
    embedded store with the generated admin token (other modes have no token to write)."""
    from sigverify.authn.statedir import state_dir

    if settings.uses_cluster or settings.token_auth_file or settings.insecure_no_auth:
        return None
    return state_dir(settings.state_dir)


def _kubeconfig(settings: Settings) -> str:
    """``--print-kubeconfig``: the kubeconfig text (also written to the state folder)."""
    from sigverify.authn.kubeconfig import embedded_kubeconfig, server_url, write_kubeconfig

    if settings.uses_cluster:
        raise InputError(
            "--print-kubeconfig: against a cluster, use the cluster's kubeconfig (the server "
            "here serves verifications, not the cluster's API)"
        )
    if settings.token_auth_file:
        raise InputError(
            "--print-kubeconfig: with --token-auth-file there is no generated admin token; "
            "write a kubeconfig with a token of that file (docs/service.md)"
        )
    url = server_url(settings.host, settings.port, tls=bool(settings.tls_cert))
    folder = _kubeconfig_folder(settings)
    if folder is None:  # --insecure-no-auth: nothing secret, nothing written
        return embedded_kubeconfig(Path("."), url, tls_cert=None, authenticated=False)
    text = embedded_kubeconfig(folder, url, tls_cert=settings.tls_cert)
    write_kubeconfig(folder, text)
    return text


@click.command("serve")
@policy_options
@cluster_options
@click.option("--host", default=None, help="Listen address (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Listen port (default 8080; 0: any).")
@click.option("--workers", type=int, default=None, help="gunicorn workers (default 2).")
@click.option("--threads", type=int, default=None, help="Threads per worker (default 4).")
@click.option("--tls-cert", default=None, help="Serving certificate (PEM); with --tls-key.")
@click.option("--tls-key", default=None, help="Serving key (PEM).")
@click.option(
    "--serve-store-api/--no-serve-store-api",
    default=None,
    help="Serve the embedded store to kubectl and client libraries (discovery, OpenAPI, the "
    "OpenShift REST under /apis); on by default.",
)
@click.option(
    "--token-auth-file",
    default=None,
    type=click.Path(dir_okay=False),
    help='Static tokens (kube-apiserver format: token,user,uid,"group1,group2").',
)
@click.option(
    "--state-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Where the generated admin token and certificates live "
    "(default $XDG_STATE_HOME/sigverify or ~/.local/state/sigverify).",
)
@click.option(
    "--insecure-no-auth",
    is_flag=True,
    default=None,
    help="No authentication, plain HTTP: local experiments on a loopback address only.",
)
@click.option(
    "--admission-client-ca",
    default=None,
    type=click.Path(dir_okay=False),
    help="Require the admission webhook's callers to present a certificate from this CA.",
)
@click.option("--probe-interval", type=float, default=None, help="Seconds; see docs.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default=None)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log lines as text (default) or JSON, one object a line.",
)
@click.option(
    "--access-log",
    is_flag=True,
    default=None,
    help="Also log every HTTP request (off by default: admission decisions are logged).",
)
@click.option(
    "--ready-file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write the listening URL(s) here once serving (for scripts and tests).",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Load the bundled sample images into an empty embedded store (with the default "
    "policy, the bundled demo policy).",
)
@click.option("--show-settings", is_flag=True, help="Print the effective settings and exit.")
@click.option(
    "--print-kubeconfig",
    is_flag=True,
    help="Print a kubeconfig for this server (HTTPS, its CA, the admin token), write it as "
    "'kubeconfig' in the state folder, and exit.",
)
@handle_errors
def command(
    ready_file: str | None, show_settings: bool, demo: bool, print_kubeconfig: bool, **flags: Any
) -> None:
    """Serve the verification API (gunicorn; SIGHUP reloads policy and keys).

    Without --kubeconfig/--server/--in-cluster the embedded store is the image API; --demo
    seeds an empty one with the bundled sample images.
    """
    if flags.get("probe_interval") is not None:
        flags["probe_interval_seconds"] = flags.pop("probe_interval")
    else:
        flags.pop("probe_interval", None)
    settings = settings_from(flags)
    if demo:
        settings = dataclasses.replace(settings, seed=demo_seed())
    if show_settings:
        import json

        click.echo(json.dumps(settings.describe(), indent=2))
        return
    configure_logging(settings.log_level, settings.log_format)
    settings = _secure(settings)
    if print_kubeconfig:
        click.echo(_kubeconfig(settings), nl=False)
        return
    if settings.uses_cluster:
        # Bad credentials settings fail here, once, not in a crash loop of every worker.
        from sigverify.imageapi.factory import image_source, open_image_api

        open_image_api(image_source(settings))
    else:
        _seed_if_empty(settings)
    # Multiprocess metrics: must be set before prometheus_client is imported anywhere.
    own_metrics_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        own_metrics_dir = tempfile.mkdtemp(prefix="sigverify-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = own_metrics_dir
    try:
        from sigverify.service.server import SigverifyServer

        SigverifyServer(
            settings, ready_file=ready_file, kubeconfig_folder=_kubeconfig_folder(settings)
        ).run()
    finally:
        if own_metrics_dir is not None:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)
