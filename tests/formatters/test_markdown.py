"""The pull-request summary: verdict, findings table, waivers apart, files checked."""

from __future__ import annotations

from sample_report import BROKEN, LEGACY, MINIMAL, ORDERS, sample_report

from blueprint.finding import Finding, Location, Report, Severity, Source
from blueprint.formatters import markdown


def section(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith(("### ", "<details>"))), len(lines))
    return [line for line in lines[start + 1:end] if line.startswith("|")]


def cells(row: str) -> list[str]:
    # split on unescaped pipes
    parts, current, escaped = [], "", False
    for char in row.strip()[1:-1]:
        if char == "|" and not escaped:
            parts.append(current.strip())
            current = ""
        else:
            current += char
        escaped = char == "\\" and not escaped
    parts.append(current.strip())
    return parts


def test_headline_failed_with_counts() -> None:
    text = markdown.render(sample_report())
    lines = text.splitlines()
    assert lines[0] == markdown.MARKER
    assert lines[1] == "## :x: blueprint policy gate: failed"
    assert "**4 files checked: 3 errors, 1 warning, 1 waived**" in lines


def test_headline_passed_when_only_warnings_unless_fail_on_warning() -> None:
    warning = Finding(Source.LINT, "W3005", Severity.WARNING, Location("a.yml", 1, 1), "w")
    report = Report(("a.yml",), (warning,))
    assert "## :white_check_mark: blueprint policy gate: passed" in markdown.render(report)
    assert "## :x: blueprint policy gate: failed" in markdown.render(
        report, fail_on=Severity.WARNING)


def test_findings_table() -> None:
    rows = section(markdown.render(sample_report()), "### Findings")
    assert cells(rows[0]) == ["File", "Severity", "Rule", "Message"]
    body = [cells(row) for row in rows[2:]]
    assert [row[:3] for row in body] == [
        [f"`{BROKEN}:7`", "error", "`BP101`"],
        [f"`{ORDERS}:1`", "warning", "`W3005`"],
        [f"`{ORDERS}:12`", "error", "`LAUNCH_TEMPLATE_IMDSV2_REQUIRED`"],
        [f"`{LEGACY}:14`", "error", "`E3012`"],
    ]
    assert "rendered: `cluster.yml:118:13` from `cluster.imdsV2`" in body[2][3]
    assert "got &lt;boolean&gt; 'yes'" in body[3][3]


def test_waived_findings_listed_apart_with_reasons() -> None:
    text = markdown.render(sample_report())
    rows = section(text, "### Waived findings (1)")
    assert cells(rows[0])[-1] == "Waiver"
    [waived] = [cells(row) for row in rows[2:]]
    assert waived[2] == "`ALB_ACCESS_LOGS_ENABLED`"
    assert waived[-1].startswith("Access logs go to the central collector")
    assert "ALB_ACCESS_LOGS_ENABLED" not in "\n".join(section(text, "### Findings"))


def test_files_checked() -> None:
    text = markdown.render(sample_report())
    assert "<details><summary>Files checked (4)</summary>" in text
    for file in (BROKEN, ORDERS, MINIMAL, LEGACY):
        assert f"- `{file}`" in text


def test_clean_report_has_no_tables() -> None:
    text = markdown.render(Report(("a.blueprint.yml",), ()))
    assert "passed" in text.splitlines()[1]
    assert "|" not in text
    assert "1 file checked: no problems" in text


def test_cells_cannot_break_the_table_or_inject_html() -> None:
    finding = Finding(Source.GUARD, "R|1", Severity.ERROR, Location("a|b`c.yml", 2, 1),
                      "x | y\n<script>alert(1)</script> \\ z")
    rows = section(markdown.render(Report(("a|b`c.yml",), (finding,))), "### Findings")
    row = cells(rows[2])
    assert len(row) == 4
    assert "<script>" not in rows[2]
    assert "&lt;script&gt;" in row[3]
    assert "<br>" in row[3]


def test_long_reports_are_cut() -> None:
    findings = tuple(Finding(Source.SCHEMA, "BP101", Severity.ERROR,
                             Location("a.blueprint.yml", n, 1), f"k{n}")
                     for n in range(1, markdown.MAX_ROWS + 11))
    text = markdown.render(Report(("a.blueprint.yml",), findings))
    assert len(section(text, "### Findings")) == markdown.MAX_ROWS + 2
    assert "and 10 more" in text
