"""The four templates of a blueprint, as data and text, and the field behind each node."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from blueprint import cfn_yaml
from blueprint.expander import cluster, parent, service, vpc
from blueprint.expander._build import ChildStack, Provenance, Template
from blueprint.model import Blueprint

_CHILDREN: tuple[tuple[str, str, Callable[[Blueprint], ChildStack]], ...] = (
    ("VpcStack", "vpc.yml", vpc.build),
    ("ClusterStack", "cluster.yml", cluster.build),
    ("ServiceStack", "service.yml", service.build),
)
# nested stack logical ID -> its template's file name, in the parent's order
CHILD_STACKS = {logical_id: name for logical_id, name, _ in _CHILDREN}
TEMPLATE_NAMES = ("parent.yml", *CHILD_STACKS.values())


@dataclass(frozen=True)
class Rendering:
    """The rendered templates, as data and as text, and where each part came from."""

    templates: dict[str, Template]
    texts: dict[str, str]
    # template name -> [(JSON-pointer prefix, blueprint field)], longest prefix first
    provenance: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def blueprint_field(self, template: str, pointer: str) -> str | None:
        for prefix, source in self.provenance.get(template, []):
            if pointer == prefix or pointer.startswith(prefix + "/"):
                return source
        return None


def render(blueprint: Blueprint) -> Rendering:
    stacks = [parent.NestedStack(logical_id, name, build(blueprint))
              for logical_id, name, build in _CHILDREN]
    parent_template, parent_provenance = parent.build(blueprint, stacks)
    templates = {"parent.yml": parent_template}
    provenance = {"parent.yml": parent_provenance}
    for stack in stacks:
        templates[stack.template_name] = stack.child.template()
        provenance[stack.template_name] = stack.child.provenance()
    texts = {name: cfn_yaml.dump(template) for name, template in templates.items()}
    return Rendering(templates, texts, {name: _longest_first(entries)
                                        for name, entries in provenance.items()})


def _longest_first(entries: Provenance) -> list[tuple[str, str]]:
    """One field per pointer, the most specific pointer first (``blueprint_field`` relies on it)."""
    unique = dict(entries)
    if len(unique) != len(entries):
        conflicting = sorted({p for p, f in entries if unique[p] != f})
        if conflicting:
            raise ValueError(f"pointers given two different blueprint fields: {conflicting}")
    return sorted(unique.items(), key=lambda item: -len(item[0]))
