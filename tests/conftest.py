import sys
from pathlib import Path

import pytest

# Make ``tests.support`` importable however pytest is invoked (rootdir on sys.path).
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support import budget  # noqa: E402

pytest_plugins = ["tests.support.fixtures"]

# Hypothesis profile and randomized-test budget: dev by default, ci with
# HYPOTHESIS_PROFILE=ci (make test, CI). See tests/support/budget.py and docs/testing.md.
budget.use_profile()


def pytest_configure(config: pytest.Config) -> None:
    # ``--hypothesis-profile NAME`` wins over the environment, as it does for Hypothesis.
    chosen = config.getoption("--hypothesis-profile", default=None)
    if chosen:
        budget.use_profile(chosen)
