"""Policy files: the native sigverify format and containers-policy.json(5), read strictly.

The format is detected by content: a document with ``apiVersion`` is a native sigverify
policy (YAML or JSON, see docs/policy.md); any other JSON object is a containers-policy.json.
Every problem is a :class:`~sigverify.errors.PolicyError` naming the file and the place in
the document (``scopes["quay.io/acme"][0].keys[1]: …``). Unknown fields, duplicate keys and
empty requirement lists reject the whole file, as containers/image does; YAML anchors and
aliases are refused outright, so alias expansion ("billion laughs") cannot happen.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sigverify.core.policy import Policy
from sigverify.errors import PolicyError
from sigverify.limits import MAX_JSON_DEPTH, MAX_POLICY_BYTES
from sigverify.openpgp.keyring import Keyring
from sigverify.policyfile import fields
from sigverify.policyfile.native import API_VERSION, KIND, _NativeParser
from sigverify.strict_input import (
    PathPart,
    StrictInputError,
    Wording,
    read_json,
    read_plain_yaml,
)

if TYPE_CHECKING:
    from sigverify.policyfile.admission import AdmissionConfig

__all__ = [
    "API_VERSION",
    "FORMAT_CONTAINERS",
    "FORMAT_SIGVERIFY",
    "KIND",
    "LoadedPolicy",
    "load_policy",
    "parse_policy_document",
]

FORMAT_SIGVERIFY = "sigverify"
FORMAT_CONTAINERS = "containers-policy.json"

_WORDING = Wording(
    invalid_json="invalid JSON",
    invalid_yaml="invalid YAML",
    not_a_number="{name} is not a JSON number",
    duplicate_key='duplicate key "{key}"',
    too_deep=f"the document is nested deeper than {MAX_JSON_DEPTH} levels",
    empty="the policy file is empty",
)


@dataclass(frozen=True)
class LoadedPolicy:
    """A policy with exactly the keys it names, and where it came from."""

    policy: Policy
    keyring: Keyring
    source: str
    format: str
    revision: str
    #: The native format's ``admission:`` section, parsed once, for the webhook (else None).
    admission: AdmissionConfig | None = None


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
        document = _read(text, is_json)
        if not isinstance(document, dict):
            raise fields.Invalid(
                "", f"the policy must be a mapping, not {fields.kind_of(document)}"
            )
        admission = None
        if "apiVersion" in document:
            policy_format = FORMAT_SIGVERIFY
            native = _NativeParser(base_dir, keys_dir)
            policy, keys = native.parse(document)
            admission = native.admission
        elif is_json:
            # Imported here: a native policy (the common case) never needs this parser.
            from sigverify.policyfile.containers import _ContainersParser

            policy_format = FORMAT_CONTAINERS
            policy, keys = _ContainersParser(base_dir, transport).parse(document)
        else:
            raise fields.Invalid(
                "",
                f'a YAML policy must start with "apiVersion: {API_VERSION}" '
                "(containers-policy.json files are JSON objects)",
            )
    except fields.Invalid as problem:
        where = f"{source}: {problem.path}" if problem.path else source
        raise PolicyError(f"{where}: {problem.message}") from None
    except PolicyError as exc:  # from a model constructor: still name the file
        raise PolicyError(f"{source}: {exc}") from exc
    keyring = Keyring(keys).subset(policy.fingerprints())
    revision = hashlib.sha256(data)
    revision.update(keyring.revision.encode())
    return LoadedPolicy(
        policy, keyring, source, policy_format, revision.hexdigest(), admission=admission
    )


# -- documents: JSON and YAML to plain values, strictly (sigverify.strict_input) ----------------


def _read(text: str, is_json: bool) -> object:
    try:
        if is_json:
            return read_json(text, _WORDING, max_depth=MAX_JSON_DEPTH)
        return read_plain_yaml(text, _WORDING, max_depth=MAX_JSON_DEPTH)
    except StrictInputError as exc:
        raise fields.Invalid(_document_path(exc.path), exc.message) from None


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Mappings whose keys are names (scopes, transports), always written in brackets.
_NAME_MAPS = re.compile(r'scopes|transports|transports\[".*"\]')


def _child(path: str, key: str) -> str:
    """The path of ``key`` in the mapping at ``path``: ``a.b`` for fields, ``a["x/y"]`` else."""
    if _IDENTIFIER.fullmatch(key) and not _NAME_MAPS.fullmatch(path):
        return fields.field(path, key)
    return fields.entry(path, key)


def _document_path(parts: tuple[PathPart, ...]) -> str:
    path = ""
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else _child(path, part)
    return path
