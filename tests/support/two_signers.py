"""The case of issue 15: a scope that needs the demo release key AND the demo partner key,
and the sample image ``examples/demo/app-signed.json`` signed by the release key only.

Every face must report it as not trusted, with the unmet requirement's own reason
(``UntrustedKey``: for the partner's requirement the release key is an untrusted key) and
never ``Trusted``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "PARTNER_REQUIREMENT",
    "RELEASE_KEY",
    "RELEASE_REQUIREMENT",
    "UNMET",
    "both_signers_policy",
]

_KEYS = Path(__file__).resolve().parents[2] / "keys"
RELEASE_KEY = "0x43C6880E17BA57E9"
PARTNER_KEY = "0x43E64D08F2489B7B"
RELEASE_REQUIREMENT = f"signedBy {RELEASE_KEY} (matchRepoDigestOrExact)"
PARTNER_REQUIREMENT = f"signedBy {PARTNER_KEY} (matchRepoDigestOrExact)"
#: What the image's message says after "is not trusted (scope …): ".
UNMET = f"{PARTNER_REQUIREMENT}: no accepted signature by this key; "


def both_signers_policy(keys: Path = _KEYS) -> str:
    """A sigverify policy whose ``registry.example.com/demo`` scope needs both demo keys."""
    return f"""\
apiVersion: sigverify/v1
kind: TrustPolicy
keysDirectory: {keys}
default:
  - type: reject
scopes:
  registry.example.com/demo:
    - type: signedBy
      keys: ["{RELEASE_KEY}"]
    - type: signedBy
      keys: ["{PARTNER_KEY}"]
"""
