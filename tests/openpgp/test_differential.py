"""Differential suite: the native backend must judge every blob exactly as GnuPG does.

The corpus: blobs made by real gpg (several key types, subkeys, expired and revoked keys,
text and binary literals, every compression, signature expiry), by skopeo, hand-made with
the keys' real secrets (v3 signatures, critical subpackets, odd timestamps, ...), and the
containers/image fixtures (with their v3 variants). Each is verified against several
keyrings (its own key, another key, all keys) and at several moments, then thousands of
deterministic mutants of them are. Any difference in verdict, reason, signer, payload or
times fails the test, listing every mismatch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sigverify.core.verdict import SignatureRejected
from sigverify.openpgp.backend import SignatureBackend
from sigverify.openpgp.gnupg import GnuPGBackend
from sigverify.openpgp.keyring import Keyring
from sigverify.openpgp.native import NativeBackend
from tests.support.fixtures import FIXTURE_MANIFEST_DIGEST, keyring_of
from tests.support.forge import Forger, subpacket
from tests.support.gpgfactory import GeneratedKey, GpgError, GpgFactory, KeySpec, atomic_payload
from tests.support.mutations import mutations

pytestmark = pytest.mark.slow  # a corpus of thousands of blobs, each through real gpg

PAYLOAD = atomic_payload(FIXTURE_MANIFEST_DIGEST, "registry.example.com/ns/app:v1")
MUTANTS_PER_BLOB = 16
SEED = 20240611

KEY_SPECS = {
    "rsa2048": KeySpec("rsa2048"),
    "rsa4096": KeySpec("rsa4096"),
    "ed25519": KeySpec("ed25519"),
    "dsa2048": KeySpec("dsa2048"),
    "p256": KeySpec("nistp256"),
    "p384": KeySpec("nistp384"),
    "p521": KeySpec("nistp521"),
    "sub-p256": KeySpec("ed25519", signing_subkey="nistp256"),
    "sub-rsa": KeySpec("rsa2048", signing_subkey="rsa2048"),
    "expired": KeySpec("rsa2048", expired=True),
    "expired-sub": KeySpec("ed25519", signing_subkey="ed25519", expired=True),
    "revoked": KeySpec("ed25519", revoked=True),
    "sub-expired": KeySpec("ed25519", signing_subkey="ed25519", subkey_expired=True),
    "sub-revoked": KeySpec("ed25519", signing_subkey="rsa2048", subkey_revoked=True),
    "expiring": KeySpec("nistp256", expires_in_days=30),
    "with-enc": KeySpec("rsa2048", encryption_subkey="rsa2048"),
}


@dataclass(frozen=True)
class Case:
    name: str
    blob: bytes
    keyring: str  # a key name of KEY_SPECS, "all", "none" or "skopeo"
    now: datetime


@dataclass
class Corpus:
    keys: dict[str, GeneratedKey]
    keyrings: dict[str, Keyring]
    cases: list[Case]
    now: datetime


def _outcome(backend: SignatureBackend, blob: bytes, now: datetime) -> tuple[object, ...]:
    try:
        verified = backend.verify(blob, now=now)
    except SignatureRejected as exc:
        return ("rejected", exc.reason)
    except Exception as exc:
        return ("crashed", f"{type(exc).__name__}: {exc}")
    return (
        "verified",
        verified.payload,
        verified.signer,
        verified.signature_created,
        verified.signature_expires,
    )


def _gpg_blobs(
    factory: GpgFactory, keys: dict[str, GeneratedKey]
) -> Iterator[tuple[str, str, bytes]]:
    """(case name, key name, blob) for every gpg-made variant."""
    variants: list[tuple[str, dict[str, object]]] = [
        ("zip", {}),
        ("none", {"compression": "none"}),
        ("zlib", {"compression": "zlib"}),
        ("bzip2", {"compression": "bzip2"}),
        ("stored", {"compression": "uncompressed-packet"}),
        ("text", {"textmode": True, "filename": "signature.json"}),
        ("sigexp", {"sig_expire": "1d", "compression": "none"}),
    ]
    hash_variants = [
        ("sha1", "SHA1"),
        ("sha224", "SHA224"),
        ("sha256", "SHA256"),
        ("sha512", "SHA512"),
    ]
    for key_name, key in keys.items():
        selected = variants if key_name in ("rsa2048", "ed25519", "sub-p256") else variants[:2]
        for variant, options in selected:
            yield f"{key_name}/{variant}", key_name, factory.sign(key, PAYLOAD, **options)  # type: ignore[arg-type]
        if key.spec.signing_subkey:
            yield f"{key_name}/subkey", key_name, factory.sign(key, PAYLOAD, subkey=True)
            yield (
                f"{key_name}/subkey-none",
                key_name,
                factory.sign(key, PAYLOAD, subkey=True, compression="none"),
            )
        if key_name in ("rsa2048", "dsa2048", "p256", "p384", "p521", "ed25519"):
            for label, algorithm in hash_variants:
                try:
                    blob = factory.sign(key, PAYLOAD, digest_algo=algorithm, compression="none")
                except GpgError:
                    continue  # gpg refuses a hash too short for the key; nothing to compare
                yield f"{key_name}/{label}", key_name, blob


def _forged_blobs(
    factory: GpgFactory, keys: dict[str, GeneratedKey]
) -> Iterator[tuple[str, str, bytes]]:
    """Shapes gpg does not write, made with the keys' real secrets."""
    encryption_key = keys["with-enc"]
    by_encryption_key = Forger(
        factory, encryption_key, fingerprint=encryption_key.subkey_fingerprints[-1]
    )
    yield (
        "with-enc/forged-by-encryption-subkey",
        "with-enc",
        by_encryption_key.message(PAYLOAD, created=int(time.time()) + 5),
    )
    for key_name in ("rsa2048", "ed25519", "sub-rsa"):
        key = keys[key_name]
        forger = Forger(factory, key, subkey=key_name == "sub-rsa")
        created = int(time.time()) + 5
        hashed = forger.default_hashed(created)
        yield from (
            (f"{key_name}/forged-{label}", key_name, blob)
            for label, blob in (
                ("plain", forger.message(PAYLOAD, created=created)),
                ("v3", forger.message(PAYLOAD, created=created, version=3)),
                ("v3-sha1", forger.message(PAYLOAD, created=created, version=3, hash_algo=2)),
                ("no-ops", forger.message(PAYLOAD, created=created, one_pass=False, compress=2)),
                (
                    "text-lf",
                    forger.message(PAYLOAD + b"\n", created=created, sig_type=1, mode=b"t"),
                ),
                (
                    "text-canonical-hash",
                    forger.message(
                        PAYLOAD + b"\n",
                        created=created,
                        sig_type=1,
                        mode=b"t",
                        hashed_body=PAYLOAD + b"\r\n",
                    ),
                ),
                ("future", forger.message(PAYLOAD, created=created + 86400)),
                # The file name is not signed, and need not be UTF-8 (gpg echoes it in its
                # PLAINTEXT status line).
                (
                    "latin1-filename",
                    forger.message(PAYLOAD, created=created, filename=b"caf\xe9\xff.json"),
                ),
                ("before-key", forger.message(PAYLOAD, created=1000)),
                (
                    "no-created",
                    forger.message(PAYLOAD, created=created, hashed=hashed[1:]),
                ),
                (
                    "no-issuer",
                    forger.message(PAYLOAD, created=created, hashed=hashed[:1], unhashed=[]),
                ),
                (
                    "fingerprint-only",
                    forger.message(PAYLOAD, created=created, unhashed=[]),
                ),
                (
                    "issuer-names-other-key",
                    forger.message(PAYLOAD, created=created, unhashed=[subpacket(16, b"\x01" * 8)]),
                ),
                (
                    "issuer-unhashed-only",
                    forger.message(PAYLOAD, created=created, hashed=hashed[:1]),
                ),
                ("md5", forger.message(PAYLOAD, created=created, hash_algo=1)),
                (
                    "critical-unknown",
                    forger.message(
                        PAYLOAD,
                        created=created,
                        hashed=[*hashed, subpacket(40, b"x", critical=True)],
                    ),
                ),
                (
                    "critical-known",
                    forger.message(
                        PAYLOAD,
                        created=created,
                        hashed=[subpacket(2, created.to_bytes(4, "big"), critical=True), hashed[1]],
                    ),
                ),
                (
                    "sigexp-short",
                    forger.message(
                        PAYLOAD,
                        created=created,
                        hashed=[*hashed, subpacket(3, (30).to_bytes(4, "big"))],
                    ),
                ),
                (
                    "sigexp-zero",
                    forger.message(
                        PAYLOAD,
                        created=created,
                        hashed=[*hashed, subpacket(3, (0).to_bytes(4, "big"))],
                    ),
                ),
            )
        )


