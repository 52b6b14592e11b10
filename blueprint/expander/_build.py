"""What every stack is built from: resources and parameters that carry their blueprint field.

A builder returns a ``Part`` -- (logical ID, resource, blueprint field) -- so the
field behind a resource is written where the resource is made, and the
provenance of a template is read off its parts instead of being kept by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from blueprint.model import Logs

FORMAT_VERSION = "2010-09-09"

Template = dict[str, Any]
# (JSON pointer into one template, the dotted blueprint field behind that node)
Provenance = list[tuple[str, str]]


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def get_att(resource: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [resource, attribute]}


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


class Part(NamedTuple):
    """One resource of a template and the blueprint field it comes from.

    ``details`` names narrower fields behind nodes inside the resource, as JSON
    pointers relative to it (``/Properties/...``).
    """

    logical_id: str
    resource: dict[str, Any]
    field: str
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Parameter:
    """A child template's parameter, and how the parent fills it in.

    A *setting* names the blueprint field it comes from and the value the parent
    passes. A parameter without a field is *wired*: the parent passes the output
    of the same name of another child stack.
    """

    name: str
    declaration: dict[str, Any]
    field: str | None = None
    value: Any = None


def setting(name: str, field: str, value: Any, declaration: dict[str, Any]) -> Parameter:
    return Parameter(name, declaration, field, value)


def wired(name: str, declaration: dict[str, Any]) -> Parameter:
    return Parameter(name, declaration)


def log_group(logical_id: str, logs: Logs, *, retain: bool) -> Part:
    """A log group with the blueprint's retention and key; ``retain`` keeps it (and its
    events) when the stack deletes or replaces it."""
    properties: dict[str, Any] = {"RetentionInDays": logs.retention_days}
    details = [("/Properties/RetentionInDays", "logs.retentionDays")]
    if logs.kms_key_arn:
        properties["KmsKeyId"] = logs.kms_key_arn
        details.append(("/Properties/KmsKeyId", "logs.kmsKeyArn"))
    resource: dict[str, Any] = {"Type": "AWS::Logs::LogGroup", "Properties": properties}
    if retain:
        resource.update({"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
    return Part(logical_id, resource, "logs", tuple(details))


def resources(parts: Iterable[Part]) -> dict[str, Any]:
    """The ``Resources`` section; a logical ID built twice is a bug, not an overwrite."""
    section: dict[str, Any] = {}
    for part in parts:
        if part.logical_id in section:
            raise ValueError(f"resource {part.logical_id} is built twice")
        section[part.logical_id] = part.resource
    return section


def parts_provenance(parts: Iterable[Part]) -> Provenance:
    entries: Provenance = []
    for part in parts:
        prefix = f"/Resources/{part.logical_id}"
        entries.append((prefix, part.field))
        entries += [(prefix + pointer, field) for pointer, field in part.details]
    return entries


@dataclass(frozen=True)
class ChildStack:
    """A nested stack's template as parts, with the blueprint section it renders."""

    description: str
    section: str
    parameters: tuple[Parameter, ...]
    parts: tuple[Part, ...]
    outputs: dict[str, Any]

    @property
    def settings(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.field is not None)

    @property
    def wired(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.field is None)

    def template(self) -> Template:
        template: Template = {"AWSTemplateFormatVersion": FORMAT_VERSION,
                              "Description": self.description}
        if self.parameters:  # (the VPC stack takes none: its settings are literals)
            template["Parameters"] = {p.name: p.declaration for p in self.parameters}
        return {**template, "Resources": resources(self.parts), "Outputs": self.outputs}

    def provenance(self) -> Provenance:
        entries: Provenance = [("/Resources", self.section)]
        entries += [(f"/Parameters/{p.name}", p.field) for p in self.settings
                    if p.field is not None]
        return entries + parts_provenance(self.parts)
