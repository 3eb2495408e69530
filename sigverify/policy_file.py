"""Policy files: the native sigverify format and containers-policy.json(5), read strictly.

The format is detected by content: a document with ``apiVersion`` is a native sigverify
policy (YAML or JSON, see docs/policy.md); any other JSON object is a containers-policy.json.
Every problem is a :class:`~sigverify.errors.PolicyError` naming the file and the place in
the document (``scopes["quay.io/acme"][0].keys[1]: …``). Unknown fields, duplicate keys and
empty requirement lists reject the whole file, as containers/image does; YAML anchors and
aliases are refused outright, so alias expansion ("billion laughs") cannot happen.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import yaml

from sigverify.core.policy import (
    ExactReference,
    ExactRepository,
    IdentityRule,
    InsecureAcceptAnything,
    MatchExact,
    MatchRepoDigestOrExact,
    MatchRepository,
    Policy,
    Reject,
    RemapIdentity,
    Requirement,
    SignedBy,
    Unsupported,
    validate_scope,
)
from sigverify.core.reference import DockerReference, ReferenceError, parse_reference
from sigverify.errors import PolicyError
from sigverify.keyring import Keyring, PublicKey, load_key_data, load_key_file, load_keys_dir
from sigverify.limits import MAX_JSON_DEPTH, MAX_POLICY_BYTES

__all__ = [
    "API_VERSION",
    "FORMAT_CONTAINERS",
    "FORMAT_SIGVERIFY",
    "KIND",
    "LoadedPolicy",
    "load_policy",
    "parse_policy_document",
]

API_VERSION = "sigverify/v1"
KIND = "TrustPolicy"
FORMAT_SIGVERIFY = "sigverify"
FORMAT_CONTAINERS = "containers-policy.json"

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
class LoadedPolicy:
    """A policy with exactly the keys it names, and where it came from."""

    policy: Policy
    keyring: Keyring
    source: str
    format: str
    revision: str


_Parsed = TypeVar("_Parsed")


class _Invalid(Exception):
    """A problem at ``path`` in the document; becomes a PolicyError naming the file."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def load_policy(
    path: str | Path, *, keys_dir: str | Path | None = None, transport: str = "docker"
) -> LoadedPolicy:
    """Read and parse the policy file at ``path`` (see :func:`parse_policy_document`)."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError(f"{file}: cannot read policy file: {exc.strerror or exc}") from exc
    return parse_policy_document(
        data,
        source=str(file),
        keys_dir=Path(keys_dir) if keys_dir is not None else None,
        base_dir=file.parent,
        transport=transport,
    )


def parse_policy_document(
    data: bytes,
    *,
    source: str,
    keys_dir: Path | None,
    base_dir: Path,
    transport: str = "docker",
) -> LoadedPolicy:
    """Parse a policy document and load the keys it names.

    ``base_dir`` anchors relative paths (``keysDirectory``, ``keyPath``). A native policy's
    key names are resolved in ``keys_dir`` if given, else its ``keysDirectory``, else
    ``base_dir/keys``; a containers-policy.json names its key files itself and ignores
    ``keys_dir``. ``transport`` picks the containers-policy.json section.
    """
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(f"{source}: the policy file is larger than {MAX_POLICY_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"{source}: the policy file is not UTF-8 text (byte {exc.start})"
        ) from exc
    # A byte order mark carries no meaning in UTF-8; drop it so detection sees the content.
    text = text.removeprefix("\ufeff")
    try:
        is_json = text.lstrip().startswith("{")
        document = _read_json(text) if is_json else _read_yaml(text)
        if not isinstance(document, dict):
            raise _Invalid("", f"the policy must be a mapping, not {_kind(document)}")
        if "apiVersion" in document:
            policy_format = FORMAT_SIGVERIFY
            policy, keys = _NativeParser(base_dir, keys_dir).parse(document)
        elif is_json:
            policy_format = FORMAT_CONTAINERS
            policy, keys = _ContainersParser(base_dir, transport).parse(document)
        else:
            raise _Invalid(
                "",
                f'a YAML policy must start with "apiVersion: {API_VERSION}" '
                "(containers-policy.json files are JSON objects)",
            )
    except _Invalid as problem:
        where = f"{source}: {problem.path}" if problem.path else source
        raise PolicyError(f"{where}: {problem.message}") from None
    except PolicyError as exc:  # from a model constructor: still name the file
        raise PolicyError(f"{source}: {exc}") from exc
    keyring = Keyring(keys).subset(policy.fingerprints())
    revision = hashlib.sha256(data)
    revision.update(keyring.revision.encode())
    return LoadedPolicy(policy, keyring, source, policy_format, revision.hexdigest())


# -- documents: JSON and YAML to plain values, strictly ---------------------------------------


def _field(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _entry(path: str, key: str) -> str:
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Mappings whose keys are names (scopes, transports), always written in brackets.
_NAME_MAPS = re.compile(r'scopes|transports|transports\[".*"\]')


def _child(path: str, key: str) -> str:
    """The path of ``key`` in the mapping at ``path``: ``a.b`` for fields, ``a["x/y"]`` else."""
    if _IDENTIFIER.fullmatch(key) and not _NAME_MAPS.fullmatch(path):
        return _field(path, key)
    return _entry(path, key)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs, so duplicates can be reported with their path."""


