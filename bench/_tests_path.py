"""Benchmarks use the tests' sandbox helpers (tests/support/): put tests/ on the path."""

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1] / "tests")
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
