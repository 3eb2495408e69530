"""The Flask application factory of the sigverify HTTP service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from flask import Flask
from flask_smorest import Api

from sigverify import __version__
from sigverify.admission.blueprint import init_app as init_admission
from sigverify.admission.controller import AdmissionController
from sigverify.core.clock import utcnow
from sigverify.engine.cache import VerdictCache
from sigverify.errors import SigverifyError
from sigverify.imageapi.factory import image_source, open_image_api
from sigverify.imageapi.protocol import ImageAPI
from sigverify.imageapi.store.discovery import create_discovery_blueprint
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import create_rest_blueprint
from sigverify.imageapi.store.watch import WatchLimits
from sigverify.policyfile.admission import AdmissionConfig
from sigverify.policyfile.holder import PolicyHolder
from sigverify.service.audit import audit
from sigverify.service.auth.openapi import document_security
from sigverify.service.auth.setup import configure_auth
from sigverify.service.errors import install_error_handlers
from sigverify.service.metrics import ServiceMetrics
from sigverify.service.openapi_exact import document_parameters
from sigverify.service.readiness import UpstreamProbe
from sigverify.service.schemas import ErrorSchema
from sigverify.service.state import EXTENSION, CachedAnswer, ServiceState
from sigverify.service.views import health, verification
from sigverify.settings import Settings

__all__ = ["create_app"]

_log = logging.getLogger("sigverify.service")


class _Api(Api):  # type: ignore[misc]
    """flask-smorest's Api with our error schema ``{code, status, message, errors}``."""

    ERROR_SCHEMA = ErrorSchema


def create_app(
    settings: Settings,
    *,
    api: ImageAPI | None = None,
    api_kind: str | None = None,
    clock: Callable[[], datetime] | None = None,
    metrics: ServiceMetrics | None = None,
) -> Flask:
    """Build the app: image API (``api`` or the one ``settings`` names), policy, routes.

    ``clock`` fixes verification and probe times (tests). A policy that does not load leaves
    the app up but not ready (``/readyz`` 503, verifications 503) until a fixed one appears.
    """
    app = Flask(__name__)
    app.config.update(
        API_TITLE="sigverify",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if api is None:
        source = image_source(settings)
        api = open_image_api(source)
        api_kind = api_kind or source.kind
    service_metrics = metrics or ServiceMetrics()
    holder = PolicyHolder(
        settings.policy,
        settings.keys,
        settings.backend,
        check_interval=settings.policy_reload_seconds,
        clock=clock,
        on_reload=lambda ok: service_metrics.policy_reloads.labels(
            "success" if ok else "failure"
        ).inc(),
    )
    holder.check()  # load now: a broken policy shows in /readyz from the start
    state = ServiceState(
        settings=settings,
        api=api,
        api_kind=api_kind or ("embedded" if isinstance(api, ImageStore) else "openshift"),
        holder=holder,
        metrics=service_metrics,
        cache=VerdictCache[CachedAnswer](
            max_entries=settings.cache_entries,
            ttl_seconds=settings.cache_ttl_seconds,
            negative_ttl_seconds=settings.cache_negative_ttl_seconds,
            is_negative=lambda answer: not answer.trusted,
        ),
        clock=clock or utcnow,
        upstream=UpstreamProbe(
            api.ping,
            refresh_seconds=settings.readiness_refresh_seconds,
            wait_seconds=settings.readiness_wait_seconds,
        ),
    )
    app.extensions[EXTENSION] = state
    configure_auth(app, settings)  # before any view: every request is checked first
    smorest = _Api(app, spec_kwargs={"info": {"description": _DESCRIPTION}})
    smorest.register_blueprint(verification)
    smorest.register_blueprint(health)
    smorest.register_blueprint(audit)
    document_security(smorest.spec)
    document_parameters(smorest.spec)
    install_error_handlers(app)
    if settings.serve_store_api and isinstance(api, ImageStore):
        # kubectl and client libraries: discovery, then the store's REST (docs/service.md).
        # Each watch holds a worker thread for its length: one thread is always left for
        # everything else.
        watchers = WatchLimits(max_watchers=max(settings.threads - 1, 0))
        app.register_blueprint(create_discovery_blueprint())
        app.register_blueprint(create_rest_blueprint(api, watch_limits=watchers))
    if settings.admission:
        controller = AdmissionController(
            _AdmissionConfigSource(holder), api, holder.verifier, wall_clock=state.clock
        )
        service_metrics.include([controller.metrics.registry])  # one /metrics
        init_admission(app, controller)
    return app


_DEFAULT_ADMISSION = AdmissionConfig()


class _AdmissionConfigSource:
    """The webhook's configuration: the current policy's ``admission:`` section (parsed once,
    with the policy), so a policy reload changes modes and exemptions too."""

    def __init__(self, holder: PolicyHolder) -> None:
        self._holder = holder
        self._config = _DEFAULT_ADMISSION

    def __call__(self) -> AdmissionConfig:
        try:
            loaded = self._holder.in_use().loaded
        except SigverifyError:
            return self._config  # no policy: every admission fails closed in the verifier
        self._config = loaded.admission or _DEFAULT_ADMISSION
        return self._config


_DESCRIPTION = (
    "Verifies OpenShift atomic container signatures on image.openshift.io/v1 Images against "
    "a trust policy, and records the outcome as signature conditions. Every error is "
    "`{code, status, message, errors}`."
)
