"""containers-registries.d(5): where the lookaside signature store of an image is.

Follows containers/image ``docker/registries_d.go``: one directory (``--registries-d``, else
``$HOME/.config/containers/registries.d`` if it exists, else ``/etc/containers/registries.d``);
every ``*.yaml`` file in it, merged, where a ``default-docker`` section or a ``docker:`` scope
defined in two files is an error; unknown keys are ignored (the Go loader unmarshals into a
struct); for an image the exact reference, then its repository and each parent namespace, then
the host (and ``*.domain`` wildcards), then ``default-docker`` — the first of these that names
a ``lookaside`` (or the legacy ``sigstore``) wins. With none, the built-in default
``file:///var/lib/containers/sigstore`` (``~/.local/share/containers/sigstore`` when not root).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from sigverify.core.policy import lookup_order
from sigverify.core.reference import DockerReference
from sigverify.errors import InputError
from sigverify.strict_input import StrictInputError, Wording, read_plain_yaml

__all__ = [
    "RegistriesConfig",
    "RegistryNamespace",
    "default_lookaside",
    "default_registries_d",
    "load_registries_d",
]

#: Largest registries.d file read, and most files read from the directory.
MAX_REGISTRIES_D_FILE_BYTES = 1024 * 1024
MAX_REGISTRIES_D_FILES = 256
_MAX_DEPTH = 8
_SYSTEM_DIR = Path("/etc/containers/registries.d")
_USER_DIR = Path(".config/containers/registries.d")

_WORDING = Wording(
    invalid_json="invalid YAML",
    invalid_yaml="invalid YAML",
    not_a_number="{name} is not a number",
    duplicate_key='duplicate key "{key}"',
    too_deep=f"nested deeper than {_MAX_DEPTH} levels",
    empty="the file holds no YAML document",
)


@dataclass(frozen=True)
class RegistryNamespace:
    """One section: where signatures of the images in a scope are read (and written)."""

    lookaside: str = ""
    lookaside_staging: str = ""
    sigstore: str = ""
    sigstore_staging: str = ""

    @property
    def read_url(self) -> str:
        """``lookaside``, else the legacy ``sigstore``; empty when neither is set."""
        return self.lookaside or self.sigstore


@dataclass(frozen=True)
class RegistriesConfig:
    """The merged ``registries.d`` configuration."""

    default_docker: RegistryNamespace | None = None
    docker: Mapping[str, RegistryNamespace] = field(default_factory=dict)
    #: Where each section came from, for messages.
    origin: Mapping[str, str] = field(default_factory=dict)

    def lookaside_for(self, image: DockerReference) -> str | None:
        """The configured lookaside base URL for ``image``, or None when nothing is set."""
        for scope in lookup_order(image)[:-1]:  # not the transport-wide "" (no such key)
            namespace = self.docker.get(scope)
            if namespace is not None and namespace.read_url:
                return namespace.read_url
        if self.default_docker is not None and self.default_docker.read_url:
            return self.default_docker.read_url
        return None

    def urls(self) -> tuple[str, ...]:
        """Every lookaside URL the configuration names (for the admission allow-list)."""
        sections = [*self.docker.values()]
        if self.default_docker is not None:
            sections.append(self.default_docker)
        return tuple(sorted({s.read_url for s in sections if s.read_url}))


def default_registries_d(home: str | None = None) -> Path:
    """``$HOME/.config/containers/registries.d`` if it exists, else the system directory."""
    home = home if home is not None else os.environ.get("HOME")
    if home:
        user = Path(home) / _USER_DIR
        if user.is_dir():
            return user
    return _SYSTEM_DIR


def default_lookaside(home: str | None = None) -> str:
    """containers/image's built-in lookaside when registries.d names none."""
    if os.geteuid() == 0:
        return "file:///var/lib/containers/sigstore"
    home = home if home is not None else os.environ.get("HOME", "")
    return Path(home, ".local/share/containers/sigstore").absolute().as_uri()


def load_registries_d(directory: Path | None = None) -> RegistriesConfig:
    """Read and merge every ``*.yaml`` file of ``directory`` (default:
    :func:`default_registries_d`); a missing directory is an empty configuration."""
    folder = directory if directory is not None else default_registries_d()
    try:
        names = sorted(entry.name for entry in os.scandir(folder) if entry.name.endswith(".yaml"))
    except FileNotFoundError:
        if directory is not None:
            raise InputError(f"registries.d directory {folder} does not exist") from None
        return RegistriesConfig()
    except OSError as exc:
        raise InputError(f"cannot read registries.d directory {folder}: {exc.strerror}") from exc
    if len(names) > MAX_REGISTRIES_D_FILES:
        raise InputError(
            f"registries.d directory {folder} holds {len(names)} YAML files; at most "
            f"{MAX_REGISTRIES_D_FILES} are read"
        )
    default: RegistryNamespace | None = None
    docker: dict[str, RegistryNamespace] = {}
    origin: dict[str, str] = {}
    for name in names:
        path = folder / name
        sections = _read_file(path)
        if "default-docker" in sections:
            if default is not None:
                raise InputError(
                    f'"default-docker" defined both in {origin["default-docker"]} and {path}'
                )
            default = sections.pop("default-docker")
            origin["default-docker"] = str(path)
        for scope, namespace in sections.items():
            if scope in docker:
                raise InputError(
                    f'"docker" namespace "{scope}" defined both in {origin[scope]} and {path}'
                )
            docker[scope] = namespace
            origin[scope] = str(path)
    return RegistriesConfig(default, MappingProxyType(docker), MappingProxyType(origin))


def _read_file(path: Path) -> dict[str, RegistryNamespace]:
    """One file's sections: ``default-docker`` under that key, ``docker:`` scopes by scope."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_REGISTRIES_D_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    if len(data) > MAX_REGISTRIES_D_FILE_BYTES:
        raise InputError(f"{path}: larger than {MAX_REGISTRIES_D_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        return {}
    try:
        value = read_plain_yaml(text, _WORDING, max_depth=_MAX_DEPTH)
    except StrictInputError as exc:
        if exc.message == _WORDING.empty:  # only comments
            return {}
        where = ".".join(str(p) for p in exc.path)
        raise InputError(f"{path}: {where + ': ' if where else ''}{exc.message}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{path}: must be a YAML mapping")
    sections: dict[str, RegistryNamespace] = {}
    # Unknown top-level keys are ignored, as containers/image's loader ignores them.
    default = value.get("default-docker")
    if default is not None:
        sections["default-docker"] = _namespace(path, "default-docker", default)
    scopes = value.get("docker")
    if scopes is not None:
        if not isinstance(scopes, dict):
            raise InputError(f"{path}: docker: must be a mapping of scopes")
        for scope, section in scopes.items():
            if scope == "default-docker":
                raise InputError(f'{path}: docker: "default-docker" is not a scope')
            sections[scope] = _namespace(path, f"docker.{scope}", section)
    return sections


def _namespace(path: Path, where: str, value: object) -> RegistryNamespace:
    if value is None:
        return RegistryNamespace()
    if not isinstance(value, dict):
        raise InputError(f"{path}: {where}: must be a mapping")
    urls: dict[str, str] = {}
    for key in ("lookaside", "lookaside-staging", "sigstore", "sigstore-staging"):
        item = value.get(key)
        if item is None:
            continue
        if not isinstance(item, str):
            raise InputError(f"{path}: {where}.{key}: must be a string (a URL)")
        urls[key.replace("-", "_")] = item
    return RegistryNamespace(**urls)
