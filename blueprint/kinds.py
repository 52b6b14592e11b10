"""What a loaded file is: a blueprint, a CloudFormation template, or neither.

A file is a blueprint when it has a ``blueprint:`` key, a template when it
has ``Resources:`` or ``AWSTemplateFormatVersion:``, by content and never by
name. The findings here say why a file cannot be checked as what it is.
"""

from __future__ import annotations

from blueprint.finding import Finding, Location, Severity, Source
from blueprint.loader import Document, walk

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

    A Transform (SAM, AWS::Include, any macro) means CloudFormation deploys
    what the macro returns, which nobody has checked: that fails closed.
    """
    problems = [
        Finding(Source.LOADER, "BP007", Severity.ERROR, doc.location((key,), key=True),
                f"{key!r} is not a CloudFormation template section",
                f"allowed sections: {', '.join(sorted(TEMPLATE_SECTIONS))}")
        for key in doc.data if key not in TEMPLATE_SECTIONS
    ]
    transforms = [path for path, value in walk(doc.data)
                  if path and (path == ("Transform",) or path[-1] == "Fn::Transform")]
    problems += [
        Finding(Source.LOADER, "BP008", Severity.ERROR, doc.location(path, key=True),
                "the template uses a transform (macro): what CloudFormation deploys is the "
                "macro's output, which cannot be checked here",
                "validate the expanded template instead (e.g. from `aws cloudformation "
                "package` / `sam build`, or the change set's processed template)")
        for path in transforms
    ]
    return problems
