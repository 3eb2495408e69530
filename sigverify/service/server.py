"""Serving the app under gunicorn: workers, optional TLS, graceful shutdown, SIGHUP reload.

- Workers are gthread workers, each building its own app (own SQLite connections, own
  verifier); ``/metrics`` aggregates them (prometheus_client multiprocess mode).
- ``SIGTERM``/``SIGINT``: gunicorn's graceful shutdown (requests in flight finish within
  ``graceful_timeout_seconds``).
- ``SIGHUP`` to the master is forwarded to the workers, which reload the policy and keys in
  place (a broken policy is refused and the old kept); no worker restarts, no request
  dropped. Workers also pick up changed files by themselves (``policy_reload_seconds``).
- TLS: the certificate and key are re-read when their files change, for new connections.
- Garbage collection: once a worker has built its app, the objects alive then (modules,
  schemas, the app) are frozen out of the collector's sight (``gc.freeze``): the full
  collections walk only what requests add (docs/performance.md, "The service").
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import ssl
import threading
import time
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.gthread import ThreadWorker

from sigverify.logs import logging_config
from sigverify.settings import Settings

__all__ = ["CertificateReloader", "SigverifyServer"]

_log = logging.getLogger("sigverify.service")


class CertificateReloader:
    """An SSLContext whose certificate follows its files: checked (at most once a second)
    when a client says hello, swapped in for that and later connections when changed.

    A broken new pair (unreadable, mismatched) is refused and the old one kept.
    """

    def __init__(
        self, cert: str, key: str, *, check_interval: float = 1.0, client_ca: str | None = None
    ) -> None:
        self.cert = Path(cert)
        self.key = Path(key)
        self.client_ca = client_ca
        self._interval = check_interval
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._fingerprint = self._stat()
        self.context = self._new_context()
        self._first = self.context

    def _stat(self) -> tuple[object, ...]:
        out: list[object] = []
        for path in (self.cert, self.key):
            try:
                stat = path.stat()
                out.append((stat.st_size, stat.st_mtime_ns, stat.st_ino))
            except OSError:
                out.append(None)
        return tuple(out)

    def _new_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert, self.key)
        if self.client_ca:
            # A client certificate is asked for and, when given, must chain to this CA; the
            # admission endpoints then require one (service/auth/client_cert.py). Bearer-token
            # callers need none.
            context.verify_mode = ssl.CERT_OPTIONAL
            context.load_verify_locations(cafile=self.client_ca)
        context.sni_callback = self._on_hello
        return context

    def _on_hello(self, connection: ssl.SSLObject, server_name: str | None, _: Any) -> None:
        now = time.monotonic()
        if now - self._checked >= self._interval:
            with self._lock:
                self._checked = now
                fingerprint = self._stat()
                if fingerprint != self._fingerprint:
                    self._fingerprint = fingerprint
                    try:
                        self.context = self._new_context()
                        _log.info("reloaded the serving certificate %s", self.cert)
                    except (OSError, ssl.SSLError) as exc:
                        _log.error("refusing the changed serving certificate: %s", exc)
        if self.context is not self._first:
            connection.context = self.context


class _Worker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker, with SIGHUP caught from the moment signals are set up.

    gunicorn leaves SIGHUP at its default (terminate) in a worker until the app is loaded; a
    SIGHUP forwarded while a worker is still starting would kill it. Until the app is there,
    a SIGHUP only notes that a reload was asked for.
    """

    hup_pending = False

    def init_signals(self) -> None:
        super().init_signals()
        signal.signal(signal.SIGHUP, self._early_hup)
        signal.siginterrupt(signal.SIGHUP, False)

    def _early_hup(self, *_: object) -> None:
        self.hup_pending = True

    def handle_exit(self, sig: int, frame: Any) -> None:
        """Stopping: also end the store's watches, which would otherwise hold their threads
        (and the graceful shutdown) until they time out."""
        super().handle_exit(sig, frame)
        from sigverify.imageapi.store.rest import WATCH_HUB

        app = getattr(self, "wsgi", None)
        hub = app.extensions.get(WATCH_HUB) if app is not None else None
        if hub is not None:
            hub.close()


