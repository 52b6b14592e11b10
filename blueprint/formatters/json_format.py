"""Machine-readable findings: a stable, documented JSON document."""

from __future__ import annotations

import json
from typing import Any

from blueprint import __version__
from blueprint.finding import Finding, Location, Report

SCHEMA_VERSION = 1


def _location(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {"file": location.file, "line": location.line, "column": location.column}


def finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "source": finding.source.value,
        "rule": finding.rule_id,
        "severity": finding.severity.value,
        "file": finding.file,
        "line": finding.line,
        "column": finding.column,
        "message": finding.message,
        "hint": finding.hint,
        "resource": finding.resource,
        "propertyPath": finding.property_path,
        "blueprintPath": finding.blueprint_path,
        "rendered": _location(finding.rendered_location),
        "waivedBy": finding.waived_by,
    }


def render(report: Report) -> str:
    document = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "blueprint", "version": __version__},
        "files": list(report.files),
        "findings": [finding_dict(f) for f in report.findings],
        "summary": {
            "errors": sum(1 for f in report.active if f.severity.value == "error"),
            "warnings": sum(1 for f in report.active if f.severity.value == "warning"),
            "waived": len(report.waived),
        },
    }
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
