"""Registry credentials (containers-auth.json(5), docker ``config.json``) and the
``WWW-Authenticate`` challenges of the distribution token and basic flows."""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sigverify.errors import InputError
from sigverify.strict_input import StrictInputError, Wording, read_json

__all__ = [
    "Challenge",
    "Credentials",
    "auth_files",
    "find_credentials",
    "parse_auths",
    "parse_challenge",
]

MAX_AUTH_FILE_BYTES = 1024 * 1024
_WORDING = Wording(
    invalid_json="invalid JSON",
    invalid_yaml="invalid JSON",
    not_a_number="{name} is not a number",
    duplicate_key='duplicate key "{key}"',
    too_deep="nested too deep",
    empty="empty",
)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = ""

    def __repr__(self) -> str:  # never print a password
        return f"Credentials(username={self.username!r})"


def auth_files(authfile: str | None = None, env: Mapping[str, str] | None = None) -> list[Path]:
    """The files credentials are looked up in, first first, as containers/image orders them:
    ``--authfile``, else ``$REGISTRY_AUTH_FILE``, else ``$XDG_RUNTIME_DIR/containers/auth.json``,
    ``$XDG_CONFIG_HOME/containers/auth.json`` and ``~/.docker/config.json``."""
    env = os.environ if env is None else env
    if authfile:
        return [Path(authfile)]
    if env.get("REGISTRY_AUTH_FILE"):
        return [Path(env["REGISTRY_AUTH_FILE"])]
    files: list[Path] = []
    if env.get("XDG_RUNTIME_DIR"):
        files.append(Path(env["XDG_RUNTIME_DIR"], "containers", "auth.json"))
    home = env.get("HOME", "")
    config_home = env.get("XDG_CONFIG_HOME") or (str(Path(home, ".config")) if home else "")
    if config_home:
        files.append(Path(config_home, "containers", "auth.json"))
    if home:
        files.append(Path(home, ".docker", "config.json"))
    return files


def find_credentials(
    host: str,
    repository: str,
    files: list[Path],
    *,
    explicit: bool = False,
    first: Sequence[tuple[str, Mapping[str, object]]] = (),
) -> Credentials | None:
    """The credentials for ``host/repository``: in each file the most specific key
    (``host/ns/repo``, …, ``host``, then docker's ``https://host/v1/`` forms); the first file
    that has one wins. A missing file is skipped unless it was named explicitly.

    ``first``: in-memory ``auths`` mappings (``(where, auths)``, e.g. the webhook's pod pull
    secrets read by :func:`parse_auths`), looked up the same way before any file. A key
    names its host, so credentials are only ever found for the host they are for."""
    keys = _keys(host, repository)
    sources: list[tuple[str, Mapping[str, object] | Path]] = [*first]
    sources += [(f"auth file {path}", path) for path in files]
    for where, source in sources:
        auths = _read_auths(source, explicit=explicit) if isinstance(source, Path) else source
        for key in keys:
            entry = auths.get(key)
            if entry is None:
                continue
            credentials = _credentials(where, key, entry)
            if credentials is not None:
                return credentials
    return None


def parse_auths(
    data: bytes, where: str, *, legacy: bool = False, check_entries: bool = True
) -> Mapping[str, object]:
    """The ``auths`` mapping of a containers-auth.json / docker ``config.json`` document
    (``legacy``: a ``.dockercfg``, the mapping itself), parsed strictly and bounded, every
    entry checked unless ``check_entries`` is false; :class:`InputError` naming ``where``
    (``auth file PATH``, ``pull secret NS/NAME``) when it is not one."""
    if len(data) > MAX_AUTH_FILE_BYTES:
        raise InputError(f"{where} is larger than {MAX_AUTH_FILE_BYTES} bytes")
    try:
        value = read_json(data.decode("utf-8"), _WORDING, max_depth=8)
    except (UnicodeDecodeError, StrictInputError) as exc:
        message = exc.message if isinstance(exc, StrictInputError) else "not valid UTF-8"
        raise InputError(f"{where}: {message}") from None
    if not isinstance(value, dict):
        raise InputError(f"{where}: must be a JSON object")
    auths = value if legacy else value.get("auths", {})
    if not isinstance(auths, dict):
        raise InputError(f"{where}: auths must be an object")
    for key, entry in auths.items() if check_entries else ():
        _credentials(where, key, entry)
    return auths


def _keys(host: str, repository: str) -> list[str]:
    keys = []
    namespace = f"{host}/{repository}"
    while True:
        keys.append(namespace)
        if "/" not in namespace:
            break
        namespace = namespace.rsplit("/", 1)[0]
    keys += [f"https://{host}/v1/", f"https://{host}", f"http://{host}"]
    if host == "docker.io":
        keys += ["https://index.docker.io/v1/", "index.docker.io"]
    return keys


def _read_auths(path: Path, *, explicit: bool) -> Mapping[str, object]:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_AUTH_FILE_BYTES + 1)
    except FileNotFoundError:
        if explicit:
            raise InputError(f"auth file {path} does not exist") from None
        return {}
    except OSError as exc:
        raise InputError(f"cannot read auth file {path}: {exc.strerror}") from exc
    # An entry is checked when it is used: a bad one for another registry is not our error.
    return parse_auths(data, f"auth file {path}", check_entries=False)


def _credentials(where: str, key: str, entry: object) -> Credentials | None:
    path = where  # "auth file PATH", "pull secret NS/NAME"
    if not isinstance(entry, dict):
        raise InputError(f"{path}: auths[{key!r}] must be an object")
    auth = entry.get("auth")
    if auth is None or auth == "":
        return None  # e.g. an entry served by a credential helper: not ours to run
    if not isinstance(auth, str):
        raise InputError(f"{path}: auths[{key!r}].auth must be a string")
    try:
        decoded = base64.b64decode(auth, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InputError(f"{path}: auths[{key!r}].auth is not base64") from None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        raise InputError(f"{path}: auths[{key!r}].auth is not USER:PASSWORD")
    return Credentials(username, password)


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: ``scheme`` lower-case, its parameters."""

    scheme: str
    params: Mapping[str, str]


_HTTP_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # noqa: S105 - RFC 7230 tchar, not a password
_PARAM = re.compile(rf'\s*({_HTTP_TOKEN})\s*=\s*(?:"((?:[^"\\]|\\.)*)"|({_HTTP_TOKEN}))\s*(,|$)')


def parse_challenge(header: str | None) -> Challenge | None:
    """The first challenge of a ``WWW-Authenticate`` value (RFC 7235 auth-params), or None
    when there is none or it does not parse."""
    if not header or len(header) > 4096:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if not re.fullmatch(_HTTP_TOKEN, scheme):
        return None
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if match is None:
            break  # a second challenge, or junk: keep what parsed
        value = match.group(2)
        value = re.sub(r"\\(.)", r"\1", value) if value is not None else match.group(3)
        params.setdefault(match.group(1).lower(), value)
        position = match.end()
    return Challenge(scheme.lower(), params)
