#!/usr/bin/env python3
"""How fast hostile input is refused (not a test: the tests assert what, this measures how fast).

Each case is written to a temporary file and checked in this process as
``blueprint validate --no-lint FILE`` would (``blueprint.cli.main``), ``--runs``
times; the median is compared with the budget (default 2 s, on an idle machine).

Usage::

    .venv/bin/python bench/bench_hostile.py [--runs 5] [--budget 2.0]

Exit code: 0 when every case is refused with exit 1 (findings) within the budget,
1 when one is slower, 2 when one is not refused as expected.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def alias_bomb_sequences() -> bytes:
    lines = ["blueprint: v1", "name: bomb", "service: {image: nginx}",
             "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        name, prev = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    return ("\n".join(lines) + "\n").encode()


def alias_bomb_mappings() -> bytes:
    lines = ["blueprint: v1", "name: bomb", "service:", "  image: nginx",
             "x0: &x0 {k0: v, k1: v, k2: v, k3: v, k4: v, k5: v, k6: v, k7: v}"]
    for level in range(1, 12):
        keys = ", ".join(f"k{i}: *x{level - 1}" for i in range(8))
        lines.append(f"x{level}: &x{level} {{{keys}}}")
    lines.append("tags: *x11")
    return ("\n".join(lines) + "\n").encode()


CASES: dict[str, Callable[[], bytes]] = {
    "alias bomb (sequences)": alias_bomb_sequences,
    "alias bomb (mappings)": alias_bomb_mappings,
    "15 MB file": lambda: b"blueprint: v1\nk: " + b"x" * (15 * 1024 * 1024) + b"\n",
    "dense, just under 1 MB": lambda: (b"blueprint: v1\nname: dense\nservice: {image: nginx}\n"
                                       b"x: [" + b"1," * 340_000 + b"1]\n"),
    "400,000 comment lines": lambda: (b"#\n" * 400_000 + b"blueprint: v1\nname: long\n"
                                      b"service:\n  image: nginx\nbogusKey: 1\n"),
}


def time_case(path: Path, runs: int) -> tuple[int, float]:
    """(exit code, median seconds) of ``validate --no-lint path`` in this process."""
    from blueprint.cli import main

    codes, seconds = set(), []
    for _ in range(runs):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            codes.add(main(["validate", "--no-lint", "--no-cache", str(path)]))
        seconds.append(time.perf_counter() - start)
    return (codes.pop() if len(codes) == 1 else -1), statistics.median(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per case (median)")
    args = parser.parse_args()
    worst = 0
    with tempfile.TemporaryDirectory() as folder:
        for name, make in CASES.items():
            path = Path(folder) / "hostile.blueprint.yml"
            path.write_bytes(make())
            code, median = time_case(path, args.runs)
            verdict = "ok" if code == 1 and median <= args.budget else \
                "SLOW" if code == 1 else f"NOT REFUSED (exit {code})"
            worst = max(worst, 0 if verdict == "ok" else 1 if code == 1 else 2)
            print(f"{name:28} {median:7.3f} s  {verdict}")
    return worst


if __name__ == "__main__":
    sys.exit(main())
