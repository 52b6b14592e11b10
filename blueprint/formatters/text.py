"""``FILE:LINE:COL: SEVERITY RULE-ID message``, one line per finding, then a summary."""

from __future__ import annotations

from blueprint.finding import Finding, Report, Severity


def finding_line(finding: Finding) -> str:
    return f"{finding.location}: {finding.severity.value} {finding.rule_id} {finding.message}"


def subject_line(finding: Finding) -> str | None:
    """``  resource: Sg.Properties.SecurityGroupIngress[0].CidrIp``, for a finding on one."""
    return f"  resource: {finding.subject}" if finding.subject else None


def render(report: Report) -> str:
    lines: list[str] = []
    for finding in report.active:
        lines.append(finding_line(finding))
        if finding.rendered_location is not None:
            field = f" from {finding.blueprint_path}" if finding.blueprint_path else ""
            lines.append(f"  rendered: {finding.rendered_location}{field}")
        subject = subject_line(finding)
        if subject:
            lines.append(subject)
        if finding.hint:
            lines.append(f"  hint: {finding.hint}")
    if report.waived:
        lines.append("waived:")
        lines += [f"  {finding_line(f)} [waived: {f.waived_by}]" for f in report.waived]
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def summary(report: Report) -> str:
    counts = dict.fromkeys(Severity, 0)
    for finding in report.active:
        counts[finding.severity] += 1
    files = len(report.files)
    checked = f"{files} file{'s' if files != 1 else ''} checked"
    parts = [f"{n} {s.value}{'s' if n != 1 else ''}" for s, n in counts.items() if n]
    if report.waived:
        parts.append(f"{len(report.waived)} waived")
    return f"{checked}: {', '.join(parts)}" if parts else f"{checked}: no problems"


