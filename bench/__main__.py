"""``python -m bench [--quick]``: CPU µs per signature for gnupg, native and bare cryptography.

"bare" hashes the signed bytes and verifies the signature with ``cryptography`` (what any
verifier must do); "pk only" is the public-key verify alone, shown for reference.

Signatures: the containers/image fixture (RSA 1024, ZIP) and fresh gpg-made ones for RSA
2048/4096, Ed25519, ECDSA P-256/P-384 and DSA 2048 (ZIP-compressed, as skopeo writes).
Targets: native at least 20x faster than gnupg, and within 2x of bare ``cryptography``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.backends import (
    Sample,
    bare_verifier,
    gnupg_verifier,
    native_verifier,
    time_per_call,
    verify_only_verifier,
)

_ROOT = Path(__file__).resolve().parents[1]
_FIXTURES = _ROOT / ".cache" / "containers-image" / "signature" / "fixtures"
_DIGEST = "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55"
_TARGET_VS_GNUPG = 20.0
_TARGET_VS_BARE = 2.0


def _samples(quick: bool) -> tuple[list[Sample], object]:
    sys.path.insert(0, str(_ROOT))
    from sigverify.openpgp.keyring import Keyring, load_key_file
    from tests.support.gpgfactory import GpgFactory, atomic_payload

    samples = []
    if (_FIXTURES / "image.signature").is_file():
        samples.append(
            Sample(
                "fixture rsa1024",
                (_FIXTURES / "image.signature").read_bytes(),
                Keyring(load_key_file(_FIXTURES / "public-key.gpg")),
            )
        )
    factory = GpgFactory()
    algorithms = ["rsa2048", "ed25519", "nistp256"]
    if not quick:
        algorithms += ["rsa4096", "nistp384", "dsa2048"]
    payload = atomic_payload(_DIGEST, "registry.example.com/ns/app:v1")
    for algorithm in algorithms:
        key = factory.key(algorithm)
        blob = factory.sign(key, payload)
        samples.append(Sample(algorithm, blob, Keyring(load_key_file(key.public_binary))))
    return samples, factory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer keys and iterations")
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target is missed"
    )
    args = parser.parse_args(argv)
    gnupg_iterations, native_iterations = (20, 2000) if args.quick else (60, 3000)
    samples, factory = _samples(args.quick)
    now = datetime.now(UTC)  # after the keys exist: a key newer than "now" is refused
    print(
        f"{'signature':<18}{'gnupg µs':>12}{'native µs':>12}{'bare µs':>10}{'pk only µs':>12}"
        f"{'gnupg/native':>14}{'native/bare':>13}"
    )
    worst_gnupg, worst_bare = float("inf"), 0.0
    try:
        for sample in samples:
            gnupg_call, gnupg_backend = gnupg_verifier(sample, now)
            try:
                gnupg = time_per_call(gnupg_call, gnupg_iterations)
            finally:
                gnupg_backend.close()
            native = time_per_call(native_verifier(sample, now), native_iterations)
            bare = time_per_call(bare_verifier(sample), native_iterations)
            pk_only = time_per_call(verify_only_verifier(sample), native_iterations)
            speedup, overhead = gnupg / native, native / bare
            worst_gnupg, worst_bare = min(worst_gnupg, speedup), max(worst_bare, overhead)
            print(
                f"{sample.name:<18}{gnupg * 1e6:>12.0f}{native * 1e6:>12.1f}{bare * 1e6:>10.1f}"
                f"{pk_only * 1e6:>12.1f}"
                f"{speedup:>13.0f}x{overhead:>12.2f}x"
            )
    finally:
        factory.close()  # type: ignore[attr-defined]
    met = worst_gnupg >= _TARGET_VS_GNUPG and worst_bare <= _TARGET_VS_BARE
    print(
        f"\nworst case: native {worst_gnupg:.0f}x faster than gnupg (target >= "
        f"{_TARGET_VS_GNUPG:.0f}x), {worst_bare:.2f}x bare cryptography (target <= "
        f"{_TARGET_VS_BARE:.0f}x): {'targets met' if met else 'TARGETS MISSED'}"
    )
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    raise SystemExit(main())
