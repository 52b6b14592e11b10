"""Where a finding on a template belongs: a line of the file the user wrote.

cfn-guard names a JSON pointer into the template, cfn-lint a line and
column. For a template file that is where the finding is. For a template
rendered from a blueprint the finding is reported at the blueprint field
that produced the part of the template (the rendering's provenance), with
the rendered location kept alongside.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from blueprint.expander import Rendering
from blueprint.finding import Finding, Location, Source
from blueprint.guard import GuardViolation, to_finding
from blueprint.lint import LintMatch
from blueprint.loader import Document


@dataclass(frozen=True)
class Origin:
    """The file the user wrote, and the rendering of it when it is a blueprint."""

    doc: Document
    rendering: Rendering | None = None


def pointer_path(pointer: str) -> tuple[str | int, ...]:
    """A JSON pointer (``/Resources/Vpc/Properties``) as a path into loaded data."""
    parts: list[str | int] = []
    for raw in pointer.strip("/").split("/") if pointer.strip("/") else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        parts.append(int(part) if part.isdigit() else part)
    return tuple(parts)


def locate(origin: Origin, template: str, positions_doc: Document, pointer: str,
           line: int = 0, column: int = 0) -> tuple[Location, Location | None, str | None]:
    """(where to report, the rendered location if any, the blueprint field if any)."""
    if pointer:
        template_location = positions_doc.location(pointer_path(pointer))
    else:
        template_location = Location(positions_doc.file, line or 1, column or 1)
    if origin.rendering is None:
        return Location(origin.doc.file, template_location.line, template_location.column), \
            None, None
    source = origin.rendering.blueprint_field(template, pointer) if pointer else None
    rendered = Location(template, template_location.line, template_location.column)
    if source is None:
        return Location(origin.doc.file, 1, 1), rendered, None
    path = tuple(source.split("."))
    return origin.doc.location(path, key=True), rendered, source


def guard_finding(origin: Origin, template: str, positions_doc: Document,
                  violation: GuardViolation, *, mandatory: bool,
                  hint: str | None = None) -> Finding:
    location, rendered, source = locate(origin, template, positions_doc, violation.pointer,
                                        violation.line, violation.column)
    finding = to_finding(violation, location, mandatory=mandatory, hint=hint)
    return _with_rendering(finding, rendered, source, template)


def lint_findings(origin: Origin, template: str, positions_doc: Document,
                  matches: tuple[LintMatch, ...]) -> list[Finding]:
    result = []
    for match in matches:
        # On a rendered template, trace the match back to the blueprint field.
        pointer = pointer_at(positions_doc, match.line) if origin.rendering else ""
        location, rendered, source = locate(origin, template, positions_doc, pointer,
                                            match.line, match.column)
        if rendered is not None:
            rendered = Location(template, match.line, match.column)
        finding = Finding(Source.LINT, match.rule_id, match.severity, location, match.message)
        result.append(_with_rendering(finding, rendered, source, template))
    return result


def _with_rendering(finding: Finding, rendered: Location | None, source: str | None,
                    template: str) -> Finding:
    if rendered is None:
        return finding
    return replace(finding, rendered_location=rendered, blueprint_path=source,
                   message=f"{finding.message} (rendered {template})")


def pointer_at(doc: Document, line: int) -> str:
    """The deepest path whose value starts on ``line`` (to trace a lint match back)."""
    best: tuple[Any, ...] = ()
    for path, (value_line, _) in doc.positions.values.items():
        if value_line == line and len(path) > len(best):
            best = path
    return "/" + "/".join(str(p) for p in best) if best else ""
