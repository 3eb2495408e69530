"""The sample data (examples/demo images, examples/store streams) and a real Verifier over
the demo policy and keys, with a settable clock, for write-back, reconciler and service tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sigverify.engine.verifier import Verifier
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.seed import load_paths
from sigverify.policyfile.holder import verifier_for
from sigverify.policyfile.loader import load_policy

REPO = Path(__file__).resolve().parents[2]
DEMO_POLICY = REPO / "policies" / "demo.yaml"
KEYS = REPO / "keys"
SEED_PATHS = (REPO / "examples" / "demo", REPO / "examples" / "store")
APP = "sha256:c4e5019a67fa8a84c297e556e955033fa5fe79190dcafba42ed83d0780ee66f7"
TOOLS = "sha256:3bb0cfe7611fe7fa23e7ae7b5eeec7b0476f1a042e80806240fb39e5140306b5"
APP_SIGNATURE = f"{APP}@2c8c542b6c420017505339da99cf7194"
TOOLS_SIGNATURES = tuple(
    f"{TOOLS}@{suffix}"
    for suffix in (
        "29465923343fef96cc1144f4443b84e8",
        "2842af87f6b8ab8f8470f23c2aa10e11",
        "d00b03d6c2175838d8c88048bb99b874",
    )
)
PARTNER_ONLY_POLICY = f"""\
apiVersion: sigverify/v1
kind: TrustPolicy
keysDirectory: {KEYS}
default:
  - type: reject
scopes:
  registry.example.com/demo:
    - type: signedBy
      keys: ["0x43E64D08F2489B7B"]
"""


@dataclass
class Clock:
    """A settable clock (whole seconds, UTC)."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now


def time_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seeded_store(path: Path) -> ImageStore:
    store = ImageStore(path, clock=lambda: "2026-11-20T09:58:12Z")
    load_paths(store, SEED_PATHS)
    return store


def demo_verifier(clock: Clock, policy: Path = DEMO_POLICY) -> Verifier:
    loaded = load_policy(policy, keys_dir=KEYS if policy == DEMO_POLICY else None)
    return verifier_for(loaded, "auto", clock=clock)
