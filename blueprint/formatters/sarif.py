"""SARIF 2.1.0, for GitHub code scanning and any other SARIF viewer.

One run whose ``tool.driver.rules`` describes every rule of the report (and
every rule a finding names that the report does not describe, such as
cfn-lint's ``E3012``). Each finding is one result located in the file that
was checked (the blueprint line that produced it); when it was found in a
rendered template, that template location is a related location. A waived
finding carries an external suppression whose justification is the waiver.
Rules and results say in ``properties.mandatory`` whether a waiver could
switch the rule off, as ``catalog.is_mandatory`` decides: loader, schema and
waiver rules, shipped and unlisted Guard policies never can.

A finding on a template entry names it twice: as the location's logical
location (``Resource.Property.Path``) and as ``properties.resource`` and
``properties.propertyPath``. ``partialFingerprints["blueprintFinding/v1"]``
hashes rule, file and that subject (never a line), so code scanning tracks a
finding across commits that move it.

The document validates against the OASIS schema (errata 01), vendored in
``tests/data/sarif-schema-2.1.0.json``. Output is deterministic: no
timestamps, results in ``Finding.sort_key`` order, rules sorted by id.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import PureWindowsPath
from typing import Any
from urllib.parse import quote

from blueprint import __version__
from blueprint.catalog import is_mandatory
from blueprint.finding import Finding, Location, Report, RuleInfo, Severity, Source

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_LINT_LEVEL = {"E": "error", "W": "warning", "I": "note"}
_LINT_ID = re.compile(r"^[EWI]\d{4}$")


def artifact_uri(path: str) -> str:
    """A file name as a URI reference: relative paths stay relative, as given."""
    if PureWindowsPath(path).drive or path.startswith("/"):
        posix = path.replace("\\", "/")
        return "file://" + quote(posix if posix.startswith("/") else "/" + posix, safe="/:")
    return quote(path.replace("\\", "/"), safe="/")


def _region(location: Location) -> dict[str, int] | None:
    if location.line <= 0:
        return None
    region = {"startLine": location.line}
    if location.column > 0:
        region["startColumn"] = location.column
    return region


def _physical(location: Location) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(location.file)}}
    region = _region(location)
    if region is not None:
        physical["region"] = region
    return physical


def _default_level(rule_id: str, info: RuleInfo | None, findings: list[Finding]) -> str:
    if findings:
        return LEVELS[max((f.severity for f in findings), key=lambda s: s.rank)]
    if info is None:
        return "warning"
    if info.source is Source.GUARD:
        return "error" if info.mandatory else "warning"
    if info.source is Source.LINT:
        return _LINT_LEVEL.get(rule_id[:1], "warning")
    return "error"


def _source(rule_id: str, info: RuleInfo | None, findings: list[Finding]) -> Source:
    if info is not None:
        return info.source
    if findings:
        return findings[0].source
    return Source.LINT if _LINT_ID.match(rule_id) else Source.GUARD


def _mandatory(rule_id: str, info: RuleInfo | None, findings: list[Finding]) -> bool:
    return is_mandatory(rule_id, _source(rule_id, info, findings),
                        info.mandatory if info is not None else None)


def _rule(rule_id: str, info: RuleInfo | None, findings: list[Finding]) -> dict[str, Any]:
    source = _source(rule_id, info, findings)
    if info is not None:
        title, help_text = info.title, info.help
    else:
        title = f"cfn-lint rule {rule_id}" if source is Source.LINT else rule_id
        help_text = ""
    descriptor: dict[str, Any] = {"id": rule_id, "shortDescription": {"text": title or rule_id}}
    if help_text:
        descriptor["fullDescription"] = {"text": help_text}
    descriptor["help"] = {"text": help_text or title or rule_id}
    descriptor["defaultConfiguration"] = {"level": _default_level(rule_id, info, findings)}
    descriptor["properties"] = {"tags": [source.value],
                                "mandatory": _mandatory(rule_id, info, findings)}
    return descriptor


def _message(finding: Finding) -> str:
    if finding.hint:
        return f"{finding.message}\nHint: {finding.hint}"
    return finding.message


FINGERPRINT_KEY = "blueprintFinding/v1"
_LINE_MENTION = re.compile(r"\bline \d+")


def fingerprint(finding: Finding) -> str:
    """What stays the same while a finding is not fixed, lines moving or not.

    Rule, file and the finding's subject (resource and property path, and the
    rendered template it is in); without a subject, the blueprint field, and
    without one either, the message with any "line N" in it blanked. Never a
    line number.
    """
    rendered = finding.rendered_location.file if finding.rendered_location else ""
    if finding.resource is not None or finding.property_path is not None:
        subject = [rendered, finding.resource or "", finding.property_path or ""]
    elif finding.blueprint_path is not None:
        subject = [rendered, "", finding.blueprint_path]
    else:
        subject = [rendered, "", "", _LINE_MENTION.sub("line #", finding.message)]
    text = "\x00".join([finding.rule_id, finding.file, *subject])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _location(finding: Finding) -> dict[str, Any]:
    location: dict[str, Any] = {"physicalLocation": _physical(finding.location)}
    if finding.subject:
        location["logicalLocations"] = [{"name": finding.resource or finding.subject,
                                         "fullyQualifiedName": finding.subject}]
    return location


def _result(finding: Finding, rule_index: int, mandatory: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": _message(finding)},
        "locations": [_location(finding)],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding)},
    }
    if finding.rendered_location is not None:
        rendered = finding.rendered_location
        text = f"rendered template {rendered}"
        if finding.blueprint_path:
            text += f", produced by blueprint field {finding.blueprint_path}"
        result["relatedLocations"] = [{
            "id": 1,
            "physicalLocation": _physical(rendered),
            "message": {"text": text},
        }]
    if finding.waived_by is not None:
        result["suppressions"] = [{"kind": "external", "justification": finding.waived_by}]
    result["properties"] = {"source": finding.source.value, "mandatory": mandatory}
    if finding.blueprint_path:
        result["properties"]["blueprintPath"] = finding.blueprint_path
    if finding.resource is not None:
        result["properties"]["resource"] = finding.resource
    if finding.property_path is not None:
        result["properties"]["propertyPath"] = finding.property_path
    return result


def sarif_document(report: Report) -> dict[str, Any]:
    findings = sorted(report.findings, key=Finding.sort_key)
    infos: dict[str, RuleInfo] = {}
    for info in report.rules:
        infos.setdefault(info.rule_id, info)
    by_rule: dict[str, list[Finding]] = {}
    for finding in findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    rule_ids = sorted(set(infos) | set(by_rule))
    index = {rule_id: n for n, rule_id in enumerate(rule_ids)}
    mandatory = {rule_id: _mandatory(rule_id, infos.get(rule_id), by_rule.get(rule_id, []))
                 for rule_id in rule_ids}
    files = sorted(set(report.files) | {f.file for f in findings})
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": "blueprint",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(r, infos.get(r), by_rule.get(r, [])) for r in rule_ids],
            }},
            "artifacts": [{"location": {"uri": artifact_uri(f)}} for f in files],
            "columnKind": "unicodeCodePoints",
            "results": [_result(f, index[f.rule_id], mandatory[f.rule_id]) for f in findings],
        }],
    }


def render(report: Report) -> str:
    return json.dumps(sarif_document(report), indent=2, ensure_ascii=False) + "\n"


__all__ = ["FINGERPRINT_KEY", "SARIF_SCHEMA_URI", "SARIF_VERSION", "artifact_uri", "fingerprint",
           "render", "sarif_document"]