@pytest.fixture(scope="module")
def corpus(
    gpg_factory: GpgFactory, containers_image_fixtures: Path, fixture_manifest: Path
) -> Corpus:
    keys = {name: gpg_factory.key(spec) for name, spec in KEY_SPECS.items()}
    # One moment for the whole run, after every key exists; later moments probe expiry.
    now = datetime.now(UTC) + timedelta(minutes=1)
    keyrings = {name: keyring_of(key) for name, key in keys.items()}
    keyrings["all"] = keyring_of(*keys.values(), containers_image_fixtures / "public-key.gpg")
    keyrings["none"] = Keyring()
    keyrings["skopeo"] = keyring_of(containers_image_fixtures / "public-key.gpg")
    other = {name: "ed25519" if name != "ed25519" else "rsa2048" for name in keys}
    cases: list[Case] = []

    def add(name: str, key_name: str, blob: bytes) -> None:
        cases.append(Case(name, blob, key_name, now))
        cases.append(Case(f"{name}@other-key", blob, other[key_name], now))
        cases.append(Case(f"{name}@all", blob, "all", now))
        cases.append(Case(f"{name}@+2d", blob, key_name, now + timedelta(days=2)))
        cases.append(Case(f"{name}@+40d", blob, key_name, now + timedelta(days=40)))

    for name, key_name, blob in _gpg_blobs(gpg_factory, keys):
        add(name, key_name, blob)
    for name, key_name, blob in _forged_blobs(gpg_factory, keys):
        add(name, key_name, blob)
    for key_name in ("rsa2048", "sub-p256"):
        blob = gpg_factory.skopeo_sign(
            keys[key_name], fixture_manifest, "registry.example.com/ns/app:v1"
        )
        add(f"{key_name}/skopeo", key_name, blob)
    fixtures = sorted(containers_image_fixtures.glob("*.signature*")) + sorted(
        containers_image_fixtures.glob("dir-img-*/signature-*")
    )
    for path in fixtures:
        name = str(path.relative_to(containers_image_fixtures))
        blob = path.read_bytes()
        cases.append(Case(f"fixture/{name}", blob, "skopeo", now))
        cases.append(Case(f"fixture/{name}@all", blob, "all", now))
        cases.append(Case(f"fixture/{name}@none", blob, "none", now))
        cases.append(Case(f"fixture/{name}@2015", blob, "skopeo", datetime(2015, 1, 1, tzinfo=UTC)))
    return Corpus(keys, keyrings, cases, now)