def freeze_start_up_objects() -> int:
    """Collect once, then move every object still alive (modules, schemas, the app built)
    to the permanent generation, which the collector never walks; returns how many.

    Called in each worker once its app is built: a worker's start-up objects live as long
    as it does, and without this every full collection walks them again.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def _post_worker_init(worker: Any) -> None:
    from sigverify.service.state import EXTENSION

    state = worker.wsgi.extensions[EXTENSION]
    signal.signal(signal.SIGHUP, lambda *_: state.holder.request_reload())
    signal.siginterrupt(signal.SIGHUP, False)
    if getattr(worker, "hup_pending", False):
        state.holder.request_reload()
    frozen = freeze_start_up_objects()
    worker.log.info("app loaded in worker %s (%d start-up objects frozen)", worker.pid, frozen)


def _child_exit(_: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


class _Arbiter(Arbiter):  # type: ignore[misc]
    def handle_hup(self) -> None:
        """Forward SIGHUP to the workers: they reload policy and keys in place."""
        self.log.info("SIGHUP: reloading the trust policy and keys in every worker")
        for pid in list(self.WORKERS):
            try:
                os.kill(pid, signal.SIGHUP)
            except ProcessLookupError:
                continue


class SigverifyServer(BaseApplication):  # type: ignore[misc]
    """gunicorn running ``create_app(settings)`` in each worker."""

    def __init__(
        self,
        settings: Settings,
        *,
        ready_file: str | None = None,
        kubeconfig_folder: Path | None = None,
    ) -> None:
        self.settings = settings
        self.ready_file = ready_file
        #: Where to write the kubeconfig of the address bound (None: nowhere).
        self.kubeconfig_folder = kubeconfig_folder
        self.reloader: CertificateReloader | None = None
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        config: dict[str, Any] = {
            "bind": [f"{s.host}:{s.port}"],
            "workers": s.workers,
            "worker_class": _Worker,
            "threads": s.threads,
            "timeout": int(max(s.request_timeout_seconds, 1)),
            "graceful_timeout": int(max(s.graceful_timeout_seconds, 1)),
            # One formatter for sigverify's lines and gunicorn's (--log-format); the access
            # log only when asked (--access-log): a line per request drowns the decisions.
            "accesslog": "-" if s.access_log else None,
            "errorlog": "-",
            "loglevel": s.log_level,
            "logconfig_dict": logging_config(s.log_level, s.log_format, access_log=s.access_log),
            "proc_name": "sigverify",
            "post_worker_init": _post_worker_init,
            "child_exit": _child_exit,
            "when_ready": self._when_ready,
            "limit_request_line": 8190,
        }
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn >= 25.1 binds a control socket (~/.gunicorn/gunicorn.ctl or under
            # $XDG_RUNTIME_DIR) that can stop or resize the server: sigverify has no use for it.
            config["control_socket_disable"] = True
        if s.tls_cert and s.tls_key:
            config["certfile"] = s.tls_cert
            config["keyfile"] = s.tls_key
            config["ssl_context"] = self._ssl_context
        for key, value in config.items():
            self.cfg.set(key, value)

    def _ssl_context(self, _config: Any, _factory: Any) -> ssl.SSLContext:
        assert self.settings.tls_cert and self.settings.tls_key
        if self.reloader is None:
            self.reloader = CertificateReloader(
                self.settings.tls_cert,
                self.settings.tls_key,
                client_ca=self.settings.admission_client_ca,
            )
        return self.reloader.context

    def _when_ready(self, arbiter: Any) -> None:
        tls = bool(self.settings.tls_cert)
        bound = [listener.sock.getsockname()[:2] for listener in arbiter.LISTENERS]
        if self.kubeconfig_folder is not None and bound:
            from sigverify.authn.kubeconfig import (
                embedded_kubeconfig,
                server_url,
                write_kubeconfig,
            )

            url = server_url(bound[0][0], bound[0][1], tls=tls)
            text = embedded_kubeconfig(self.kubeconfig_folder, url, tls_cert=self.settings.tls_cert)
            path = write_kubeconfig(self.kubeconfig_folder, text)
            _log.info("kubectl: KUBECONFIG=%s kubectl api-resources", path)
        if not self.ready_file:
            return
        scheme = "https" if tls else "http"
        addresses = [f"{scheme}://{host}:{port}" for host, port in bound]
        Path(self.ready_file).write_text("\n".join(addresses) + "\n", encoding="utf-8")

    def load(self) -> Any:
        from sigverify.service.app import create_app

        return create_app(self.settings)

    def run(self) -> None:
        _Arbiter(self).run()
