"""A Markdown summary for a pull-request comment or ``$GITHUB_STEP_SUMMARY``.

A headline (passed or failed at ``fail_on``, default errors), the counts, a
table of active findings (file:line, severity, rule, message), the waived
findings apart with their waivers, and the files checked in a collapsed
list. Cell text is escaped so that no message can break the table or inject
HTML; tables stop after ``MAX_ROWS`` rows to stay under GitHub's comment size.

Before the files, an "Architecture" section draws each blueprint checked (each
environment of one with environments) as a Mermaid diagram, which GitHub
renders (``blueprint.diagram``, at most ``MAX_DIAGRAMS``). Unlike the other
formats this reads the files named in the report again; a file that is not a
blueprint, or no longer loads, gets no diagram and never fails the report.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from blueprint.finding import Finding, Report, Severity
from blueprint.formatters.text import summary

MARKER = "<!-- blueprint-policy-gate -->"
MAX_ROWS = 100
MAX_DIAGRAMS = 10  # each is a few kB; GitHub cuts a comment at 65,536 characters

# path -> (environment or None, Mermaid) per diagram; [] for a file that is not a
# blueprint or no longer loads
DiagramSource = Callable[[str], list[tuple[str | None, str]]]


def _blueprint_diagrams(path: str) -> list[tuple[str | None, str]]:
    from blueprint.diagram import mermaid_of_file  # deferred: only this report draws

    return mermaid_of_file(path)


def cell(text: str) -> str:
    """Text safe inside a table cell: no HTML, no pipe, no line break."""
    escaped = html.escape(text, quote=False).replace("\\", "\\\\").replace("|", "\\|")
    return "<br>".join(part.strip() for part in escaped.splitlines()) or " "


def code(text: str) -> str:
    """``text`` as an inline code span inside a table cell."""
    text = text.replace("|", "\\|").replace("\n", " ")
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _where(finding: Finding) -> str:
    return code(f"{finding.file}:{finding.line}" if finding.line else finding.file)


def _message(finding: Finding) -> str:
    text = cell(finding.message)
    if finding.rendered_location is not None:
        rendered = code(str(finding.rendered_location))
        field = f" from {code(finding.blueprint_path)}" if finding.blueprint_path else ""
        text += f"<br>rendered: {rendered}{field}"
    if finding.subject:
        text += f"<br>resource: {code(finding.subject)}"
    if finding.hint:
        text += f"<br>hint: {cell(finding.hint)}"
    return text


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        lines += ["", f"… and {len(rows) - MAX_ROWS} more (see the full report)."]
    return lines


def _architecture(files: list[str], diagrams: DiagramSource) -> list[str]:
    """A Mermaid diagram of each blueprint checked (each environment of one that has them)."""
    drawn = [(file, env, text) for file in files for env, text in diagrams(file)]
    if not drawn:
        return []
    lines = [f"### Architecture ({len(drawn)})", ""]
    for file, env, text in drawn[:MAX_DIAGRAMS]:
        where = code(file) + (f" · environment {code(env)}" if env else "")
        lines += [f"**{where}**", "", "```mermaid", text.rstrip("\n"), "```", ""]
    if len(drawn) > MAX_DIAGRAMS:
        lines += [f"… and {len(drawn) - MAX_DIAGRAMS} more "
                  "(`blueprint diagram FILE [--env NAME]` draws them).", ""]
    return lines


def render(report: Report, *, fail_on: Severity = Severity.ERROR,
           diagrams: DiagramSource = _blueprint_diagrams) -> str:
    findings = sorted(report.findings, key=Finding.sort_key)
    active = [f for f in findings if f.waived_by is None]
    waived = [f for f in findings if f.waived_by is not None]
    failed = any(f.severity.rank >= fail_on.rank for f in active)
    headline = ("## :x: blueprint policy gate: failed" if failed
                else "## :white_check_mark: blueprint policy gate: passed")
    lines = [MARKER, headline, "", f"**{summary(report)}**", ""]
    if active:
        lines += [f"### Findings ({len(active)})", ""]
        lines += _table(["File", "Severity", "Rule", "Message"],
                        [[_where(f), f.severity.value, code(f.rule_id), _message(f)]
                         for f in active])
        lines.append("")
    if waived:
        lines += [f"### Waived findings ({len(waived)})", ""]
        lines += _table(["File", "Severity", "Rule", "Message", "Waiver"],
                        [[_where(f), f.severity.value, code(f.rule_id), _message(f),
                          cell(f.waived_by or "")] for f in waived])
        lines.append("")
    files = sorted(report.files)
    lines += _architecture(files, diagrams)
    lines += [f"<details><summary>Files checked ({len(files)})</summary>", ""]
    lines += [f"- {code(f)}" for f in files] or ["- (none)"]
    lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
