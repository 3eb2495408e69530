"""One settings object for the service, the reconciler and the store commands.

Layers, weakest first (style.md habit 10): the defaults below → a settings file (YAML or
JSON; ``--config`` or ``$SIGVERIFY_CONFIG``) → environment variables ``SIGVERIFY_<NAME>``
(upper-case field name, e.g. ``SIGVERIFY_PROBE_INTERVAL_SECONDS=300``) → command-line flags.
Unknown names in a file are an error; so is a value of the wrong type, at any layer.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from sigverify.errors import InputError
from sigverify.limits import MAX_JSON_DEPTH
from sigverify.strict_input import (
    StrictInputError,
    config_file_wording,
    read_json,
    read_plain_yaml,
)

__all__ = [
    "ENV_PREFIX",
    "STORE_FILE",
    "Settings",
    "bundled",
    "default_store",
    "demo_seed",
    "load_settings",
    "repository_root",
]

ENV_PREFIX = "SIGVERIFY_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_MAX_SETTINGS_BYTES = 256 * 1024
# A settings file is read as strictly as a policy: plain YAML (no anchors, aliases or tags),
# no repeated keys; an empty file is no settings.
_FILE_WORDING = config_file_wording(empty="the settings file is empty", max_depth=MAX_JSON_DEPTH)


def repository_root() -> Path:
    """The checkout this package runs from (only meaningful in a checkout; see :func:`bundled`)."""
    return Path(__file__).resolve().parents[1]


def bundled(*parts: str) -> Path:
    """A file shipped inside the package: the sample policies, keys and images.

    They live in ``sigverify/_data`` (in a checkout, links to the repository's ``policies/``,
    ``keys/`` and ``examples/``; in a wheel, the files themselves), so every default resolves
    wherever sigverify is installed and whatever the working directory.
    """
    root = importlib.resources.files("sigverify").joinpath("_data", *parts)
    # A wheel is installed unpacked, so the resource is a real file: gpg and the policy
    # loader need paths (a zipped install is not supported).
    return Path(str(root))


#: The embedded store's file name in the state folder.
STORE_FILE = "sigverify.db"


def default_store(state_folder: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The embedded store's default file: ``sigverify.db`` in the state folder."""
    from sigverify.authn.statedir import state_dir

    try:
        return str(state_dir(state_folder, environ) / STORE_FILE)
    except InputError:
        # No home and no $XDG_STATE_HOME (a bare service account): a name relative to the
        # working directory is all that is left; --store or --state-dir says otherwise.
        return str(Path("var") / STORE_FILE)


