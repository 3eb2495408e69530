"""The admission configuration: modes, exemptions, unpinned tags, fail-open, deadline, cache.

Parsed from the ``admission:`` section of the policy file (or a file of its own) with
unknown fields rejected at every level: a misspelt ``exemptNamespace`` must not silently
leave a namespace unprotected. Exemptions live here, never in labels, because anyone who can
edit a namespace can set a label (issue 5, §3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from sigverify.core.policy import validate_scope
from sigverify.core.reference import DOMAIN_PATTERN
from sigverify.errors import InputError, PolicyError
from sigverify.limits import MAX_JSON_DEPTH
from sigverify.objects.strict_fields import StrictBoolean, StrictNumber
from sigverify.strict_input import (
    StrictInputError,
    config_file_wording,
    read_json,
    read_plain_yaml,
)

__all__ = [
    "DEFAULT_INTERNAL_REGISTRY_HOSTS",
    "AdmissionConfig",
    "CacheConfig",
    "Mode",
    "NamespaceRule",
    "RegistryAccess",
    "ScopeRule",
    "UnpinnedTags",
    "load_admission_config",
    "parse_admission_config",
]

#: The OpenShift internal registry's in-cluster service name.
DEFAULT_INTERNAL_REGISTRY_HOSTS = ("image-registry.openshift-image-registry.svc:5000",)
#: Largest admission configuration file read, in bytes.
MAX_CONFIG_BYTES = 1024 * 1024
# The file is read as strictly as the policy whose section it stands in for.
_FILE_WORDING = config_file_wording(empty="the file is empty", max_depth=MAX_JSON_DEPTH)
#: Kubernetes caps a webhook's timeoutSeconds at 30 (admissionregistration.k8s.io/v1).
MAX_WEBHOOK_TIMEOUT_SECONDS = 30

# RFC 1123 label: what a namespace name must be.
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# A prefix exemption (``openshift-*``): the start of a namespace name, ending in "-", then one
# "*" and nothing else. Requiring the "-" keeps ``kube*`` from also exempting a namespace
# called ``kubeflow-team``; nothing but a trailing "*" is a pattern, so no name is ever read
# as a glob by accident.
_NAMESPACE_PREFIX = re.compile(r"[a-z0-9][-a-z0-9]{0,61}-\*")
_REGISTRY_HOST = re.compile(DOMAIN_PATTERN, re.ASCII)


class Mode(StrEnum):
    """What a failed check does: deny, allow with a warning, or allow with an annotation."""

    ENFORCE = "enforce"
    WARN = "warn"
    AUDIT = "audit"


class UnpinnedTags(StrEnum):
    """What to do with a tag that no image stream resolves (we never ask a registry)."""

    REJECT = "reject"
    ALLOW = "allow"


@dataclass(frozen=True)
class ScopeRule:
    """Treatment of images under one scope; ``None`` fields inherit the global value."""

    mode: Mode | None = None
    fail_open: bool = False
    unpinned_tags: UnpinnedTags | None = None


@dataclass(frozen=True)
class NamespaceRule:
    """Treatment of workloads in one namespace; its mode wins over any scope's mode."""

    mode: Mode


@dataclass(frozen=True)
class CacheConfig:
    max_entries: int = 10_000
    ttl_seconds: float = 300.0
    negative_ttl_seconds: float = 30.0
    image_ttl_seconds: float = 2.0  # image API answers (0: ask the API on every admission)


@dataclass(frozen=True)
class RegistryAccess:
    """Looking up images that have no Image object in their registries (docs/sources.md).

    Off by default. When on, only hosts named by the trust policy's scopes, by registries.d
    or by ``allowed_hosts`` are ever contacted (no SSRF from a pod spec); any other image is
    decided without a network call.
    """

    enabled: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    registries_d: str | None = None  # default: containers' own choice of directory
    auth_file: str | None = None
    certs_directory: str = "/etc/containers/certs.d"  # <dir>/<host[:port]>/, certs.d(5)
    tls_verify: bool = True
    timeout_seconds: float = 5.0  # one request; the admission deadline bounds the whole


