"""Where a finding on a template belongs: a line of the file the user wrote.

cfn-guard names a JSON pointer into the template, cfn-lint a line and
column. For a template file that is where the finding is: the offending
node, i.e. the wrong value itself (a literal, a list item, an intrinsic
function; the key of a wrong list or mapping), or, when a property is
missing, the resource's ``Properties:`` key (its ``Type:`` line without
one), never a sibling that happens to be a mapping's first key. For a
template rendered from a blueprint the finding is reported at the blueprint
field that produced the part of the template (the rendering's provenance),
with the rendered location kept alongside.

Every finding on a template also names its subject: the logical id of the
resource and the property path inside it (``Properties.Subnets[0]``), or,
outside Resources, the path from the template's root.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from blueprint.expander import Rendering
from blueprint.finding import Finding, Location, Source
from blueprint.guard import GuardViolation, is_intrinsic, to_finding
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


def node_location(doc: Document, pointer: str, missing: str = "") -> Location:
    """Where the node at ``pointer`` is written, as a reader would point at it.

    A scalar or an intrinsic function that is wrong is its own position; a
    plain mapping or a list that is wrong is its key (the position of a
    collection's value is its first entry, only a sibling). When a property
    is ``missing`` from a resource, at any depth, the finding is on the
    resource's ``Properties:`` key (its ``Type:`` line without one); the
    property path says where exactly.
    """
    path = pointer_path(pointer)
    if missing and len(path) >= 2 and path[0] == "Resources":
        path = path[:2]
    node = _node_at(doc.data, path)
    if len(path) == 2 and path[0] == "Resources" and isinstance(node, dict):
        for key in ("Properties", "Type"):
            if key in node:
                return doc.location((*path, key), key=True)
    if path and (isinstance(node, list) or (isinstance(node, dict) and not is_intrinsic(node))):
        return doc.location(path, key=True)
    return doc.location(path)


def _node_at(data: Any, path: tuple[str | int, ...]) -> Any:
    node = data
    for part in path:
        present = part in node if isinstance(node, dict) else \
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not present:
            return None
        node = node[part]
    return node


def subject(pointer: str, missing: str = "") -> tuple[str | None, str | None]:
    """(resource logical id, property path) of a node.

    Inside a resource the path is relative to it
    (``("Sg", "Properties.SecurityGroupIngress[0]")``); elsewhere there is no
    resource and the path starts at the template's root
    (``(None, "Outputs.Url.Value")``). ``missing`` (dotted) is appended: the
    path then names what is absent.
    """
    path = pointer_path(pointer)
    resource: str | None = None
    if len(path) >= 2 and path[0] == "Resources":
        resource, path = str(path[1]), path[2:]
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    if missing:
        text = f"{text}.{missing}" if text else missing
    return resource, text or None


def locate(origin: Origin, template: str, positions_doc: Document, pointer: str,
           line: int = 0, column: int = 0, *,
           missing: str = "") -> tuple[Location, Location | None, str | None]:
    """(where to report, the rendered location if any, the blueprint field if any)."""
    if pointer:
        template_location = node_location(positions_doc, pointer, missing)
    else:
        template_location = Location(positions_doc.file, line or 1, column or 1)
    if origin.rendering is None:
        return Location(origin.doc.file, template_location.line, template_location.column), \
            None, None
    full = pointer + "".join(f"/{key}" for key in missing.split(".") if key)
    source = origin.rendering.blueprint_field(template, full) if pointer else None
    rendered = Location(template, template_location.line, template_location.column)
    if source is None:
        return Location(origin.doc.file, 1, 1), rendered, None
    path = tuple(source.split("."))
    return origin.doc.location(path, key=True), rendered, source


def guard_finding(origin: Origin, template: str, positions_doc: Document,
                  violation: GuardViolation, *, mandatory: bool,
                  hint: str | None = None) -> Finding:
    location, rendered, source = locate(origin, template, positions_doc, violation.pointer,
                                        violation.line, violation.column,
                                        missing=violation.missing)
    resource, path = subject(violation.pointer, violation.missing)
    finding = replace(to_finding(violation, location, mandatory=mandatory, hint=hint),
                      resource=resource, property_path=path)
    return _with_rendering(finding, rendered, source, template)


def lint_findings(origin: Origin, template: str, positions_doc: Document,
                  matches: tuple[LintMatch, ...]) -> list[Finding]:
    result = []
    pointers = _pointers_by_line(positions_doc) if matches else {}
    for match in matches:
        # cfn-lint's line stays where it is; the node on it names the subject and,
        # on a rendered template, the blueprint field to trace the match back to.
        pointer = pointers.get(match.line, "")
        location, rendered, source = locate(origin, template, positions_doc,
                                            pointer if origin.rendering else "",
                                            match.line, match.column)
        if rendered is not None:
            rendered = Location(template, match.line, match.column)
        resource, path = subject(pointer)
        finding = Finding(Source.LINT, match.rule_id, match.severity, location, match.message,
                          resource=resource, property_path=path)
        result.append(_with_rendering(finding, rendered, source, template))
    return result


def _with_rendering(finding: Finding, rendered: Location | None, source: str | None,
                    template: str) -> Finding:
    if rendered is None:
        return finding
    return replace(finding, rendered_location=rendered, blueprint_path=source,
                   message=f"{finding.message} (rendered {template})")


def name_subjects(findings: list[Finding], doc: Document) -> list[Finding]:
    """The findings on ``doc``'s lines, each naming the template entry on its line.

    For findings made without a pointer (the loader's, a duplicate key's): the
    deepest key or value written on the finding's line is its subject. Findings
    that already name one, and findings on other files, are left as they are.
    """
    pointers = _pointers_by_line(doc) if findings else {}
    result = []
    for finding in findings:
        pointer = pointers.get(finding.line, "") if finding.file == doc.file else ""
        if pointer and finding.resource is None and finding.property_path is None:
            resource, path = subject(pointer)
            result.append(replace(finding, resource=resource, property_path=path))
        else:
            result.append(finding)
    return result


def pointer_at(doc: Document, line: int) -> str:
    """The deepest path whose key or value starts on ``line`` (to trace a lint match back).

    Paths into an intrinsic function stop at the function, as Guard's do.
    """
    return _pointers_by_line(doc).get(line, "")


def _pointers_by_line(doc: Document) -> dict[int, str]:
    """``pointer_at`` for every line at once: one pass over the positions."""
    best: dict[int, tuple[Any, ...]] = {}
    for positions in (doc.positions.values, doc.positions.keys):
        for path, (found_line, _) in positions.items():
            if len(path) > len(best.get(found_line, ())):
                best[found_line] = path
    return {line: _pointer(_outside_functions(path)) for line, path in best.items() if path}


def _outside_functions(path: tuple[Any, ...]) -> tuple[Any, ...]:
    for index, part in enumerate(path):
        if isinstance(part, str) and (part == "Ref" or part.startswith("Fn::")):
            return path[:index]
    return path


def _pointer(path: tuple[Any, ...]) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path) \
        if path else ""
