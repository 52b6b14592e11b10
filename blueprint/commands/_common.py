"""What several commands print the same way (commands never import each other)."""

from __future__ import annotations

import sys

from blueprint.finding import Finding, Report
from blueprint.formatters import text


def report_problems(path: str, findings: list[Finding]) -> int:
    sys.stderr.write(text.render(Report(files=(path,), findings=tuple(findings))))
    return 1
