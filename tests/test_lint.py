"""cfn-lint through blueprint: the forked batch agrees with linting one by one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# cfn-lint in a fresh interpreter, its templates linted twice: several seconds.
pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parent / "golden" / "seed"

SCRIPT = r"""
import json, sys, threading
from blueprint import lint
texts = [open(p).read() for p in sys.argv[1:]]
texts.append(texts[0].replace("Timeout: 30", "Timeout: 'thirty'"))   # one with an error
batch = lint.LintBatch(texts)
forked = batch._pool is not None
together = batch.results()
one_by_one = {t: lint.lint_text.__wrapped__(t) for t in texts}
print(json.dumps({"forked": forked, "threads": threading.active_count(),
                  "same": together == one_by_one,
                  "errors": sum(len(m) for m in together.values())}))
"""


def test_forked_batch_gives_the_same_matches_as_serial_linting() -> None:
    paths = [str(p) for p in sorted(GOLDEN.glob("*.yml"))]
    result = subprocess.run([sys.executable, "-c", SCRIPT, *paths], capture_output=True,
                            text=True, check=True, timeout=300)
    outcome = json.loads(result.stdout)
    assert outcome["same"] is True
    assert outcome["errors"] >= 1, "the broken template must produce a match"
    # On a multi-core Linux machine the batch really forks; elsewhere it is serial.
    if sys.platform == "linux" and (os.cpu_count() or 1) > 1:
        assert outcome["forked"] is True
