from __future__ import annotations

import sys
from pathlib import Path

from blueprint.api import validate
from blueprint.config import discover, gate_options, load_config
from blueprint.errors import UsageError
from blueprint.formatters import FORMATS, THRESHOLD_FORMATS


def run(paths: list[str], *, output_format: str = "text", output: str | None = None,
        lint: bool = True, fail_on: str | None = None, extra_rules: list[str] | None = None,
        packs: list[str] | None = None, use_cache: bool = True) -> int:
    """Validate the given files, or every file ``[tool.blueprint]`` discovers.

    ``packs`` names installed rule packs to add (``--pack control-tower``).
    """
    if output_format not in FORMATS:
        raise UsageError(f"unknown format {output_format!r}",
                         hint=f"choose one of {', '.join(FORMATS)}")
    options, threshold = gate_options(lint=lint, fail_on=fail_on, extra_rules=extra_rules,
                                      packs=packs, use_cache=use_cache)
    if not paths:
        paths = discover(Path.cwd(), load_config(Path.cwd()))
        if not paths:
            raise UsageError("no blueprints found to validate",
                             hint="name files *.blueprint.yml, or set include globs in "
                                  "[tool.blueprint] of pyproject.toml, or pass FILE...")
    report = validate(paths, options)
    if output_format in THRESHOLD_FORMATS:  # their verdict depends on the threshold
        text = THRESHOLD_FORMATS[output_format](report, fail_on=threshold)
    else:
        text = FORMATS[output_format](report)
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as err:
            raise UsageError(f"cannot write the report to {output}: {err.strerror or err}") \
                from err
    else:
        sys.stdout.write(text)
    return report.exit_code(threshold)
