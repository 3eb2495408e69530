"""containers-policy.json(5), read as containers/image reads it.

Key files are named by the policy itself (``keyPath``, ``keyPaths``, ``keyData``); requirement
types sigverify cannot evaluate are kept as :class:`~sigverify.core.policy.Unsupported`, so a
policy that relies on them fails closed.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

from sigverify.core.policy import (
    IdentityRule,
    MatchRepoDigestOrExact,
    Policy,
    Requirement,
    SignedBy,
    Unsupported,
    validate_scope,
)
from sigverify.errors import PolicyError
from sigverify.openpgp.keyring import PublicKey, load_key_data, load_key_file
from sigverify.policyfile import fields

#: containers-policy.json(5) ``sigstoreSigned`` fields (containers/image up to v5.3x). We
#: never evaluate sigstore signatures, so we check only that no unknown field is present.
_SIGSTORE_FIELDS = frozenset(
    {
        "type",
        "keyPath",
        "keyPaths",
        "keyData",
        "keyDatas",
        "fulcio",
        "pki",
        "rekorPublicKeyPath",
        "rekorPublicKeyPaths",
        "rekorPublicKeyData",
        "rekorPublicKeyDatas",
        "signedIdentity",
    }
)
_UNSUPPORTED_KEY_TYPES = frozenset({"signedByGPGKeys", "X509Certificates", "signedByX509CAs"})


@dataclass(frozen=True)
class _GpgKeySources:
    """A ``signedBy`` with ``keyType: GPGKeys`` before its key files are read."""

    sources: tuple[tuple[str, Path | bytes], ...]  # (document path, file or inline data)
    identity: IdentityRule


class _ContainersParser:
    """containers-policy.json(5): ``default`` and ``transports``, as containers/image reads it.

    Every transport's requirements are checked (an invalid one anywhere rejects the file);
    only ``default`` and the chosen transport's scopes are kept and have their keys loaded.
    """

    _REQUIREMENT_TYPES = (
        "insecureAcceptAnything",
        "reject",
        "signedBy",
        "signedBaseLayer",
        "sigstoreSigned",
    )

    def __init__(self, base_dir: Path, transport: str) -> None:
        self._base_dir = base_dir
        self._transport = transport
        self._key_files: dict[Path, list[PublicKey]] = {}
        self._keys: dict[str, PublicKey] = {}

    def parse(self, document: dict[str, object]) -> tuple[Policy, list[PublicKey]]:
        fields.mapping(
            document, "", required=frozenset({"default"}), optional=frozenset({"transports"})
        )
        default = self._build(fields.requirement_list(document["default"], "default", self._parse))
        transports = document.get("transports", {})
        if not isinstance(transports, dict):
            raise fields.Invalid(
                "transports", f"expected a mapping, got {fields.kind_of(transports)}"
            )
        scopes: dict[str, tuple[Requirement, ...]] = {}
        for name, transport_scopes in transports.items():
            transport_path = fields.entry("transports", name)
            if not isinstance(transport_scopes, dict):
                raise fields.Invalid(
                    transport_path, f"expected a mapping, got {fields.kind_of(transport_scopes)}"
                )
            for scope, value in transport_scopes.items():
                path = fields.entry(transport_path, scope)
                requirements = fields.requirement_list(value, path, self._parse)
                if name != self._transport:
                    continue
                try:
                    validate_scope(scope)
                except PolicyError as exc:
                    raise fields.Invalid(path, str(exc)) from None
                scopes[scope] = self._build(requirements)
        return Policy(default=default, scopes=scopes), list(self._keys.values())

    def _parse(self, value: object, path: str) -> Requirement | _GpgKeySources:
        """One requirement; a GPG ``signedBy`` stays unloaded until :meth:`_build`."""
        document, kind = fields.type_of(value, path)
        simple = fields.simple_requirement(document, kind, path)
        if simple is not None:
            return simple
        if kind == "signedBy":
            return self._signed_by(document, path)
        if kind == "signedBaseLayer":
            fields.mapping(document, path, required=frozenset({"type", "baseLayerIdentity"}))
            fields.identity_rule(
                document["baseLayerIdentity"], fields.field(path, "baseLayerIdentity")
            )
            return Unsupported(
                "signedBaseLayer",
                "signedBaseLayer is not implemented (containers/image rejects it too)",
            )
        if kind == "sigstoreSigned":
            fields.mapping(document, path, required=frozenset({"type"}), optional=_SIGSTORE_FIELDS)
            if "signedIdentity" in document:
                fields.identity_rule(
                    document["signedIdentity"], fields.field(path, "signedIdentity")
                )
            return Unsupported(
                "sigstoreSigned",
                "sigverify verifies atomic container (GPG) signatures only; sigstore "
                "signatures cannot be checked",
            )
        raise fields.Invalid(
            fields.field(path, "type"),
            f'unknown requirement type "{kind}"; expected one of '
            + ", ".join(self._REQUIREMENT_TYPES),
        )

    def _signed_by(self, document: dict[str, object], path: str) -> Requirement | _GpgKeySources:
        fields.mapping(
            document,
            path,
            required=frozenset({"type", "keyType"}),
            optional=frozenset({"keyPath", "keyPaths", "keyData", "signedIdentity"}),
        )
        key_type = fields.string(document["keyType"], fields.field(path, "keyType"))
        if key_type != "GPGKeys" and key_type not in _UNSUPPORTED_KEY_TYPES:
            raise fields.Invalid(fields.field(path, "keyType"), f'unknown keyType "{key_type}"')
        given = [name for name in ("keyPath", "keyPaths", "keyData") if name in document]
        if len(given) != 1:
            raise fields.Invalid(
                path,
                "exactly one of keyPath, keyPaths and keyData must be given"
                + (f", not {' and '.join(given)}" if given else ""),
            )
        sources: list[tuple[str, Path | bytes]] = []
        if "keyPath" in document:
            where = fields.field(path, "keyPath")
            sources.append((where, self._key_path(document["keyPath"], where)))
        elif "keyPaths" in document:
            where = fields.field(path, "keyPaths")
            for index, item in enumerate(fields.nonempty_list(document["keyPaths"], where)):
                sources.append((f"{where}[{index}]", self._key_path(item, f"{where}[{index}]")))
        else:
            where = fields.field(path, "keyData")
            sources.append((where, _key_data(document["keyData"], where)))
        identity: IdentityRule = MatchRepoDigestOrExact()
        if "signedIdentity" in document:
            identity = fields.identity_rule(
                document["signedIdentity"], fields.field(path, "signedIdentity")
            )
        if key_type != "GPGKeys":
            return Unsupported(
                f'signedBy keyType "{key_type}"',
                f'keyType "{key_type}" is not implemented (containers/image rejects it too); '
                'only "GPGKeys" can be verified',
            )
        return _GpgKeySources(tuple(sources), identity)

    def _key_path(self, value: object, path: str) -> Path:
        # **Ours**: a relative keyPath is resolved against the policy file's directory.
        # containers/image opens it relative to the process's working directory, which
        # would make the trusted keys depend on where the verifier happens to run.
        file = Path(fields.nonempty_string(value, path))
        return file if file.is_absolute() else self._base_dir / file

    def _build(self, parsed: tuple[Requirement | _GpgKeySources, ...]) -> tuple[Requirement, ...]:
        return tuple(
            self._load(item) if isinstance(item, _GpgKeySources) else item for item in parsed
        )

    def _load(self, spec: _GpgKeySources) -> SignedBy:
        # The trust set is every primary key in the named key files (containers/image:
        # newEphemeralGPGSigningMechanism imports them all).
        fingerprints: set[str] = set()
        for where, source in spec.sources:
            try:
                if isinstance(source, Path):
                    if source not in self._key_files:
                        self._key_files[source] = load_key_file(source)
                    keys = self._key_files[source]
                else:
                    keys = load_key_data(source, "inline key data")
            except PolicyError as exc:
                raise fields.Invalid(where, str(exc)) from None
            for key in keys:
                self._keys.setdefault(key.fingerprint, key)
                fingerprints.add(key.fingerprint)
        return SignedBy(frozenset(fingerprints), spec.identity)


def _key_data(value: object, path: str) -> bytes:
    text = fields.nonempty_string(value, path)
    try:
        # encoding/json decodes []byte as standard, padded base64.
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise fields.Invalid(path, "keyData is not valid base64") from None
