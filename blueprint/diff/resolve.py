"""Templates -> resource properties with every intrinsic resolved as far as can be known offline.

* ``Ref`` to a parameter becomes the value passed to it: a nested stack's
  parameter is followed into the parent's ``Parameters`` of that stack, then
  resolved there; otherwise its ``Default``; otherwise it stays symbolic.
* ``Ref``/``Fn::GetAtt`` to a resource becomes a ``Token`` (the physical id or
  attribute, known only once deployed); the parent's ``Fn::GetAtt
  Child.Outputs.X`` is followed into the child's output and resolved there, so a
  token crosses stacks and a replaced resource is seen wherever its id is used.
* An SSM-typed parameter becomes a deploy-time token carrying the path.
* Other functions (``Fn::Sub``, ``Fn::Join``, ``Fn::Select``, ``Fn::If``...) keep
  their shape with resolved arguments: two sides compare equal exactly when
  their inputs do. ``AWS::NoValue`` removes the key or item.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from blueprint.diff.model import PARENT

Template = Mapping[str, Any]
PARENT_TEMPLATE = "parent.yml"
NESTED_STACK = "AWS::CloudFormation::Stack"
_SSM_TYPE = "AWS::SSM::Parameter::Value<"
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")
_MAX_DEPTH = 64


@dataclass(frozen=True)
class Token:
    """A value known only when deployed.

    ``kind``: ``resource`` (``attribute`` empty for ``Ref``), ``pseudo``,
    ``parameter`` (no value passed, no default), ``ssm`` (``attribute`` holds the
    parameter's path) or ``unknown`` (a name the template does not define).
    """

    kind: str
    stack: str
    name: str
    attribute: str = ""

    def __str__(self) -> str:
        if self.kind == "resource":
            return f"{self.name}.{self.attribute}" if self.attribute else self.name
        if self.kind == "ssm":
            return f"SSM {self.attribute}"
        return self.name


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class Side:
    """One rendering (old or new): its stacks and their resolved resources."""

    def __init__(self, templates: Mapping[str, Template]) -> None:
        self.templates = templates
        parent = templates.get(PARENT_TEMPLATE, {})
        self.children: dict[str, str] = {
            logical_id: str(resource.get("Properties", {}).get("TemplateURL", ""))
            for logical_id, resource in parent.get("Resources", {}).items()
            if resource.get("Type") == NESTED_STACK
            and resource.get("Properties", {}).get("TemplateURL") in templates}

    def stacks(self) -> list[str]:
        return [PARENT, *self.children]

    def template_name(self, stack: str) -> str:
        return PARENT_TEMPLATE if stack == PARENT else self.children.get(stack, "")

    def template(self, stack: str) -> Template:
        return self.templates.get(self.template_name(stack), {})

    def resources(self, stack: str) -> Mapping[str, Any]:
        found: Mapping[str, Any] = self.template(stack).get("Resources", {}) or {}
        return found

    def properties(self, stack: str, logical_id: str) -> Any:
        return self.value(stack, self.resources(stack)[logical_id].get("Properties", {}))

    def output(self, stack: str, name: str) -> Any:
        outputs = self.template(stack).get("Outputs", {}) or {}
        if name not in outputs:
            return Token("unknown", stack, f"Outputs.{name}")
        return self.value(stack, outputs[name].get("Value"))

    def value(self, stack: str, node: Any, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:  # a reference cycle: the template is broken, not the diff
            return Token("unknown", stack, "<cycle>")
        if isinstance(node, list):
            items = [self.value(stack, item, depth + 1) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(key, argument)] = node.items()
            if key == "Ref":
                return self._ref(stack, str(argument), depth)
            if key == "Fn::GetAtt":
                return self._get_att(stack, argument, depth)
            if key == "Fn::Sub":
                return {key: self._sub(stack, argument, depth)}
        resolved = {key: self.value(stack, item, depth + 1) for key, item in node.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _ref(self, stack: str, name: str, depth: int) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name.startswith("AWS::"):
            return Token("pseudo", "", name)
        template = self.template(stack)
        if name in (template.get("Parameters") or {}):
            return self._parameter(stack, name, depth)
        if name in (template.get("Resources") or {}):
            return Token("resource", stack, name)
        return Token("unknown", stack, name)

    def _parameter(self, stack: str, name: str, depth: int) -> Any:
        declaration = self.template(stack)["Parameters"][name] or {}
        passed = self.resources(PARENT).get(stack, {}).get("Properties", {}).get("Parameters", {}) \
            if stack != PARENT else {}
        if name in passed:
            value = self.value(PARENT, passed[name], depth + 1)
        elif "Default" in declaration:
            value = declaration["Default"]
        else:
            value = Token("parameter", stack, name)
        if str(declaration.get("Type", "")).startswith(_SSM_TYPE):
            return Token("ssm", stack, name, str(value))
        return value

    def _get_att(self, stack: str, argument: Any, depth: int) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not isinstance(argument, list) or len(argument) != 2:
            return Token("unknown", stack, str(argument))
        resource, attribute = str(argument[0]), self.value(stack, argument[1], depth + 1)
        if stack == PARENT and resource in self.children and isinstance(attribute, str) \
                and attribute.startswith("Outputs."):
            return self.output(resource, attribute.removeprefix("Outputs."))
        if resource not in self.resources(stack):
            return Token("unknown", stack, resource, str(attribute))
        return Token("resource", stack, resource, str(attribute))

    def _sub(self, stack: str, argument: Any, depth: int) -> list[Any]:
        text, variables = (argument[0], argument[1]) if isinstance(argument, list) \
            and len(argument) == 2 else (argument, {})
        if not isinstance(text, str) or not isinstance(variables, dict):
            return [self.value(stack, argument, depth + 1)]
        resolved: dict[str, Any] = {}
        for name in dict.fromkeys(_SUB_VARIABLE.findall(text)):
            if name in variables:
                resolved[name] = self.value(stack, variables[name], depth + 1)
            elif "." in name:
                resolved[name] = self._get_att(stack, name.split(".", 1), depth + 1)
            else:
                resolved[name] = self._ref(stack, name, depth + 1)
        return [text, resolved]


def parameters_in(node: Any, declared: Mapping[str, Any]) -> list[str]:
    """The template parameters a raw (unresolved) value refers to, by ``Ref`` or ``Fn::Sub``."""
    if isinstance(node, list):
        return [name for item in node for name in parameters_in(item, declared)]
    if not isinstance(node, dict):
        return []
    if set(node) == {"Ref"}:
        return [str(node["Ref"])] if node["Ref"] in declared else []
    if set(node) == {"Fn::Sub"}:
        text = node["Fn::Sub"][0] if isinstance(node["Fn::Sub"], list) else node["Fn::Sub"]
        named = _SUB_VARIABLE.findall(text) if isinstance(text, str) else []
        return [name for name in named if name in declared] + parameters_in(node["Fn::Sub"], {})
    return [name for item in node.values() for name in parameters_in(item, declared)]


def tokens_in(node: Any) -> list[Token]:
    """Every token in a resolved value, in order."""
    if isinstance(node, Token):
        return [node]
    if isinstance(node, dict):
        return [token for item in node.values() for token in tokens_in(item)]
    if isinstance(node, list):
        return [token for item in node for token in tokens_in(item)]
    return []


def dynamic_references(node: Any, path: str = "") -> list[tuple[str, str]]:
    """(property path, what is looked up) for every value CloudFormation resolves at deploy
    time: SSM-typed parameters and ``{{resolve:...}}`` references."""
    if isinstance(node, Token):
        return [(path, f"SSM parameter {node.attribute}")] if node.kind == "ssm" else []
    if isinstance(node, str):
        return [(path, reference) for reference in re.findall(r"\{\{resolve:[^}]*\}\}", node)]
    if isinstance(node, dict):
        return [found for key, item in node.items()
                for found in dynamic_references(item, f"{path}/{key}" if path else str(key))]
    if isinstance(node, list):
        return [found for index, item in enumerate(node)
                for found in dynamic_references(item, f"{path}/{index}")]
    return []
