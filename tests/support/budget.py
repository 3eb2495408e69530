"""How much randomized testing a run does: the ``dev`` budget or the ``ci`` budget.

The budget is the Hypothesis profile, chosen by the ``HYPOTHESIS_PROFILE`` environment
variable (``make test`` and CI set ``ci``); unset, it is ``ci`` where ``CI`` is set and
``dev`` elsewhere. pytest's ``--hypothesis-profile`` overrides both.
``tests/conftest.py`` loads it; see docs/testing.md.

- ``ci``: as Hypothesis's built-in CI profile (derandomized, no deadline, no example
  database), with the full budgets: 100 examples per property, or what the test asks
  for through :func:`examples`.
- ``dev``: at most :data:`DEV_MAX_EXAMPLES` examples per property, no deadline.

A test's own ``@settings(max_examples=...)`` overrides the profile, so a test that needs a
bigger budget asks for it through :func:`examples`, and a randomized loop outside Hypothesis
sizes itself with :func:`iterations`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["DEV_MAX_EXAMPLES", "examples", "is_ci", "iterations", "use_profile"]

PROFILE_VARIABLE = "HYPOTHESIS_PROFILE"
DEV_MAX_EXAMPLES = 20

# The same as Hypothesis's built-in "ci" profile (recent versions), whatever the version.
settings.register_profile(
    "ci",
    parent=settings.get_profile("default"),
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", parent=settings.get_profile("default"), max_examples=DEV_MAX_EXAMPLES, deadline=None
)

_loaded = "dev"


def use_profile(name: str | None = None) -> str:
    """Load profile ``name``, else ``$HYPOTHESIS_PROFILE``, else ``ci`` if ``$CI``, else ``dev``."""
    global _loaded
    name = name or os.environ.get(PROFILE_VARIABLE) or ("ci" if os.environ.get("CI") else "dev")
    settings.load_profile(name)  # an unregistered name is an error (InvalidArgument)
    _loaded = name
    return name


def is_ci() -> bool:
    """Whether this run has the full (``ci``) budget."""
    return _loaded == "ci"


def examples(count: int) -> int:
    """A property's ``max_examples``: ``count`` under ci, at most the dev cap under dev."""
    return count if is_ci() else min(count, DEV_MAX_EXAMPLES)


def iterations(count: int, *, dev: int) -> int:
    """A randomized loop's size outside Hypothesis: ``count`` under ci, at most ``dev`` else."""
    return count if is_ci() else min(count, dev)