def _reject_constant(name: str) -> NoReturn:
    raise _Invalid("", f"invalid JSON: {name} is not a JSON number")


def _read_json(text: str) -> object:
    try:
        raw = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _Invalid(
            "", f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise _Invalid("", f"the document is nested deeper than {MAX_JSON_DEPTH} levels") from None
    return _plain_json(raw, "", 0)


def _plain_json(value: object, path: str, depth: int) -> object:
    if depth > MAX_JSON_DEPTH:
        raise _Invalid(path, f"the document is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, _Pairs):
        result: dict[str, object] = {}
        for key, item in value:
            if key in result:
                raise _Invalid(path, f'duplicate key "{key}"')
            result[key] = _plain_json(item, _child(path, key), depth + 1)
        return result
    if isinstance(value, list):
        return [_plain_json(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    return value


class _StrictYamlLoader(yaml.SafeLoader):
    """SafeLoader composing a node tree, refusing anchors and aliases before any expansion."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise _YamlRefused("YAML aliases (*name) are not allowed", event.start_mark)
        if getattr(event, "anchor", None) is not None:
            raise _YamlRefused("YAML anchors (&name) are not allowed", event.start_mark)
        return super().compose_node(parent, index)


class _YamlRefused(Exception):
    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


def _at(mark: Any) -> str:
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


_YAML_MAP = "tag:yaml.org,2002:map"
_YAML_SEQ = "tag:yaml.org,2002:seq"
_YAML_STR = "tag:yaml.org,2002:str"
_YAML_MERGE = "tag:yaml.org,2002:merge"
_YAML_SCALARS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null")
)


def _read_yaml(text: str) -> object:
    loader = _StrictYamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise _Invalid("", "the policy file is empty")
        return _plain_yaml(loader, node, "", 0)
    except _YamlRefused as exc:
        raise _Invalid("", exc.message + _at(exc.mark)) from None
    except yaml.MarkedYAMLError as exc:
        problem = ", ".join(part for part in (exc.context, exc.problem) if part) or "syntax error"
        raise _Invalid("", f"invalid YAML: {problem}{_at(exc.problem_mark)}") from None
    except yaml.YAMLError as exc:
        raise _Invalid("", f"invalid YAML: {exc}") from None
    except RecursionError:
        raise _Invalid("", f"the document is nested deeper than {MAX_JSON_DEPTH} levels") from None
    finally:
        loader.dispose()


def _plain_yaml(loader: _StrictYamlLoader, node: yaml.Node, path: str, depth: int) -> object:
    if depth > MAX_JSON_DEPTH:
        raise _Invalid(path, f"the document is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(node, yaml.MappingNode):
        if node.tag != _YAML_MAP:
            raise _Invalid(path, f"YAML tag {node.tag} is not allowed{_at(node.start_mark)}")
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _YAML_MERGE:
                raise _Invalid(
                    path, f"YAML merge keys (<<) are not allowed{_at(key_node.start_mark)}"
                )
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _YAML_STR:
                raise _Invalid(path, f"keys must be strings{_at(key_node.start_mark)}")
            key = loader.construct_scalar(key_node)
            if key in result:
                raise _Invalid(path, f'duplicate key "{key}"{_at(key_node.start_mark)}')
            result[key] = _plain_yaml(loader, value_node, _child(path, key), depth + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _YAML_SEQ:
            raise _Invalid(path, f"YAML tag {node.tag} is not allowed{_at(node.start_mark)}")
        return [
            _plain_yaml(loader, item, f"{path}[{i}]", depth + 1)
            for i, item in enumerate(node.value)
        ]
    if node.tag not in _YAML_SCALARS:
        raise _Invalid(path, f"YAML tag {node.tag} is not allowed{_at(node.start_mark)}")
    return loader.construct_object(node, deep=True)


# -- typed access to plain values ---------------------------------------------------------------


def _mapping(
    value: object, path: str, *, required: frozenset[str], optional: frozenset[str] = frozenset()
) -> dict[str, object]:
    if not isinstance(value, dict):
        raise _Invalid(path, f"expected a mapping, got {_kind(value)}")
    for name in value:
        if name not in required and name not in optional:
            raise _Invalid(path, f'unknown field "{name}"')
    for name in sorted(required):
        if name not in value:
            raise _Invalid(path, f'missing required field "{name}"')
    return value


def _string(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(path, f"expected a string, got {_kind(value)}")
    return value


def _nonempty_string(value: object, path: str) -> str:
    text = _string(value, path)
    if not text:
        raise _Invalid(path, "must not be empty")
    return text


def _list(value: object, path: str) -> list[object]:
    if not isinstance(value, list):
        raise _Invalid(path, f"expected a list, got {_kind(value)}")
    if not value:
        raise _Invalid(path, "the list must not be empty")
    return value


def _type_of(value: object, path: str) -> tuple[dict[str, object], str]:
    if not isinstance(value, dict):
        raise _Invalid(path, f"expected a mapping, got {_kind(value)}")
    if "type" not in value:
        raise _Invalid(path, 'missing required field "type"')
    return value, _string(value["type"], _field(path, "type"))


def _requirement_list(
    value: object, path: str, parse: Callable[[object, str], _Parsed]
) -> tuple[_Parsed, ...]:
    if not isinstance(value, list):
        raise _Invalid(path, f"expected a list of requirements, got {_kind(value)}")
    if not value:
        # containers/image: "List of verification policy requirements must not be empty".
        raise _Invalid(path, "the list of requirements must not be empty")
    return tuple(parse(item, f"{path}[{i}]") for i, item in enumerate(value))


_SIMPLE_IDENTITIES: dict[str, IdentityRule] = {
    "matchExact": MatchExact(),
    "matchRepoDigestOrExact": MatchRepoDigestOrExact(),
    "matchRepository": MatchRepository(),
}
_IDENTITY_TYPES = (*_SIMPLE_IDENTITIES, "exactReference", "exactRepository", "remapIdentity")


def _identity_rule(value: object, path: str) -> IdentityRule:
    """A ``signedIdentity`` object (containers-policy.json(5); same in both formats)."""
    document, kind = _type_of(value, path)
    if kind in _SIMPLE_IDENTITIES:
        _mapping(document, path, required=frozenset({"type"}))
        return _SIMPLE_IDENTITIES[kind]
    if kind == "exactReference":
        _mapping(document, path, required=frozenset({"type", "dockerReference"}))
        where = _field(path, "dockerReference")
        reference = _reference(document["dockerReference"], where)
        if reference.name_only:
            raise _Invalid(where, f"{reference} contains neither a tag nor a digest")
        return ExactReference(reference)
    if kind == "exactRepository":
        _mapping(document, path, required=frozenset({"type", "dockerRepository"}))
        return ExactRepository(
            _reference(document["dockerRepository"], _field(path, "dockerRepository"))
        )
    if kind == "remapIdentity":
        _mapping(document, path, required=frozenset({"type", "prefix", "signedPrefix"}))
        prefix = _string(document["prefix"], _field(path, "prefix"))
        signed_prefix = _string(document["signedPrefix"], _field(path, "signedPrefix"))
        try:
            return RemapIdentity(prefix, signed_prefix)
        except PolicyError as exc:
            raise _Invalid(path, str(exc)) from None
    raise _Invalid(
        _field(path, "type"),
        f'unknown signedIdentity type "{kind}"; expected one of {", ".join(_IDENTITY_TYPES)}',
    )


def _reference(value: object, path: str) -> DockerReference:
    text = _string(value, path)
    try:
        return parse_reference(text)
    except ReferenceError as exc:
        raise _Invalid(path, f"{text!r} is not a valid reference: {exc}") from None


def _simple_requirement(document: dict[str, object], kind: str, path: str) -> Requirement | None:
    if kind == "insecureAcceptAnything":
        _mapping(document, path, required=frozenset({"type"}))
        return InsecureAcceptAnything()
    if kind == "reject":
        _mapping(document, path, required=frozenset({"type"}))
        return Reject()
    return None


# -- the native sigverify format ----------------------------------------------------------------

_NATIVE_REQUIREMENT_TYPES = ("insecureAcceptAnything", "reject", "signedBy")


class _NativeParser:
    """``apiVersion: sigverify/v1``, ``kind: TrustPolicy`` (docs/policy.md)."""

    def __init__(self, base_dir: Path, keys_dir: Path | None) -> None:
        self._base_dir = base_dir
        self._keys_dir = keys_dir
        self._keys_dir_path = ""  # where in the document the directory was named
        self._keyring: Keyring | None = None

    def parse(self, document: dict[str, object]) -> tuple[Policy, list[PublicKey]]:
        _mapping(
            document,
            "",
            required=frozenset({"apiVersion", "kind", "default"}),
            optional=frozenset({"keysDirectory", "scopes"}),
        )
        if document["apiVersion"] != API_VERSION:
            raise _Invalid(
                "apiVersion",
                f"unsupported apiVersion {document['apiVersion']!r}; expected {API_VERSION!r}",
            )
        if document["kind"] != KIND:
            raise _Invalid("kind", f"unsupported kind {document['kind']!r}; expected {KIND!r}")
        if "keysDirectory" in document and self._keys_dir is None:
            directory = _nonempty_string(document["keysDirectory"], "keysDirectory")
            self._keys_dir = self._base_dir / directory
            self._keys_dir_path = "keysDirectory"
        default = _requirement_list(document["default"], "default", self._requirement)
        scopes: dict[str, tuple[Requirement, ...]] = {}
        raw_scopes = document.get("scopes", {})
        if not isinstance(raw_scopes, dict):
            raise _Invalid("scopes", f"expected a mapping of scopes, got {_kind(raw_scopes)}")
        for scope, value in raw_scopes.items():
            path = _entry("scopes", scope)
            if scope == "":
                raise _Invalid(path, 'the "" scope is spelled "default" in a sigverify policy')
            try:
                validate_scope(scope)
            except PolicyError as exc:
                raise _Invalid(path, str(exc)) from None
            # A later format revision may accept a mapping here ({mode: …, requirements: […]})
            # for per-scope admission modes; until then a scope is exactly a requirement list.
            scopes[scope] = _requirement_list(value, path, self._requirement)
        policy = Policy(default=default, scopes=scopes)
        return policy, list(self._keyring or ())

    def _requirement(self, value: object, path: str) -> Requirement:
        document, kind = _type_of(value, path)
        simple = _simple_requirement(document, kind, path)
        if simple is not None:
            return simple
        if kind != "signedBy":
            raise _Invalid(
                _field(path, "type"),
                f'unknown requirement type "{kind}"; expected one of '
                + ", ".join(_NATIVE_REQUIREMENT_TYPES),
            )
        _mapping(
            document,
            path,
            required=frozenset({"type", "keys"}),
            optional=frozenset({"signedIdentity", "minSigners"}),
        )
        keys_path = _field(path, "keys")
        names = _list(document["keys"], keys_path)
        keyring = self._load_keyring(keys_path)
        fingerprints: dict[str, int] = {}
        for index, name in enumerate(names):
            where = f"{keys_path}[{index}]"
            try:
                key = keyring.resolve(_string(name, where))
            except PolicyError as exc:
                raise _Invalid(where, str(exc)) from None
            if key.fingerprint in fingerprints:
                raise _Invalid(
                    where,
                    f"names the same key ({key.fingerprint}) as "
                    f"{keys_path}[{fingerprints[key.fingerprint]}]",
                )
            fingerprints[key.fingerprint] = index
        identity: IdentityRule = MatchRepoDigestOrExact()
        if "signedIdentity" in document:
            identity = _identity_rule(document["signedIdentity"], _field(path, "signedIdentity"))
        min_signers = document.get("minSigners", 1)
        if isinstance(min_signers, bool) or not isinstance(min_signers, int):
            raise _Invalid(
                _field(path, "minSigners"), f"expected an integer, got {_kind(min_signers)}"
            )
        try:
            return SignedBy(frozenset(fingerprints), identity, min_signers)
        except PolicyError as exc:
            raise _Invalid(_field(path, "minSigners"), str(exc)) from None

    def _load_keyring(self, path: str) -> Keyring:
        if self._keyring is None:
            if self._keys_dir is None:
                # Neither the caller nor the policy chose one: keys/ beside the policy file.
                implicit = self._base_dir / "keys"
                if not implicit.is_dir():
                    raise _Invalid(
                        path,
                        f"no keys directory: set keysDirectory in the policy or give a keys "
                        f"directory ({implicit} does not exist)",
                    )
                self._keys_dir = implicit
            try:
                self._keyring = load_keys_dir(self._keys_dir)
            except PolicyError as exc:
                raise _Invalid(self._keys_dir_path, str(exc)) from None
        return self._keyring


# -- containers-policy.json(5) --------------------------------------------------------------------


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
        _mapping(document, "", required=frozenset({"default"}), optional=frozenset({"transports"}))
        default = self._build(_requirement_list(document["default"], "default", self._parse))
        transports = document.get("transports", {})
        if not isinstance(transports, dict):
            raise _Invalid("transports", f"expected a mapping, got {_kind(transports)}")
        scopes: dict[str, tuple[Requirement, ...]] = {}
        for name, transport_scopes in transports.items():
            transport_path = _entry("transports", name)
            if not isinstance(transport_scopes, dict):
                raise _Invalid(transport_path, f"expected a mapping, got {_kind(transport_scopes)}")
            for scope, value in transport_scopes.items():
                path = _entry(transport_path, scope)
                requirements = _requirement_list(value, path, self._parse)
                if name != self._transport:
                    continue
                try:
                    validate_scope(scope)
                except PolicyError as exc:
                    raise _Invalid(path, str(exc)) from None
                scopes[scope] = self._build(requirements)
        return Policy(default=default, scopes=scopes), list(self._keys.values())

    def _parse(self, value: object, path: str) -> Requirement | _GpgKeySources:
        """One requirement; a GPG ``signedBy`` stays unloaded until :meth:`_build`."""
        document, kind = _type_of(value, path)
        simple = _simple_requirement(document, kind, path)
        if simple is not None:
            return simple
        if kind == "signedBy":
            return self._signed_by(document, path)
        if kind == "signedBaseLayer":
            _mapping(document, path, required=frozenset({"type", "baseLayerIdentity"}))
            _identity_rule(document["baseLayerIdentity"], _field(path, "baseLayerIdentity"))
            return Unsupported(
                "signedBaseLayer",
                "signedBaseLayer is not implemented (containers/image rejects it too)",
            )
        if kind == "sigstoreSigned":
            _mapping(document, path, required=frozenset({"type"}), optional=_SIGSTORE_FIELDS)
            if "signedIdentity" in document:
                _identity_rule(document["signedIdentity"], _field(path, "signedIdentity"))
            return Unsupported(
                "sigstoreSigned",
                "sigverify verifies atomic container (GPG) signatures only; sigstore "
                "signatures cannot be checked",
            )
        raise _Invalid(
            _field(path, "type"),
            f'unknown requirement type "{kind}"; expected one of '
            + ", ".join(self._REQUIREMENT_TYPES),
        )

    def _signed_by(self, document: dict[str, object], path: str) -> Requirement | _GpgKeySources:
        _mapping(
            document,
            path,
            required=frozenset({"type", "keyType"}),
            optional=frozenset({"keyPath", "keyPaths", "keyData", "signedIdentity"}),
        )
        key_type = _string(document["keyType"], _field(path, "keyType"))
        if key_type != "GPGKeys" and key_type not in _UNSUPPORTED_KEY_TYPES:
            raise _Invalid(_field(path, "keyType"), f'unknown keyType "{key_type}"')
        given = [name for name in ("keyPath", "keyPaths", "keyData") if name in document]
        if len(given) != 1:
            raise _Invalid(
                path,
                "exactly one of keyPath, keyPaths and keyData must be given"
                + (f", not {' and '.join(given)}" if given else ""),
            )
        sources: list[tuple[str, Path | bytes]] = []
        if "keyPath" in document:
            where = _field(path, "keyPath")
            sources.append((where, self._key_path(document["keyPath"], where)))
        elif "keyPaths" in document:
            where = _field(path, "keyPaths")
            for index, item in enumerate(_list(document["keyPaths"], where)):
                sources.append((f"{where}[{index}]", self._key_path(item, f"{where}[{index}]")))
        else:
            where = _field(path, "keyData")
            sources.append((where, _key_data(document["keyData"], where)))
        identity: IdentityRule = MatchRepoDigestOrExact()
        if "signedIdentity" in document:
            identity = _identity_rule(document["signedIdentity"], _field(path, "signedIdentity"))
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
        file = Path(_nonempty_string(value, path))
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
                raise _Invalid(where, str(exc)) from None
            for key in keys:
                self._keys.setdefault(key.fingerprint, key)
                fingerprints.add(key.fingerprint)
        return SignedBy(frozenset(fingerprints), spec.identity)


def _key_data(value: object, path: str) -> bytes:
    text = _nonempty_string(value, path)
    try:
        # encoding/json decodes []byte as standard, padded base64.
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _Invalid(path, "keyData is not valid base64") from None
