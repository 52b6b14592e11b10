"""GitHub Actions workflow commands: one annotation per finding, then the summary.

``::error file=F,line=L,col=C,title=RULE::message`` (warnings as
``::warning``, info as ``::notice``); ``line`` and ``col`` only when known.
A waived finding is never an error annotation: it becomes a ``::notice``
whose title says "waived" and whose message ends with the waiver.

Escaping follows the Actions runner: in the message ``%``, CR and LF become
``%25``, ``%0D`` and ``%0A``; in property values ``:`` and ``,`` become
``%3A`` and ``%2C`` as well. Multi-line messages (hint, rendered template)
therefore stay one command.
"""

from __future__ import annotations

from blueprint.finding import Finding, Report, Severity
from blueprint.formatters.text import summary

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    waived = finding.waived_by is not None
    command = "notice" if waived else COMMANDS[finding.severity]
    properties = [("file", finding.file)]
    if finding.line > 0:
        properties.append(("line", str(finding.line)))
        if finding.column > 0:
            properties.append(("col", str(finding.column)))
    title = f"{finding.rule_id} (waived)" if waived else finding.rule_id
    properties.append(("title", title))
    lines = [finding.message]
    if finding.rendered_location is not None:
        field = f" from {finding.blueprint_path}" if finding.blueprint_path else ""
        lines.append(f"rendered: {finding.rendered_location}{field}")
    if finding.subject:
        lines.append(f"resource: {finding.subject}")
    if finding.hint:
        lines.append(f"hint: {finding.hint}")
    if waived:
        lines.append(f"waived ({finding.severity.value}): {finding.waived_by}")
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{command} {props}::{escape_data(chr(10).join(lines))}"


def render(report: Report) -> str:
    lines = [annotation(f) for f in sorted(report.findings, key=Finding.sort_key)]
    lines.append(summary(report))
    return "\n".join(lines) + "\n"
