"""JUnit XML: one ``<testsuite>`` per checked file, one ``<testcase>`` per file and rule.

Every rule of the report that applies to a file is a test case of that file
(schema and waiver rules apply to blueprints only; loader, Guard and lint
rules to every file), plus every rule a finding names. A test case

* fails when the file has an active finding of the rule at or above
  ``fail_on`` (default: errors), the message naming ``file:line:col`` and the
  finding, the body listing all of them;
* passes with the findings below ``fail_on`` in ``<system-out>``;
* is skipped when its only findings were waived (the message says why), or
  when the rule could not run on the file: it did not load, or (for the Guard
  and lint rules) the blueprint has schema errors, so nothing was rendered;
* passes otherwise.

A file counts as a blueprint when its name says so (``*.blueprint.y(a)ml`` or
under ``blueprints/``) or a finding shows it (a schema or waiver finding, or a
finding traced back from a rendered template).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from blueprint.finding import Finding, Report, RuleInfo, Severity, Source
from blueprint.formatters.text import finding_line, subject_line

_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BLUEPRINT_NAME = re.compile(r"(\.blueprint\.ya?ml$)|(^|/)blueprints/.*\.ya?ml$")
_BLUEPRINT_ONLY = (Source.SCHEMA, Source.WAIVER)


def xml_text(text: str) -> str:
    """``text`` with every character XML 1.0 cannot carry, even escaped, replaced."""
    return _XML_INVALID.sub("\ufffd", text)


@dataclass
class _Counts:
    tests: int = 0
    failures: int = 0
    skipped: int = 0

    def add(self, other: _Counts) -> None:
        self.tests += other.tests
        self.failures += other.failures
        self.skipped += other.skipped


def is_blueprint(file: str, findings: Iterable[Finding]) -> bool:
    if _BLUEPRINT_NAME.search(file.replace("\\", "/")):
        return True
    return any(f.source in _BLUEPRINT_ONLY or f.rendered_location is not None
               or f.blueprint_path is not None for f in findings)


def _not_checked(source: Source | None, findings: list[Finding], blueprint: bool) -> str | None:
    """Why rules of ``source`` did not run on the file, or None when they did."""
    if source is Source.LOADER:
        return None
    if any(f.source is Source.LOADER and f.severity is Severity.ERROR for f in findings):
        return "not checked: the file did not load"
    if (blueprint and source in (Source.GUARD, Source.LINT)
            and any(f.source is Source.SCHEMA and f.severity is Severity.ERROR
                    for f in findings)):
        return "not checked: the blueprint has schema errors, so nothing was rendered"
    return None


def _lines(findings: Iterable[Finding]) -> str:
    lines: list[str] = []
    for finding in findings:
        line = finding_line(finding)
        if finding.waived_by is not None:
            line += f" [waived: {finding.waived_by}]"
        lines.append(line)
        if finding.rendered_location is not None:
            field = f" from {finding.blueprint_path}" if finding.blueprint_path else ""
            lines.append(f"  rendered: {finding.rendered_location}{field}")
        subject = subject_line(finding)
        if subject:
            lines.append(subject)
        if finding.hint:
            lines.append(f"  hint: {finding.hint}")
    return "\n".join(lines) + "\n"


def _testcase(suite: ET.Element, file: str, rule_id: str, *, info: RuleInfo | None,
              findings: list[Finding], not_checked: str | None, fail_on: Severity) -> _Counts:
    name = f"{rule_id}: {info.title}" if info is not None and info.title else rule_id
    case = ET.SubElement(suite, "testcase", {"classname": xml_text(file),
                                             "name": xml_text(name)})
    counts = _Counts(tests=1)
    active = [f for f in findings if f.waived_by is None]
    failing = [f for f in active if f.severity.rank >= fail_on.rank]
    if failing:
        first = failing[0]
        message = f"{first.location}: {first.message}"
        if len(failing) > 1:
            message += f" (and {len(failing) - 1} more)"
        worst = max((f.severity for f in failing), key=lambda s: s.rank)
        failure = ET.SubElement(case, "failure", {"message": xml_text(message),
                                                  "type": worst.value})
        failure.text = xml_text(_lines(findings))
        counts.failures = 1
    elif active:
        ET.SubElement(case, "system-out").text = xml_text(_lines(findings))
    elif findings:
        reasons = sorted({f.waived_by or "" for f in findings})
        ET.SubElement(case, "skipped", {"message": xml_text("waived: " + "; ".join(reasons))})
        ET.SubElement(case, "system-out").text = xml_text(_lines(findings))
        counts.skipped = 1
    elif not_checked:
        ET.SubElement(case, "skipped", {"message": not_checked})
        counts.skipped = 1
    return counts


def _set_counts(element: ET.Element, counts: _Counts) -> None:
    element.set("tests", str(counts.tests))
    element.set("failures", str(counts.failures))
    element.set("errors", "0")
    element.set("skipped", str(counts.skipped))


def render(report: Report, *, fail_on: Severity = Severity.ERROR) -> str:
    findings = sorted(report.findings, key=Finding.sort_key)
    infos: dict[str, RuleInfo] = {}
    for described in report.rules:
        infos.setdefault(described.rule_id, described)
    root = ET.Element("testsuites", {"name": "blueprint"})
    total = _Counts()
    for file in sorted(set(report.files) | {f.file for f in findings}):
        in_file = [f for f in findings if f.file == file]
        blueprint = is_blueprint(file, in_file)
        rule_ids = {rule_id for rule_id, info in infos.items()
                    if blueprint or info.source not in _BLUEPRINT_ONLY}
        rule_ids |= {f.rule_id for f in in_file}
        suite = ET.SubElement(root, "testsuite", {"name": xml_text(file)})
        counts = _Counts()
        for rule_id in sorted(rule_ids):
            info = infos.get(rule_id)
            of_rule = [f for f in in_file if f.rule_id == rule_id]
            source = info.source if info is not None else (of_rule[0].source if of_rule
                                                           else None)
            counts.add(_testcase(suite, file, rule_id, info=info, findings=of_rule,
                                 not_checked=_not_checked(source, in_file, blueprint),
                                 fail_on=fail_on))
        _set_counts(suite, counts)
        total.add(counts)
    _set_counts(root, total)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
