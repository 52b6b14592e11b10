"""Shared constants for the local AWS tests (imported as a top-level module:
pytest puts this directory on sys.path)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
FAST_WAITER = {"Delay": 1, "MaxAttempts": 30}

#: wall-clock measurements reported at the end of the run
TIMINGS: dict[str, float] = {}
