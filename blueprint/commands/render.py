from __future__ import annotations

import sys
from pathlib import Path

from blueprint.api import load_blueprint
from blueprint.errors import UsageError
from blueprint.expander import render
from blueprint.finding import Report
from blueprint.formatters import text


def run(path: str, out_dir: str) -> int:
    _, blueprint, findings = load_blueprint(path)
    if blueprint is None:
        sys.stderr.write(text.render(Report(files=(path,), findings=tuple(findings))))
        return 1
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
