"""What a loaded file is: a blueprint, a CloudFormation template, or neither.

A file is a blueprint when it has a ``blueprint:`` key, a template when it
has ``Resources:`` or ``AWSTemplateFormatVersion:``, by content and never by
name. The findings here say why a file cannot be checked as what it is.
"""

from __future__ import annotations

from typing import Any

from blueprint.finding import Finding, Location, Severity, Source
from blueprint.loader import Document, Path, walk
from blueprint.sam import GLOBALS, SAM_TRANSFORM, declared_transforms

BLUEPRINT, TEMPLATE = "blueprint", "template"
TEMPLATE_SECTIONS = frozenset({
    "AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings",
    "Conditions", "Transform", "Resources", "Outputs", "Hooks",
})


def kind_of(doc: Document) -> str | None:
    """``BLUEPRINT``, ``TEMPLATE``, or None for a file that is neither."""
    if "blueprint" in doc.data:
        return BLUEPRINT
    if "Resources" in doc.data or "AWSTemplateFormatVersion" in doc.data:
        return TEMPLATE
    return None


def not_a_blueprint(doc: Document) -> Finding:
    return Finding(Source.LOADER, "BP006", Severity.ERROR, Location(doc.file, 1, 1),
                   "this file is neither a blueprint (no `blueprint:` key) nor a "
                   "CloudFormation template (no `Resources:`)",
                   "add `blueprint: v1` at the top, or check the file name")


def template_not_blueprint(doc: Document) -> Finding:
    """For the commands that take a blueprint only (render, deploy)."""
    return Finding(Source.LOADER, "BP006", Severity.ERROR, Location(doc.file, 1, 1),
                   "this is a CloudFormation template, not a blueprint",
                   "render and deploy take a blueprint (`blueprint: v1`); "
                   "`blueprint validate` checks templates too")


def template_problems(doc: Document) -> list[Finding]:
    """What makes a template uncheckable: unknown sections, and macros.

    A transform (AWS::Include, any macro) means CloudFormation deploys what
    the macro returns, which nobody has checked: that fails closed. The SAM
    transform is the exception: blueprint expands it itself (``blueprint.sam``),
    and its ``Globals`` section is then a section. A template that declares any
    other top-level transform gets no BP007: the macro may read sections of its
    own, and BP008 already says the template cannot be checked.
    """
    declared = declared_transforms(doc.data)
    problems = [] if any(name != SAM_TRANSFORM for name in declared) else [
        Finding(Source.LOADER, "BP007", Severity.ERROR, doc.location((key,), key=True),
                f"{key!r} is not a CloudFormation template section",
                f"allowed sections: {', '.join(sorted(_sections(declared)))}")
        for key in doc.data if key not in _sections(declared)
    ]
    return problems + [
        Finding(Source.LOADER, "BP008", Severity.ERROR, doc.location(path, key=True),
                f"the template uses {_transform_name(value)}: what CloudFormation deploys is "
                "the macro's output, which cannot be checked here",
                "validate the expanded template instead (e.g. from `aws cloudformation "
                "package` / `sam build`, or the change set's processed template); only "
                f"the SAM transform ({SAM_TRANSFORM}) is expanded here")
        for path, value in _unexpandable_transforms(doc, declared)
    ]


def _sections(declared: list[Any]) -> frozenset[str]:
    return TEMPLATE_SECTIONS | {GLOBALS} if SAM_TRANSFORM in declared else TEMPLATE_SECTIONS


def _unexpandable_transforms(doc: Document, declared: list[Any]) -> list[tuple[Path, Any]]:
    """Each transform blueprint cannot expand, with where it is written."""
    found: list[tuple[Path, Any]] = []
    if declared and not all(name == SAM_TRANSFORM for name in declared):
        if isinstance(doc.data["Transform"], list):
            found += [(("Transform", index), name) for index, name in enumerate(declared)
                      if name != SAM_TRANSFORM]
        else:
            found.append((("Transform",), declared[0]))
    found += [(path, value.get("Name") if isinstance(value, dict) else value)
              for path, value in walk(doc.data)
              if len(path) > 1 and path[-1] == "Fn::Transform"]
    return found


def _transform_name(name: Any) -> str:
    if isinstance(name, str) and name:
        return f"the transform {name!r}"
    return "a transform (macro)"
