import sys
from pathlib import Path

# Make ``tests.support`` importable however pytest is invoked (rootdir on sys.path).
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

pytest_plugins = ["tests.support.fixtures"]
