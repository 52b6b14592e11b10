"""The expander's provenance and wiring: every finding can be traced to a blueprint field.

``Rendering.blueprint_field`` is how a finding in a rendered template names
the blueprint line behind it; a pointer that no longer resolves (a renamed
resource or key) or a field the schema does not have would silently lose that.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from blueprint.expander import CHILD_STACKS, TEMPLATE_NAMES, Rendering, _build, parent, render
from blueprint.loader import load_file
from blueprint.model import Blueprint, from_data
from blueprint.schema import check_blueprint, load_schema

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.blueprint.yml"))


def _blueprint(path: Path) -> Blueprint:
    doc, problems = load_file(str(path))
    assert doc is not None, problems
    assert check_blueprint(doc) == []
    return from_data(doc.data, load_schema())


def _node(template: Any, pointer: str) -> Any:
    """The node a JSON pointer names; KeyError/IndexError when there is none."""
    node = template
    for escaped in pointer.split("/")[1:]:
        token = escaped.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _schema_node(schema: dict[str, Any], field: str) -> dict[str, Any]:
    node = schema
    for part in field.split("."):
        node = node["properties"][part]
    return node


def unresolved(rendering: Rendering, schema: dict[str, Any]) -> list[str]:
    """Every provenance entry whose pointer or blueprint field does not exist."""
    problems = []
    for template, entries in rendering.provenance.items():
        for pointer, field in entries:
            try:
                _node(rendering.templates[template], pointer)
            except (KeyError, IndexError, TypeError, ValueError):
                problems.append(f"{template}#{pointer}: no such node")
            try:
                _schema_node(schema, field)
            except KeyError:
                problems.append(f"{template}#{pointer}: no blueprint field {field}")
    return problems


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda p: p.name.split(".")[0])
def rendering(request: pytest.FixtureRequest) -> Rendering:
    return render(_blueprint(request.param))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 3


def test_every_provenance_pointer_resolves_to_a_node_and_a_blueprint_field(
    rendering: Rendering,
) -> None:
    assert set(rendering.provenance) == set(TEMPLATE_NAMES)
    assert unresolved(rendering, load_schema()) == []


def test_a_pointer_that_no_longer_resolves_is_caught(rendering: Rendering) -> None:
    service = rendering.templates["service.yml"]
    renamed = {**service, "Resources": {("TaskDef" if key == "TaskDefinition" else key): value
                                        for key, value in service["Resources"].items()}}
    broken = dataclasses.replace(
        rendering, templates={**rendering.templates, "service.yml": renamed},
        provenance={**rendering.provenance,
                    "vpc.yml": [*rendering.provenance["vpc.yml"], ("/Resources", "network.cdir")]})
    problems = unresolved(broken, load_schema())
    assert "service.yml#/Resources/TaskDefinition: no such node" in problems
    assert "vpc.yml#/Resources: no blueprint field network.cdir" in problems


def test_every_resource_traces_to_a_blueprint_field(rendering: Rendering) -> None:
    for name, template in rendering.templates.items():
        for logical_id in template["Resources"]:
            assert rendering.blueprint_field(name, f"/Resources/{logical_id}"), (name, logical_id)


def test_the_parent_passes_each_child_exactly_its_parameters_with_their_fields(
    rendering: Rendering,
) -> None:
    for logical_id, name in CHILD_STACKS.items():
        passed = rendering.templates["parent.yml"]["Resources"][logical_id]["Properties"][
            "Parameters"]
        assert set(passed) == set(rendering.templates[name]["Parameters"])
        for parameter in passed:
            in_parent = rendering.blueprint_field(
                "parent.yml", f"/Resources/{logical_id}/Properties/Parameters/{parameter}")
            # a wired parameter has no field of its own: the parent names the child's section
            in_child = (rendering.blueprint_field(name, f"/Parameters/{parameter}")
                        or rendering.blueprint_field(name, "/Resources"))
            assert in_parent == in_child, (logical_id, parameter)


def test_the_most_specific_field_wins() -> None:
    rendering = render(_blueprint(next(p for p in EXAMPLES if p.name.startswith("orders"))))
    field = rendering.blueprint_field
    container = "/Resources/TaskDefinition/Properties/ContainerDefinitions/0"
    assert field("service.yml", f"{container}/Environment/0/Value") == "service.environment"
    assert field("service.yml", f"{container}/Image") == "service"
    assert field("service.yml", "/Parameters/ImageUrl") == "service.image"
    assert field("cluster.yml", "/Resources/ContainerInstances/Properties/LaunchTemplateData/"
                                "InstanceType") == "cluster.instanceType"
    assert field("parent.yml", "/Resources/ClusterStack/Properties/Parameters/MaxSize") \
        == "cluster.maxSize"
    assert field("parent.yml", "/Resources/VpcStack/Properties/Parameters/VpcCidr") \
        == "network.cidr"
    assert field("parent.yml", "/Outputs/VpcId") is None


def _child(parameters: tuple[_build.Parameter, ...], outputs: dict[str, Any]) -> _build.ChildStack:
    return _build.ChildStack("test", "network", parameters, (), outputs)


def test_a_wired_parameter_needs_exactly_one_other_stack_with_that_output() -> None:
    bp = _blueprint(EXAMPLES[0])
    needs = _child((_build.wired("VpcId", {"Type": "String"}),), {})
    has = _child((), {"VpcId": {"Value": "x"}})
    template, _ = parent.build(bp, [parent.NestedStack("A", "a.yml", has),
                                    parent.NestedStack("B", "b.yml", needs)])
    assert template["Resources"]["B"]["Properties"]["Parameters"] == {
        "VpcId": {"Fn::GetAtt": ["A", "Outputs.VpcId"]}}
    for producers in ([], [has, has]):
        stacks = [parent.NestedStack(f"P{i}", "p.yml", s) for i, s in enumerate(producers)]
        with pytest.raises(ValueError, match="VpcId of B"):
            parent.build(bp, [*stacks, parent.NestedStack("B", "b.yml", needs)])


def test_a_logical_id_built_twice_is_an_error() -> None:
    part = _build.Part("Same", {"Type": "AWS::SNS::Topic"}, "service")
    with pytest.raises(ValueError, match="Same is built twice"):
        _build.resources([part, part])
