"""The loaded policy, keys and backend, reloaded when their files change or on SIGHUP.

A reload builds a complete new :class:`~sigverify.engine.verifier.Verifier` off to the side
and swaps it in with one assignment, so requests in flight finish with the verifier they
started with and none is dropped. A new policy that does not load (syntax, unknown key,
missing file) is refused: the old verifier stays, the error is logged and shown by
``/readyz``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sigverify.engine.verifier import Verifier, make_backend
from sigverify.errors import PolicyError, SigverifyError
from sigverify.openpgp.backend import SignatureBackend
from sigverify.policyfile.loader import LoadedPolicy, load_policy

if TYPE_CHECKING:
    import logging

__all__ = ["PolicyHolder", "PolicyInUse", "PolicyStatus", "load_verifier", "verifier_for"]


def _log() -> logging.Logger:
    """The service's logger; logging is imported by the holder's reloads only (a one-shot
    ``sigverify verify`` never loads it)."""
    import logging

    return logging.getLogger("sigverify.service")


#: Seconds a replaced backend is kept open for requests still using it.
_RETIRE_AFTER_SECONDS = 120.0


@dataclass(frozen=True)
class PolicyStatus:
    """What ``/readyz`` reports about the policy."""

    loaded: bool
    source: str
    revision: str | None
    loaded_at: datetime | None
    #: The last reload's failure while an older policy stays in use (None after a success).
    error: str | None
    reloads: int


@dataclass(frozen=True)
class PolicyInUse:
    """One loaded policy and the verifier built over it, swapped together on a reload."""

    loaded: LoadedPolicy
    verifier: Verifier


def verifier_for(
    loaded: LoadedPolicy, backend: str, *, clock: Callable[[], datetime] | None = None
) -> Verifier:
    """The verifier over ``loaded``'s policy and exactly its keys, with the named backend."""
    options = {} if clock is None else {"clock": clock}
    return Verifier(
        loaded.policy,
        make_backend(backend, loaded.keyring),
        revision=loaded.revision,
        **options,
    )


def load_verifier(
    policy: str | Path, keys: str | Path | None, backend: str
) -> tuple[LoadedPolicy, Verifier]:
    """Load the policy file (and only the keys it names) and build its verifier."""
    loaded = load_policy(policy, keys_dir=keys)
    return loaded, verifier_for(loaded, backend)


def _fingerprint(policy: Path, keys: Path | None) -> tuple[object, ...]:
    """Cheap change detection: path, size, mtime and inode of the policy and every key file."""
    entries: list[object] = []
    for path in [policy, *(sorted(keys.iterdir()) if keys is not None and keys.is_dir() else [])]:
        try:
            stat = path.stat()
        except OSError:
            entries.append((str(path), None))
            continue
        entries.append((str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return tuple(entries)


class PolicyHolder:
    """Holds the current Verifier; thread-safe; checks for changes at most every interval."""

    def __init__(
        self,
        policy: str,
        keys: str | None,
        backend: str,
        *,
        check_interval: float = 2.0,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        on_reload: Callable[[bool], None] | None = None,
    ) -> None:
        self.policy_path = Path(policy)
        self.keys_path = Path(keys) if keys else None
        self.backend_name = backend
        self._interval = check_interval
        self._clock = clock
        self._monotonic = monotonic
        self._on_reload = on_reload
        self._lock = threading.Lock()
        self._in_use: PolicyInUse | None = None
        self._fingerprint: tuple[object, ...] | None = None
        self._last_check = float("-inf")
        self._forced = threading.Event()
        self._error: str | None = None
        self._loaded_at: datetime | None = None
        self._reloads = 0
        self._retired: list[tuple[float, SignatureBackend]] = []

    # -- the verifier ----------------------------------------------------------------------

    def verifier(self) -> Verifier:
        """The current verifier (after a change check); PolicyError if none ever loaded."""
        return self.in_use().verifier

    def in_use(self) -> PolicyInUse:
        """The current policy and its verifier (after a change check), taken together."""
        self.check()
        in_use = self._in_use
        if in_use is None:
            raise PolicyError(f"no trust policy is loaded: {self._error or 'not loaded yet'}")
        return in_use

    def request_reload(self) -> None:
        """Make the next :meth:`check` reload whatever the files look like (SIGHUP)."""
        self._forced.set()

    def check(self) -> None:
        """Reload when forced, or when the files changed and the interval has passed."""
        now = self._monotonic()
        forced = self._forced.is_set()
        if not forced and self._in_use is not None and now - self._last_check < self._interval:
            return
        with self._lock:
            forced = self._forced.is_set()
            if not forced and self._in_use is not None and now - self._last_check < self._interval:
                return
            self._last_check = now
            self._forced.clear()
            fingerprint = _fingerprint(self.policy_path, self.keys_path)
            if forced or fingerprint != self._fingerprint:
                self._load(fingerprint)
            self._close_retired(now)

    def _load(self, fingerprint: tuple[object, ...]) -> None:
        try:
            loaded = load_policy(self.policy_path, keys_dir=self.keys_path)
            verifier = verifier_for(loaded, self.backend_name, clock=self._clock)
        except SigverifyError as exc:
            self._fingerprint = fingerprint  # do not retry an unchanged broken file
            self._error = str(exc)
            if self._in_use is None:
                _log().error("cannot load the trust policy: %s", exc)
            else:
                _log().error("refusing the changed trust policy, keeping the old one: %s", exc)
            if self._on_reload is not None:
                self._on_reload(False)
            return
        previous = self._in_use
        self._in_use = PolicyInUse(loaded, verifier)
        self._fingerprint = fingerprint
        self._error = None
        self._loaded_at = datetime.now(UTC).replace(microsecond=0)
        self._reloads += 1
        if previous is not None:
            self._retired.append((self._monotonic(), previous.verifier.backend))
            _log().info(
                "reloaded the trust policy %s (revision %s)", loaded.source, loaded.revision
            )
        if self._on_reload is not None and previous is not None:
            self._on_reload(True)

    def _close_retired(self, now: float) -> None:
        keep = []
        for since, backend in self._retired:
            if now - since >= _RETIRE_AFTER_SECONDS:
                backend.close()
            else:
                keep.append((since, backend))
        self._retired = keep

    def status(self) -> PolicyStatus:
        in_use = self._in_use
        return PolicyStatus(
            loaded=in_use is not None,
            source=str(self.policy_path),
            revision=in_use.verifier.revision if in_use is not None else None,
            loaded_at=self._loaded_at,
            error=self._error,
            reloads=self._reloads,
        )

    def close(self) -> None:
        with self._lock:
            for _, backend in self._retired:
                backend.close()
            self._retired = []
            if self._in_use is not None:
                self._in_use.verifier.backend.close()
                self._in_use = None