@dataclass(frozen=True)
class AdmissionConfig:
    """Everything the admission webhook needs besides the trust policy itself."""

    mode: Mode = Mode.ENFORCE
    unpinned_tags: UnpinnedTags = UnpinnedTags.REJECT
    namespaces: Mapping[str, NamespaceRule] = field(default_factory=dict)
    scopes: Mapping[str, ScopeRule] = field(default_factory=dict)
    exempt_namespaces: frozenset[str] = frozenset()
    exempt_namespace_prefixes: tuple[str, ...] = ()  # "openshift-" for "openshift-*"
    exempt_images: frozenset[str] = frozenset()
    own_namespace: str = "sigverify"
    exempt_own_namespace: bool = True
    internal_registry_hosts: tuple[str, ...] = DEFAULT_INTERNAL_REGISTRY_HOSTS
    timeout_seconds: int = 10
    deadline_seconds: float = 8.0
    workers: int = 16
    cache: CacheConfig = field(default_factory=CacheConfig)
    registries: RegistryAccess = field(default_factory=RegistryAccess)

    def is_exempt_namespace(self, namespace: str) -> bool:
        if self.exempt_own_namespace and namespace == self.own_namespace:
            return True
        if namespace in self.exempt_namespaces:
            return True
        return any(namespace.startswith(prefix) for prefix in self.exempt_namespace_prefixes)

    @property
    def all_exempt_namespaces(self) -> frozenset[str]:
        """The namespaces by name the webhook's namespaceSelector should skip.

        A selector cannot match a prefix: namespaces exempt only by a prefix are still sent
        to the webhook, which allows them without a check.
        """
        own = {self.own_namespace} if self.exempt_own_namespace else set()
        return self.exempt_namespaces | own


# -- parsing --------------------------------------------------------------------------------


def _scope_key(value: str) -> None:
    # The trust policy's own scope rules: a scope that can never match is an error.
    try:
        validate_scope(value)
    except PolicyError as exc:
        raise ValidationError(str(exc)) from exc


def _namespace_name(value: str) -> None:
    if not _NAMESPACE.fullmatch(value):
        raise ValidationError(f"{value!r} is not a namespace name")


def _exempt_namespace(value: str) -> None:
    if _NAMESPACE.fullmatch(value) or _NAMESPACE_PREFIX.fullmatch(value):
        return
    raise ValidationError(
        f"{value!r} is neither a namespace name nor a prefix such as 'openshift-*'"
    )


def _registry_host(value: str) -> None:
    host_like = "." in value or ":" in value or value == "localhost"
    if not _REGISTRY_HOST.fullmatch(value) or not host_like:
        raise ValidationError(f"{value!r} is not a registry host[:port]")


_MODES = validate.OneOf([m.value for m in Mode])
_UNPINNED = validate.OneOf([u.value for u in UnpinnedTags])


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _ScopeSchema(_Strict):
    mode = fields.String(validate=_MODES)
    failOpen = StrictBoolean()
    unpinnedTags = fields.String(validate=_UNPINNED)


class _NamespaceSchema(_Strict):
    mode = fields.String(required=True, validate=_MODES)


class _CacheSchema(_Strict):
    maxEntries = fields.Integer(strict=True, validate=validate.Range(min=1, max=10_000_000))
    ttlSeconds = StrictNumber(validate=validate.Range(min=0, max=86_400))
    negativeTtlSeconds = StrictNumber(validate=validate.Range(min=0, max=86_400))
    imageTtlSeconds = StrictNumber(validate=validate.Range(min=0, max=300))


class _RegistriesSchema(_Strict):
    enabled = StrictBoolean()
    allowedHosts = fields.List(fields.String(validate=_registry_host))
    registriesD = fields.String(validate=validate.Length(min=1))
    authFile = fields.String(validate=validate.Length(min=1))
    certsDirectory = fields.String(validate=validate.Length(min=1))
    tlsVerify = StrictBoolean()
    timeoutSeconds = StrictNumber(validate=validate.Range(min=0.01, max=29.5))


class _AdmissionSchema(_Strict):
    mode = fields.String(validate=_MODES)
    unpinnedTags = fields.String(validate=_UNPINNED)
    namespaces = fields.Dict(
        keys=fields.String(validate=_namespace_name), values=fields.Nested(_NamespaceSchema)
    )
    scopes = fields.Dict(
        keys=fields.String(validate=_scope_key), values=fields.Nested(_ScopeSchema)
    )
    exemptNamespaces = fields.List(fields.String(validate=_exempt_namespace))
    exemptImages = fields.List(fields.String(validate=_scope_key))
    ownNamespace = fields.String(validate=_namespace_name)
    exemptOwnNamespace = StrictBoolean()
    internalRegistryHosts = fields.List(fields.String(validate=_registry_host))
    timeoutSeconds = fields.Integer(
        strict=True, validate=validate.Range(min=1, max=MAX_WEBHOOK_TIMEOUT_SECONDS)
    )
    deadlineSeconds = StrictNumber(validate=validate.Range(min=0.01, max=29.5))
    workers = fields.Integer(strict=True, validate=validate.Range(min=1, max=256))
    cache = fields.Nested(_CacheSchema)
    registries = fields.Nested(_RegistriesSchema)

    @validates_schema
    def _deadline_below_timeout(self, data: dict[str, Any], **_: Any) -> None:
        timeout = data.get("timeoutSeconds", AdmissionConfig.timeout_seconds)
        deadline = data.get("deadlineSeconds", AdmissionConfig.deadline_seconds)
        # The answer must reach the API server before it gives up on the webhook, or the
        # webhook's failurePolicy (not our message) decides.
        if deadline >= timeout:
            raise ValidationError(
                f"deadlineSeconds ({deadline:g}) must be below timeoutSeconds ({timeout})",
                "deadlineSeconds",
            )