@pytest.fixture(scope="module")
def backends(corpus: Corpus) -> Iterator[dict[str, tuple[GnuPGBackend, NativeBackend]]]:
    pairs = {
        name: (GnuPGBackend(ring), NativeBackend(ring)) for name, ring in corpus.keyrings.items()
    }
    yield pairs
    for gnupg, native in pairs.values():
        gnupg.close()
        native.close()


def _dump(case: Case) -> None:
    """With SIGVERIFY_DIFF_DUMP=DIR, keep each mismatching blob for a closer look."""
    folder = os.environ.get("SIGVERIFY_DIFF_DUMP")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in case.name)
        (Path(folder) / f"{safe}.{int(case.now.timestamp())}.{case.keyring}.sig").write_bytes(
            case.blob
        )


def _compare(
    cases: list[Case], backends: dict[str, tuple[GnuPGBackend, NativeBackend]]
) -> list[str]:
    mismatches = []
    for case in cases:
        gnupg, native = backends[case.keyring]
        expected = _outcome(gnupg, case.blob, case.now)
        actual = _outcome(native, case.blob, case.now)
        if expected != actual:
            _dump(case)
            mismatches.append(f"{case.name} [{case.keyring}]: gnupg={expected!r} native={actual!r}")
    return mismatches


def test_corpus_covers_every_outcome(
    corpus: Corpus, backends: dict[str, tuple[GnuPGBackend, NativeBackend]]
) -> None:
    """The corpus is only worth something if it reaches every verdict."""
    seen = set()
    for case in corpus.cases:
        _, native = backends[case.keyring]
        outcome = _outcome(native, case.blob, case.now)
        seen.add(outcome[1] if outcome[0] == "rejected" else "verified")
    assert {str(reason) for reason in seen} >= {
        "verified",
        "UnknownKey",
        "InvalidSignature",
        "NoSignature",
        "MultipleSignatures",
        "KeyExpired",
        "KeyRevoked",
        "SignatureExpired",
    }


def test_corpus_agrees(
    corpus: Corpus, backends: dict[str, tuple[GnuPGBackend, NativeBackend]]
) -> None:
    mismatches = _compare(corpus.cases, backends)
    assert not mismatches, f"{len(mismatches)} of {len(corpus.cases)} differ:\n" + "\n".join(
        mismatches
    )


def _mutant_cases(corpus: Corpus) -> list[Case]:
    cases = []
    # Mutate each distinct blob once, against its own keyring, at the corpus moment.
    seen: set[bytes] = set()
    for index, case in enumerate(corpus.cases):
        if case.blob in seen or "@" in case.name:
            continue
        seen.add(case.blob)
        for name, blob in mutations(case.blob, MUTANTS_PER_BLOB, seed=SEED + index):
            cases.append(Case(f"{case.name}~{name}", blob, case.keyring, case.now))
    return cases


def test_mutants_agree(
    corpus: Corpus, backends: dict[str, tuple[GnuPGBackend, NativeBackend]]
) -> None:
    cases = _mutant_cases(corpus)
    assert len(cases) >= 2000
    mismatches = _compare(cases, backends)
    assert not mismatches, f"{len(mismatches)} of {len(cases)} mutants differ:\n" + "\n".join(
        mismatches[:50]
    )


def test_swapped_keys_agree(
    corpus: Corpus, backends: dict[str, tuple[GnuPGBackend, NativeBackend]]
) -> None:
    """Every blob against every single-key keyring: only its own key may verify it."""
    cases = [
        Case(f"{case.name}@{ring}", case.blob, ring, case.now)
        for case in corpus.cases
        if "@" not in case.name and not case.name.startswith("fixture/")
        for ring in ("rsa2048", "p384", "sub-rsa", "revoked")
    ]
    mismatches = _compare(cases, backends)
    assert not mismatches, "\n".join(mismatches)