def demo_seed() -> tuple[str, ...]:
    """The sample images and image streams ``sigverify serve --demo`` loads."""
    return (str(bundled("examples", "demo")), str(bundled("examples", "store")))


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Relative paths are taken from the working directory."""

    # -- verification
    policy: str = field(
        default_factory=lambda: str(bundled("policies", "demo.yaml")),
        metadata=_doc("trust policy file (default: the bundled demo policy)"),
    )
    # None: the policy's keysDirectory, else keys/ beside the policy (never the working
    # directory's keys/, which would silently override what the policy names).
    keys: str | None = field(
        default=None, metadata=_doc("directory the policy's key names resolve against")
    )
    backend: str = field(default="auto", metadata=_doc("OpenPGP backend: auto, gnupg, native"))
    policy_reload_seconds: float = field(
        default=2.0, metadata=_doc("how often policy and key files are checked for changes")
    )
    cache_entries: int = field(default=4096, metadata=_doc("verdict cache size (GET only)"))
    cache_ttl_seconds: float = field(default=300.0, metadata=_doc("trusted verdict lifetime"))
    cache_negative_ttl_seconds: float = field(
        default=30.0, metadata=_doc("untrusted verdict lifetime")
    )
    # -- image API: an OpenShift cluster when any of these is set, else the embedded store
    kubeconfig: str | None = field(default=None, metadata=_doc("kubeconfig file"))
    context: str | None = field(default=None, metadata=_doc("kubeconfig context"))
    server: str | None = field(default=None, metadata=_doc("API server URL (with a token)"))
    token: str | None = field(default=None, metadata=_doc("bearer token"))
    token_file: str | None = field(default=None, metadata=_doc("file holding a bearer token"))
    ca_file: str | None = field(default=None, metadata=_doc("CA bundle for the API server"))
    insecure_skip_tls_verify: bool = field(default=False, metadata=_doc("do not verify TLS"))
    in_cluster: bool = field(default=False, metadata=_doc("use the pod's service account"))
    api_timeout_seconds: float = field(default=30.0, metadata=_doc("per-request timeout"))
    api_connect_timeout_seconds: float = field(default=5.0, metadata=_doc("connect timeout"))
    readiness_refresh_seconds: float = field(
        default=5.0, metadata=_doc("how old the image API state /readyz reports may get")
    )
    readiness_wait_seconds: float = field(
        default=0.8, metadata=_doc("how long /readyz waits for a refresh (below 1)")
    )
    # -- embedded store
    # "": sigverify.db in the state folder (state_dir, else $XDG_STATE_HOME/sigverify, else
    # ~/.local/state/sigverify), never the working directory (resolved in __post_init__).
    store: str = field(
        default="", metadata=_doc("embedded store file (default: sigverify.db in the state folder)")
    )
    seed: tuple[str, ...] = field(
        default=(),
        metadata=_doc("files/directories loaded into an empty embedded store (--demo: samples)"),
    )
    store_history: int = field(
        default=1000,
        metadata=_doc("changes the embedded store keeps for watches (older ones: 410 Gone)"),
    )
    admission: bool = field(
        default=True,
        metadata=_doc("serve the admission webhook (/admission/validate, /admission/mutate)"),
    )
    serve_store_api: bool = field(
        default=True,
        metadata=_doc(
            "serve the embedded store to kubectl and client libraries: discovery, OpenAPI and "
            "the OpenShift REST under /apis"
        ),
    )
    # -- condition write-back
    probe_interval_seconds: float = field(
        default=600.0, metadata=_doc("rewrite unchanged conditions once probes are this old")
    )
    write_attempts: int = field(default=5, metadata=_doc("PUT attempts on conflicts"))
    # -- serving
    host: str = field(default="127.0.0.1", metadata=_doc("listen address"))
    port: int = field(default=8080, metadata=_doc("listen port (0: any free port)"))
    workers: int = field(default=2, metadata=_doc("gunicorn worker processes"))
    threads: int = field(default=4, metadata=_doc("threads per worker"))
    request_timeout_seconds: float = field(default=60.0, metadata=_doc("worker timeout"))
    graceful_timeout_seconds: float = field(default=30.0, metadata=_doc("shutdown grace"))
    tls_cert: str | None = field(default=None, metadata=_doc("serving certificate (PEM)"))
    tls_key: str | None = field(default=None, metadata=_doc("serving key (PEM)"))
    # -- who may call (docs/service.md, "Security")
    token_auth_file: str | None = field(
        default=None,
        metadata=_doc('static tokens, kube-apiserver format: token,user,uid,"group1,group2"'),
    )
    state_dir: str | None = field(
        default=None,
        metadata=_doc("generated admin token and certificates (default $XDG_STATE_HOME/sigverify)"),
    )
    insecure_no_auth: bool = field(
        default=False, metadata=_doc("no authentication, plain HTTP allowed (loopback only)")
    )
    auth_cache_seconds: float = field(
        default=10.0, metadata=_doc("how long TokenReview/SubjectAccessReview answers are kept")
    )
    admission_client_ca: str | None = field(
        default=None,
        metadata=_doc("CA the API server's admission client certificate must chain to"),
    )
    max_body_bytes: int = field(default=16 * 1024 * 1024, metadata=_doc("largest request body"))
    log_level: str = field(default="info", metadata=_doc("debug, info, warning, error"))
    log_format: str = field(default="text", metadata=_doc("text, or json (one object a line)"))
    access_log: bool = field(
        default=False, metadata=_doc("log every HTTP request (gunicorn's access log)")
    )
    # -- reconciler
    reconcile_interval_seconds: float = field(
        default=600.0, metadata=_doc("pause between reconcile passes")
    )
    reconcile_page_size: int = field(default=100, metadata=_doc("Images per list page"))

    def __post_init__(self) -> None:
        if not self.store:
            object.__setattr__(self, "store", default_store(self.state_dir))

    @property
    def uses_cluster(self) -> bool:
        """True when an OpenShift cluster (not the embedded store) is the image API."""
        return bool(self.kubeconfig or self.server or self.in_cluster or self.context)

    def validate(self) -> Settings:
        """Raise :class:`InputError` for values no command can use; return self."""
        problems = []
        if self.backend not in ("auto", "gnupg", "native"):
            problems.append(f"backend: {self.backend!r} is not one of auto, gnupg, native")
        if not 0 <= self.port <= 65535:
            problems.append(f"port: {self.port} is out of range")
        for name in ("workers", "threads", "write_attempts", "cache_entries"):
            if getattr(self, name) < 1:
                problems.append(f"{name}: must be at least 1")
        if not 1 <= self.reconcile_page_size <= 10000:
            problems.append("reconcile_page_size: must be 1..10000")
        if not 1 <= self.store_history <= 1_000_000:
            problems.append("store_history: must be 1..1000000")
        for item in fields(self):
            if item.name.endswith("_seconds") and getattr(self, item.name) < 0:
                problems.append(f"{item.name}: must not be negative")
        # A reconcile interval of 0 would spin the reconciler against the API server.
        for name in (
            "api_timeout_seconds",
            "api_connect_timeout_seconds",
            "reconcile_interval_seconds",
        ):
            if getattr(self, name) <= 0:
                problems.append(f"{name}: must be positive")
        if self.insecure_no_auth and not _is_loopback(self.host):
            problems.append(
                f"insecure_no_auth: refused on {self.host!r}; only a loopback address may serve "
                "without authentication"
            )
        if self.admission_client_ca and self.insecure_no_auth and not self.tls_cert:
            problems.append("admission_client_ca: needs TLS (tls_cert and tls_key)")
        if self.auth_cache_seconds > 10:
            problems.append("auth_cache_seconds: must be at most 10")
        if self.insecure_no_auth and self.token_auth_file:
            problems.append("insecure_no_auth and token_auth_file: give one or the other")
        if self.readiness_wait_seconds >= 1:
            problems.append("readiness_wait_seconds: must be below 1 (/readyz answers within 1 s)")
        if bool(self.tls_cert) != bool(self.tls_key):
            problems.append("tls_cert and tls_key: give both or neither")
        if self.log_level not in ("debug", "info", "warning", "error"):
            problems.append(f"log_level: {self.log_level!r} is not debug, info, warning, error")
        if self.log_format not in ("text", "json"):
            problems.append(f"log_format: {self.log_format!r} is not text, json")
        if self.max_body_bytes < 1024:
            problems.append("max_body_bytes: must be at least 1024")
        if problems:
            raise InputError("invalid settings: " + "; ".join(problems))
        return self

    def describe(self) -> dict[str, Any]:
        """The settings as plain data, the token masked (for logs and ``--show-settings``)."""
        data = dataclasses.asdict(self)
        if data.get("token"):
            data["token"] = "***"  # noqa: S105 - a mask, not a secret
        data["seed"] = list(self.seed)
        return data


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_HINTS = get_type_hints(Settings)


def _base_type(name: str) -> tuple[type, bool]:
    hint = _HINTS[name]
    optional = False
    if get_origin(hint) in (Union, UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        optional = len(args) < len(get_args(hint))
        hint = args[0]
    origin = get_origin(hint)
    return (origin if origin is not None else hint), optional


def _convert(name: str, value: Any, where: str) -> Any:
    """``value`` (from a file, the environment or a flag) as the type of field ``name``."""
    kind, optional = _base_type(name)
    if value is None or (optional and isinstance(value, str) and value == ""):
        if optional:
            return None
        raise InputError(f"{name} cannot be empty", path=where)
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError("expected true or false")
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError("expected an integer")
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError("expected a number")
            return float(value)
        if kind is tuple:
            if isinstance(value, str):
                return tuple(part.strip() for part in value.split(",") if part.strip())
            if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
                return tuple(value)
            raise ValueError("expected a list of strings")
        if not isinstance(value, str):
            raise ValueError("expected a string")
        if not value and not optional:
            raise InputError(f"{name} cannot be empty", path=where)
        return value
    except ValueError as exc:
        raise InputError(f"{name}: {value!r}: {exc}", path=where) from exc


def _read_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_SETTINGS_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read settings: {exc.strerror or exc}", path=path) from exc
    if len(data) > _MAX_SETTINGS_BYTES:
        raise InputError("the settings file is too large", path=path)
    try:
        if path.endswith(".json"):
            document = read_json(data, _FILE_WORDING, max_depth=MAX_JSON_DEPTH)
        else:
            document = read_plain_yaml(
                data, _FILE_WORDING, max_depth=MAX_JSON_DEPTH, allow_empty=True
            )
    except StrictInputError as exc:
        raise InputError(exc.located, path=path) from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise InputError("the settings file must hold a mapping", path=path)
    return {str(k).replace("-", "_"): v for k, v in document.items()}


def load_settings(
    *,
    config_file: str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults → ``config_file`` (or ``$SIGVERIFY_CONFIG``) → environment → ``overrides``.

    ``overrides`` are the flags given on the command line; a value of None means "not given".
    """
    env = os.environ if environ is None else environ
    names = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    path = config_file or env.get(f"{ENV_PREFIX}CONFIG") or None
    if path:
        for key, value in _read_file(path).items():
            if key not in names:
                raise InputError(f"unknown setting {key!r}", path=path)
            values[key] = _convert(key, value, path)
    for name in names:
        variable = f"{ENV_PREFIX}{name.upper()}"
        if variable in env:
            values[name] = _convert(name, env[variable], variable)
    for name, value in (overrides or {}).items():
        if name not in names:
            raise InputError(f"unknown setting {name!r}")
        if value is not None:
            values[name] = _convert(name, value, f"--{name.replace('_', '-')}")
    return Settings(**values).validate()
