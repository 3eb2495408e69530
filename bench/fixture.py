"""One signed image on disk, for timing whole commands: ``python -m bench.fixture DIR``.

Writes, under DIR: ``manifest.json`` and ``signature`` (an RSA-4096 signature made by
``skopeo standalone-sign``), ``gnupg/`` (a home holding only the public key, for
``skopeo standalone-verify``), ``keys/`` and ``policy.yaml`` (the same key for sigverify),
``policy.json`` (the same policy in JSON), ``image.json`` (an Image carrying the one
signature) and ``image-N.json`` for N signatures.
Prints the two commands to compare (sigverify's file mode against skopeo's).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CliFixture", "make_cli_fixture"]

REFERENCE = "registry.example.com/bench/app:1.0"


@dataclass(frozen=True)
class CliFixture:
    """Where the files are and the commands that verify them."""

    root: Path
    fingerprint: str
    digest: str

    @property
    def gnupg_home(self) -> Path:
        return self.root / "gnupg"

    def image(self, signatures: int = 1) -> Path:
        return self.root / ("image.json" if signatures == 1 else f"image-{signatures}.json")

    def sigverify_argv(
        self, signatures: int = 1, *, backend: str = "native", policy: str = "policy.yaml"
    ) -> list[str]:
        return [
            str(Path(sys.executable).parent / "sigverify"),
            "verify",
            "--policy",
            str(self.root / policy),
            "--backend",
            backend,
            "-f",
            str(self.image(signatures)),
        ]

    def skopeo_argv(self) -> list[str]:
        return [
            "skopeo",
            "standalone-verify",
            str(self.root / "manifest.json"),
            REFERENCE,
            self.fingerprint,
            str(self.root / "signature"),
        ]

    def skopeo_env(self) -> dict[str, str]:
        return {"GNUPGHOME": str(self.gnupg_home)}


def make_cli_fixture(root: Path, *, many: tuple[int, ...] = (11,)) -> CliFixture:
    """Generate the key, sign with skopeo, write the documents (needs gpg and skopeo)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.gpgfactory import GpgFactory

    factory = GpgFactory(root / "factory")
    try:
        key = factory.key("rsa4096")
        manifest = root / "manifest.json"
        manifest.write_text(
            json.dumps({"schemaVersion": 2, "config": {"digest": "sha256:" + "ab" * 32}})
        )
        digest = "sha256:" + hashlib.sha256(manifest.read_bytes()).hexdigest()
        blob = factory.skopeo_sign(key, manifest, REFERENCE)
        (root / "signature").write_bytes(blob)
        keys = root / "keys"
        keys.mkdir(exist_ok=True)
        shutil.copy(key.public_binary, keys / "bench.gpg")
        home = root / "gnupg"
        home.mkdir(mode=0o700, exist_ok=True)
        subprocess.run(
            ["gpg", "--homedir", str(home), "--batch", "--import", str(key.public_binary)],
            check=True,
            capture_output=True,
            timeout=60,
        )
    finally:
        factory.close()
    (root / "policy.yaml").write_text(
        "apiVersion: sigverify/v1\nkind: TrustPolicy\nkeysDirectory: keys\n"
        "default:\n  - type: reject\nscopes:\n  registry.example.com/bench:\n"
        f'    - type: signedBy\n      keys: ["{key.fingerprint}"]\n'
        "      signedIdentity: {type: matchExact}\n"
    )
    (root / "policy.json").write_text(
        json.dumps(
            {
                "apiVersion": "sigverify/v1",
                "kind": "TrustPolicy",
                "keysDirectory": "keys",
                "default": [{"type": "reject"}],
                "scopes": {
                    "registry.example.com/bench": [
                        {
                            "type": "signedBy",
                            "keys": [key.fingerprint],
                            "signedIdentity": {"type": "matchExact"},
                        }
                    ]
                },
            }
        )
    )
    content = base64.b64encode(blob).decode()
    for count in (1, *many):
        image = {
            "kind": "Image",
            "apiVersion": "image.openshift.io/v1",
            "metadata": {"name": digest},
            "dockerImageReference": REFERENCE,
            "signatures": [
                {
                    "metadata": {"name": f"{digest}@{index:032x}"},
                    "type": "atomic",
                    "content": content,
                }
                for index in range(count)
            ],
        }
        name = "image.json" if count == 1 else f"image-{count}.json"
        (root / name).write_text(json.dumps(image, indent=2))
    return CliFixture(root, key.fingerprint, digest)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bench.fixture DIR", file=sys.stderr)
        return 2
    fixture = make_cli_fixture(Path(args[0]).resolve())
    print(" ".join(fixture.sigverify_argv()))
    print(f"GNUPGHOME={fixture.gnupg_home} " + " ".join(fixture.skopeo_argv()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
