"""``python -m bench.floor [--quick]``: what a signature cannot cost less than, part by part.

Issue 12 asks for a signature through the CLI at ≤ 1.5× a bare ``cryptography`` verify and for
load + verify + render of a 1-signature Image at ≤ 2×. This times, in one process and in
turn (CPU time, best of rounds, each part against the bare verify timed beside it), the
parts no verifier of this format can skip, and the whole:

* the bare verify: hash the signed bytes and the trailer, RSA-4096 public-key check;
* the native backend's verify: that, plus reading the OpenPGP message (inflate, packets)
  and GnuPG's order of checks (key lookup, usability, expiry, revocation);
* ``parse_claims``: the signed payload read strictly (containers-signature(5));
* a signature's share of the document load (an 11-signature Image minus a 1-signature one,
  over 10): base64 and the model's members;
* the render of a 1-signature verdict (``verdict_to_json`` + ``json.dumps``).

The floor is the sum of the parts that apply, as a multiple of the bare verify: the target
cannot be met while the floor is above it.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.fixture import make_cli_fixture


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    rounds = 3 if "--quick" in args else 7
    from bench.backends import Sample, bare_verifier, time_per_call
    from sigverify.core.claims import parse_claims
    from sigverify.core.clock import utcnow
    from sigverify.objects.documents import load_document
    from sigverify.openpgp.keyring import Keyring, load_key_file
    from sigverify.policyfile.holder import load_verifier
    from sigverify.render import verdict_to_json

    with tempfile.TemporaryDirectory(prefix="sv-bench-floor-") as scratch:
        fixture = make_cli_fixture(Path(scratch), many=(11,))
        sample = Sample(
            "rsa4096",
            (fixture.root / "signature").read_bytes(),
            Keyring(load_key_file(fixture.root / "keys" / "bench.gpg")),
        )
        verifier = load_verifier(str(fixture.root / "policy.yaml"), None, "native")[1]
        one = json.loads(fixture.image(1).read_text())
        eleven = json.loads(fixture.image(11).read_text())
    image = load_document(one)
    now = utcnow()
    blob = image.signatures[0].content
    payload = verifier.backend.verify(blob, now=now).payload
    verdict = verifier.verify_image(image)

    parts: dict[str, Callable[[], object]] = {
        "bare verify": bare_verifier(sample),
        "native backend verify": lambda: verifier.backend.verify(blob, now=now),
        "parse_claims": lambda: parse_claims(payload),
        "load, 1 signature": lambda: load_document(one),
        "load, 11 signatures": lambda: load_document(eleven),
        "render (JSON)": lambda: json.dumps(verdict_to_json(verdict)),
        "verify_image, 1 signature": lambda: verifier.verify_image(image),
        "whole: load + verify + render": lambda: json.dumps(
            verdict_to_json(verifier.verify_image(load_document(one)))
        ),
    }
    samples: dict[str, list[float]] = {name: [] for name in parts}
    for _ in range(rounds):
        for name, call in parts.items():
            samples[name].append(time_per_call(call, 300, rounds=2))
    bare = samples["bare verify"]

    def ratio(name: str) -> float:
        return statistics.median(t / b for t, b in zip(samples[name], bare, strict=True))

    def micro(name: str) -> float:
        return statistics.median(samples[name]) * 1e6

    for name in parts:
        print(f"{name:32s} {micro(name):8.1f} µs  {ratio(name):5.2f}× bare")
    per_load = [
        (e - o) / 10 / b
        for e, o, b in zip(
            samples["load, 11 signatures"], samples["load, 1 signature"], bare, strict=True
        )
    ]
    per_signature = (
        ratio("native backend verify") + ratio("parse_claims") + statistics.median(per_load)
    )
    in_process = (
        ratio("native backend verify")
        + ratio("parse_claims")
        + ratio("load, 1 signature")
        + ratio("render (JSON)")
    )
    print(
        f"\nfloor per signature (backend + claims + a signature's load): {per_signature:.2f}× "
        "bare (target ≤ 1.5×)"
    )
    print(
        f"floor in process (backend + claims + load + render, 1 signature): {in_process:.2f}× "
        f"bare (target ≤ 2×); measured whole: {ratio('whole: load + verify + render'):.2f}×"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
