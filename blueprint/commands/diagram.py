"""``blueprint diagram FILE [--env NAME] [--format mermaid|svg] [-o FILE]``."""

from __future__ import annotations

import sys
from pathlib import Path

from blueprint import diagram
from blueprint.api import load_effective
from blueprint.commands._common import report_problems
from blueprint.errors import UsageError


def run(path: str, *, env: str | None = None, output_format: str = "mermaid",
        output: str | None = None) -> int:
    """Draw the architecture of the blueprint (of its environment ``env``).

    Exit 0 when drawn, 1 when the blueprint is invalid (its findings on stderr),
    2 when ``env`` does not fit the blueprint or the output cannot be written.
    """
    if output_format not in diagram.FORMATS:
        raise UsageError(f"unknown diagram format {output_format!r}: "
                         f"use one of {', '.join(diagram.FORMATS)}")
    _, environment, blueprint, findings = load_effective(path, env)
    if blueprint is None:
        return report_problems(path, findings)
    name = environment.name if environment is not None else None
    draw = diagram.svg if output_format == "svg" else diagram.mermaid
    text = draw(blueprint, environment=name)
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot write {output}: {err.strerror or err}") from err
    sys.stdout.write(f"wrote {output}\n")
    return 0
