"""Registry credentials from the pod, as the kubelet hands them to CRI-O: the pod's
``imagePullSecrets`` and then its service account's, Secrets of type
``kubernetes.io/dockerconfigjson`` (``.dockerconfigjson``) or ``kubernetes.io/dockercfg``
(``.dockercfg``) in the pod's namespace. They come before ``admission.registries.authFile``.

Bounded: at most :data:`MAX_PULL_SECRETS` secrets per pod, each value at most
``MAX_AUTH_FILE_BYTES``; parsed strictly (sources.auth.parse_auths). A secret (or the service
account) that cannot be read or parsed is skipped with a logged reason: it never crashes the
check and never admits anything by itself — at worst the lookup goes without it. The
credentials are looked up by host like an auth file's, so they are only sent to the registry
(and its token realm) they are for.

Nothing is read until a registry lookup needs it, once per admission request.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from sigverify.errors import InputError
from sigverify.imageapi.errors import ClusterError
from sigverify.sources.auth import MAX_AUTH_FILE_BYTES, parse_auths

__all__ = [
    "MAX_PULL_SECRETS",
    "PullSecrets",
    "SecretReader",
    "pull_secret_names",
]

#: Secrets read for one pod (its own and its service account's together).
MAX_PULL_SECRETS = 16
_MAX_NAME = 253
_TYPES = {
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson", False),
    "kubernetes.io/dockercfg": (".dockercfg", True),
}
_log = logging.getLogger("sigverify.admission")

Auths = tuple[tuple[str, Mapping[str, object]], ...]


@runtime_checkable
class SecretReader(Protocol):
    """The cluster reads pull credentials need (read-only; sigverify.imageapi.openshift)."""

    def get_secret(self, namespace: str, name: str) -> dict[str, Any]: ...

    def get_service_account(self, namespace: str, name: str) -> dict[str, Any]: ...


def _names(value: object) -> list[str]:
    """``[{name: …}, …]`` → the names; anything malformed in it is ignored."""
    if not isinstance(value, list):
        return []
    names = []
    for entry in value[: MAX_PULL_SECRETS * 4]:
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if isinstance(name, str) and 0 < len(name) <= _MAX_NAME and "/" not in name:
            names.append(name)
    return names


def pull_secret_names(spec: Mapping[str, Any] | None) -> tuple[list[str], str]:
    """The pod spec's ``imagePullSecrets`` names and its service account (``default``)."""
    if not isinstance(spec, Mapping):
        return [], "default"
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    if not isinstance(account, str) or len(account) > _MAX_NAME or "/" in account:
        account = "default"
    return _names(spec.get("imagePullSecrets")), account


class PullSecrets:
    """One pod's pull credentials, read on first use (thread-safe, at most once)."""

    def __init__(
        self,
        reader: SecretReader | None,
        namespace: str,
        spec: Mapping[str, Any] | None,
    ) -> None:
        self._reader = reader
        self._namespace = namespace
        self._spec = spec
        self._lock = threading.Lock()
        self._auths: Auths | None = None

    def auths(self) -> Auths:
        """``(where, auths)`` per secret that parsed, pod's first, then the account's."""
        with self._lock:
            if self._auths is None:
                self._auths = self._read() if self._reader is not None else ()
            return self._auths

    def _read(self) -> Auths:
        assert self._reader is not None
        names, account = pull_secret_names(self._spec)
        try:
            document = self._reader.get_service_account(self._namespace, account)
            names += _names(document.get("imagePullSecrets"))
        except (ClusterError, InputError) as exc:
            _log.warning(
                "pull secrets of service account %s/%s not read: %s",
                self._namespace,
                account,
                exc,
            )
        names = list(dict.fromkeys(names))
        if len(names) > MAX_PULL_SECRETS:
            _log.warning(
                "pod in %s names %d pull secrets; only the first %d are read",
                self._namespace,
                len(names),
                MAX_PULL_SECRETS,
            )
        found: list[tuple[str, Mapping[str, object]]] = []
        for name in names[:MAX_PULL_SECRETS]:
            where = f"pull secret {self._namespace}/{name}"
            try:
                found.append((where, self._secret(name, where)))
            except (ClusterError, InputError) as exc:
                _log.warning("%s skipped: %s", where, exc)
        return tuple(found)

    def _secret(self, name: str, where: str) -> Mapping[str, object]:
        assert self._reader is not None
        secret = self._reader.get_secret(self._namespace, name)
        kind = secret.get("type")
        if not isinstance(kind, str) or kind not in _TYPES:
            raise InputError(f"type {kind!r} is not a docker config secret")
        field, legacy = _TYPES[kind]
        data = secret.get("data")
        value = data.get(field) if isinstance(data, Mapping) else None
        if not isinstance(value, str):
            raise InputError(f"data[{field!r}] is missing or not a string")
        if len(value) > (MAX_AUTH_FILE_BYTES * 4) // 3 + 4:
            raise InputError(f"data[{field!r}] is larger than {MAX_AUTH_FILE_BYTES} bytes")
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error:
            raise InputError(f"data[{field!r}] is not base64") from None
        return parse_auths(raw, where, legacy=legacy)
