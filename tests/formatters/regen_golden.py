"""Regenerate the formatters' golden files: python tests/formatters/regen_golden.py

Every format in ``FORMATS`` renders the fixed report of ``sample_report.py``
into ``tests/formatters/golden/report.<ext>``; ``test_format_golden.py`` fails when
a formatter's output drifts from these. Review the diff before committing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]

from sample_report import sample_report  # noqa: E402

from blueprint.formatters import FORMATS  # noqa: E402

GOLDEN = HERE / "golden"
EXTENSIONS = {"text": "txt", "json": "json", "sarif": "sarif", "junit": "xml",
              "github": "github.txt", "markdown": "md"}


def golden_path(name: str) -> Path:
    return GOLDEN / f"report.{EXTENSIONS[name]}"


def rendered(name: str) -> str:
    return FORMATS[name](sample_report())


def main() -> None:
    # the sample report names examples/ relative to the repository root (markdown's diagrams)
    os.chdir(ROOT)
    GOLDEN.mkdir(exist_ok=True)
    for name in FORMATS:
        golden_path(name).write_text(rendered(name), encoding="utf-8")
        print(f"wrote {golden_path(name).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
