"""``blueprint render FILE [--env NAME] -o DIR``: the templates a blueprint expands to."""

from __future__ import annotations

import sys
from pathlib import Path

from blueprint import environments, schema
from blueprint.api import load_blueprint
from blueprint.environments import Environment
from blueprint.errors import UsageError
from blueprint.expander import render
from blueprint.finding import Finding, Report, Severity
from blueprint.formatters import text
from blueprint.loader import Document
from blueprint.model import Blueprint, from_data


def load_effective(path: str, env: str | None) -> tuple[
        Document | None, Environment | None, Blueprint | None, list[Finding]]:
    """The blueprint of ``path`` (of its environment ``env``), or the findings that stop it.

    UsageError when ``env`` does not fit the blueprint (``environments.select``).
    """
    doc, blueprint, findings = load_blueprint(path)
    findings = environments.explain(findings)
    if doc is None or blueprint is None:
        return doc, None, None, findings
    chosen = environments.select(doc, env)
    if chosen is None:
        return doc, None, blueprint, findings
    assert chosen.document is not None  # select() always positions the effective data
    found = [*environments.stack_name_findings(doc),
             *environments.in_each(schema.check_blueprint(chosen.document), chosen.name)]
    if any(f.severity is Severity.ERROR for f in found):
        return doc, chosen, None, found
    return doc, chosen, from_data(chosen.data, schema.load_schema()), findings + found


def report_problems(path: str, findings: list[Finding]) -> int:
    sys.stderr.write(text.render(Report(files=(path,), findings=tuple(findings))))
    return 1


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
