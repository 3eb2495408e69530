"""The native sigverify policy format: ``apiVersion: sigverify/v1``, ``kind: TrustPolicy``.

See docs/policy.md. Keys are named (fingerprint, key ID or file name) and resolved in one keys
directory; every named key must resolve to exactly one key there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sigverify.core.policy import (
    IdentityRule,
    MatchRepoDigestOrExact,
    Policy,
    Requirement,
    SignedBy,
    validate_scope,
)
from sigverify.errors import InputError, PolicyError
from sigverify.openpgp.keyring import Keyring, PublicKey, load_keys_dir
from sigverify.policyfile import fields

if TYPE_CHECKING:
    # The admission section's reader (marshmallow) loads only for a policy that has one.
    from sigverify.policyfile.admission import AdmissionConfig

API_VERSION = "sigverify/v1"
KIND = "TrustPolicy"
_NATIVE_REQUIREMENT_TYPES = ("insecureAcceptAnything", "reject", "signedBy")


class _NativeParser:
    """``apiVersion: sigverify/v1``, ``kind: TrustPolicy`` (docs/policy.md)."""

    def __init__(self, base_dir: Path, keys_dir: Path | None) -> None:
        self._base_dir = base_dir
        self._keys_dir = keys_dir
        self._keys_dir_path = ""  # where in the document the directory was named
        self._keyring: Keyring | None = None
        #: The ``admission:`` section, parsed (None when the policy has none).
        self.admission: AdmissionConfig | None = None

    def parse(self, document: dict[str, object]) -> tuple[Policy, list[PublicKey]]:
        fields.mapping(
            document,
            "",
            required=frozenset({"apiVersion", "kind", "default"}),
            optional=frozenset({"keysDirectory", "scopes", "admission"}),
        )
        if "admission" in document:
            self.admission = _parse_admission(document["admission"])
        if document["apiVersion"] != API_VERSION:
            raise fields.Invalid(
                "apiVersion",
                f"unsupported apiVersion {document['apiVersion']!r}; expected {API_VERSION!r}",
            )
        if document["kind"] != KIND:
            raise fields.Invalid(
                "kind", f"unsupported kind {document['kind']!r}; expected {KIND!r}"
            )
        if "keysDirectory" in document and self._keys_dir is None:
            directory = fields.nonempty_string(document["keysDirectory"], "keysDirectory")
            self._keys_dir = self._base_dir / directory
            self._keys_dir_path = "keysDirectory"
        default = fields.requirement_list(document["default"], "default", self._requirement)
        scopes: dict[str, tuple[Requirement, ...]] = {}
        raw_scopes = document.get("scopes", {})
        if not isinstance(raw_scopes, dict):
            raise fields.Invalid(
                "scopes", f"expected a mapping of scopes, got {fields.kind_of(raw_scopes)}"
            )
        for scope, value in raw_scopes.items():
            path = fields.entry("scopes", scope)
            if scope == "":
                raise fields.Invalid(
                    path, 'the "" scope is spelled "default" in a sigverify policy'
                )
            try:
                validate_scope(scope)
            except PolicyError as exc:
                raise fields.Invalid(path, str(exc)) from None
            # A later format revision may accept a mapping here ({mode: …, requirements: […]})
            # for per-scope admission modes; until then a scope is exactly a requirement list.
            scopes[scope] = fields.requirement_list(value, path, self._requirement)
        policy = Policy(default=default, scopes=scopes)
        return policy, list(self._keyring or ())

    def _requirement(self, value: object, path: str) -> Requirement:
        document, kind = fields.type_of(value, path)
        simple = fields.simple_requirement(document, kind, path)
        if simple is not None:
            return simple
        if kind != "signedBy":
            raise fields.Invalid(
                fields.field(path, "type"),
                f'unknown requirement type "{kind}"; expected one of '
                + ", ".join(_NATIVE_REQUIREMENT_TYPES),
            )
        fields.mapping(
            document,
            path,
            required=frozenset({"type", "keys"}),
            optional=frozenset({"signedIdentity", "minSigners"}),
        )
        keys_path = fields.field(path, "keys")
        names = fields.nonempty_list(document["keys"], keys_path)
        keyring = self._load_keyring(keys_path)
        fingerprints: dict[str, int] = {}
        for index, name in enumerate(names):
            where = f"{keys_path}[{index}]"
            try:
                key = keyring.resolve(fields.string(name, where))
            except PolicyError as exc:
                raise fields.Invalid(where, str(exc)) from None
            if key.fingerprint in fingerprints:
                raise fields.Invalid(
                    where,
                    f"names the same key ({key.fingerprint}) as "
                    f"{keys_path}[{fingerprints[key.fingerprint]}]",
                )
            fingerprints[key.fingerprint] = index
        identity: IdentityRule = MatchRepoDigestOrExact()
        if "signedIdentity" in document:
            identity = fields.identity_rule(
                document["signedIdentity"], fields.field(path, "signedIdentity")
            )
        min_signers = document.get("minSigners", 1)
        if isinstance(min_signers, bool) or not isinstance(min_signers, int):
            raise fields.Invalid(
                fields.field(path, "minSigners"),
                f"expected an integer, got {fields.kind_of(min_signers)}",
            )
        try:
            return SignedBy(frozenset(fingerprints), identity, min_signers)
        except PolicyError as exc:
            raise fields.Invalid(fields.field(path, "minSigners"), str(exc)) from None

    def _load_keyring(self, path: str) -> Keyring:
        if self._keyring is None:
            if self._keys_dir is None:
                # Neither the caller nor the policy chose one: keys/ beside the policy file.
                implicit = self._base_dir / "keys"
                if not implicit.is_dir():
                    raise fields.Invalid(
                        path,
                        f"no keys directory: set keysDirectory in the policy or give a keys "
                        f"directory ({implicit} does not exist)",
                    )
                self._keys_dir = implicit
            try:
                self._keyring = load_keys_dir(self._keys_dir)
            except PolicyError as exc:
                raise fields.Invalid(self._keys_dir_path, str(exc)) from None
        return self._keyring


def _parse_admission(section: object) -> AdmissionConfig:
    """The ``admission:`` section configures the webhook (docs/admission.md); a policy with a
    broken one is refused at load, like any other policy error."""
    if not isinstance(section, dict):
        raise fields.Invalid("admission", f"expected a mapping, got {fields.kind_of(section)}")
    from sigverify.policyfile.admission import parse_admission_config

    try:
        return parse_admission_config(section, root="")
    except InputError as exc:
        raise fields.Invalid("admission", str(exc)) from None