def _flatten(messages: Any, prefix: str) -> list[str]:
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            out.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix}: {m}" if prefix else m for m in messages]
    if isinstance(messages, list):
        return [line for m in messages for line in _flatten(m, prefix)]
    return [f"{prefix}: {messages}" if prefix else str(messages)]


def parse_admission_config(
    section: Mapping[str, Any] | None, *, root: str = "admission"
) -> AdmissionConfig:
    """Build an :class:`AdmissionConfig` from the ``admission:`` mapping (``None``: defaults).

    Problems are named from ``root`` (``admission.mode: …``); ``root=""`` names them from
    inside the section, for a caller that prefixes its own path.
    """
    if section is None:
        return AdmissionConfig()
    if not isinstance(section, Mapping):
        raise InputError("must be a mapping", path=root or None)
    try:
        data = _AdmissionSchema().load(dict(section))
    except ValidationError as exc:
        raise InputError("; ".join(sorted(_flatten(exc.messages, root)))) from exc
    defaults = AdmissionConfig()
    cache = data.get("cache", {})
    registries = data.get("registries", {})
    access = RegistryAccess()
    return AdmissionConfig(
        mode=Mode(data.get("mode", defaults.mode)),
        unpinned_tags=UnpinnedTags(data.get("unpinnedTags", defaults.unpinned_tags)),
        namespaces={
            name: NamespaceRule(mode=Mode(rule["mode"]))
            for name, rule in data.get("namespaces", {}).items()
        },
        scopes={
            scope: ScopeRule(
                mode=Mode(rule["mode"]) if "mode" in rule else None,
                fail_open=rule.get("failOpen", False),
                unpinned_tags=(
                    UnpinnedTags(rule["unpinnedTags"]) if "unpinnedTags" in rule else None
                ),
            )
            for scope, rule in data.get("scopes", {}).items()
        },
        exempt_namespaces=frozenset(
            name for name in data.get("exemptNamespaces", ()) if not name.endswith("*")
        ),
        exempt_namespace_prefixes=tuple(
            sorted({name[:-1] for name in data.get("exemptNamespaces", ()) if name.endswith("*")})
        ),
        exempt_images=frozenset(data.get("exemptImages", ())),
        own_namespace=data.get("ownNamespace", defaults.own_namespace),
        exempt_own_namespace=data.get("exemptOwnNamespace", defaults.exempt_own_namespace),
        internal_registry_hosts=tuple(
            data.get("internalRegistryHosts", defaults.internal_registry_hosts)
        ),
        timeout_seconds=data.get("timeoutSeconds", defaults.timeout_seconds),
        deadline_seconds=data.get("deadlineSeconds", defaults.deadline_seconds),
        workers=data.get("workers", defaults.workers),
        cache=CacheConfig(
            max_entries=cache.get("maxEntries", defaults.cache.max_entries),
            ttl_seconds=cache.get("ttlSeconds", defaults.cache.ttl_seconds),
            negative_ttl_seconds=cache.get(
                "negativeTtlSeconds", defaults.cache.negative_ttl_seconds
            ),
            image_ttl_seconds=cache.get("imageTtlSeconds", defaults.cache.image_ttl_seconds),
        ),
        registries=RegistryAccess(
            enabled=registries.get("enabled", access.enabled),
            allowed_hosts=frozenset(registries.get("allowedHosts", ())),
            registries_d=registries.get("registriesD", access.registries_d),
            auth_file=registries.get("authFile", access.auth_file),
            certs_directory=registries.get("certsDirectory", access.certs_directory),
            tls_verify=registries.get("tlsVerify", access.tls_verify),
            timeout_seconds=registries.get("timeoutSeconds", access.timeout_seconds),
        ),
    )


def load_admission_config(path: str | Path) -> AdmissionConfig:
    """Read a YAML or JSON file whose top level holds exactly one ``admission:`` section."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    try:
        if path.suffix == ".json":
            document = read_json(
                raw, _FILE_WORDING, max_depth=MAX_JSON_DEPTH, max_bytes=MAX_CONFIG_BYTES
            )
        else:
            document = read_plain_yaml(
                raw, _FILE_WORDING, max_depth=MAX_JSON_DEPTH, max_bytes=MAX_CONFIG_BYTES
            )
    except StrictInputError as exc:
        raise InputError(exc.located, path=str(path)) from exc
    if not isinstance(document, dict) or set(document) != {"admission"}:
        raise InputError("the top level must hold exactly an 'admission' mapping", path=str(path))
    try:
        return parse_admission_config(document["admission"])
    except InputError as exc:
        raise InputError(str(exc), path=str(path)) from exc
