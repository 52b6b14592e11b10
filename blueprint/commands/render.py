"""``blueprint render FILE [--env NAME] -o DIR``: the templates a blueprint expands to."""

from __future__ import annotations

import sys
from pathlib import Path

from blueprint.api import load_effective
from blueprint.commands._common import report_problems
from blueprint.errors import UsageError
from blueprint.expander import render


def run(path: str, out_dir: str, *, env: str | None = None) -> int:
    _, _, blueprint, findings = load_effective(path, env)
    if blueprint is None:
        return report_problems(path, findings)
    rendering = render(blueprint)
    target = Path(out_dir)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name, content in rendering.texts.items():
            (target / name).write_text(content, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot write to {out_dir}: {err.strerror or err}") from err
    for name in rendering.texts:
        sys.stdout.write(f"wrote {target / name}\n")
    return 0
