"""Property tests of `blueprint diff`: what a single edit may replace.

For any valid blueprint (the strategy of tests/test_expander_properties.py) and
any single-field edit under ``cluster``, ``service`` or ``loadBalancer`` that
keeps the blueprint valid, the diff replaces none of the cluster, the Auto
Scaling group, the capacity provider, the load balancer or the VPC. Where an
edit must replace something (``service.port``: a target group's ``Port`` is
create-only), the diff names the property that forces it; and no replacement
is one CloudFormation would refuse (a custom name kept).

Derandomized like the other property tests: the same examples every run.
"""

from __future__ import annotations

import copy
from random import Random
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from test_expander_properties import SCHEMA, valid_blueprints

from blueprint.diff import Action, StackDiff, diff_renderings
from blueprint.expander import Rendering, render
from blueprint.finding import Severity
from blueprint.loader import load_text
from blueprint.model import from_data
from blueprint.policy_data import allowed_instance_types
from blueprint.schema import check_blueprint

pytestmark = pytest.mark.slow

EDITED_SECTIONS = ("cluster", "service", "loadBalancer")
# Never replaced by an edit under EDITED_SECTIONS.
PROTECTED_TYPES = frozenset({
    "AWS::ECS::Cluster",
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::ECS::CapacityProvider",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::EC2::VPC",
})
# An edit of this field must replace resources of this type, forced by this property.
MUST_REPLACE = {
    "service.port": ("AWS::ElasticLoadBalancingV2::TargetGroup", "Port"),
}


def editable_fields() -> dict[str, dict[str, Any]]:
    """Every field under the edited sections, one and two levels deep -> its schema."""
    fields: dict[str, dict[str, Any]] = {}
    for section in EDITED_SECTIONS:
        for name, spec in SCHEMA["properties"][section]["properties"].items():
            fields[f"{section}.{name}"] = spec
            for inner, inner_spec in spec.get("properties", {}).items():
                fields[f"{section}.{name}.{inner}"] = inner_spec
    return fields


FIELDS = editable_fields()


def value_for(field: str) -> st.SearchStrategy[Any]:
    if field == "cluster.instanceType":
        return st.sampled_from(allowed_instance_types())
    spec = FIELDS[field]
    if spec.get("type") == "integer" and "minimum" in spec and "maximum" in spec:
        return st.integers(spec["minimum"], spec["maximum"])
    return from_schema(spec)


def edited(before: dict[str, Any], field: str, value: Any) -> dict[str, Any] | None:
    """The blueprint with one field set to ``value``; None when that changes nothing (the
    value it has, or its default) or leaves the blueprint invalid."""
    after = copy.deepcopy(before)
    *parents, last = field.split(".")
    node = after
    for part in parents:
        node = node.setdefault(part, {})
    if node.get(last, FIELDS[field].get("default")) == value:
        return None
    node[last] = value
    return after if is_valid(after) else None


def is_valid(data: dict[str, Any]) -> bool:
    doc, problems = load_text("edited.blueprint.yml", yaml.safe_dump(data, sort_keys=False))
    assert doc is not None, problems
    return not any(f.severity is Severity.ERROR for f in check_blueprint(doc))


def diff_of(before: dict[str, Any] | Rendering, after: dict[str, Any]) -> StackDiff:
    old = before if isinstance(before, Rendering) else render(from_data(before, SCHEMA))
    return diff_renderings(old, render(from_data(after, SCHEMA)))


def describe(diff: StackDiff) -> list[str]:
    return [f"{c.stack} {c.logical_id} {c.action.value}: {'; '.join(c.reasons)}"
            for c in diff.changes if c.action is not Action.MODIFIED]


# Drawing a blueprint costs far more than rendering one: each drawn blueprint gets
# EDITS_PER_BLUEPRINT single-field edits (fields picked uniformly), each diffed on its own.
# No shrinking either (minutes per failure): the message names the field and the change.
EDITS_PER_BLUEPRINT = 3
DRAWN_AS_IS = [Phase.explicit, Phase.reuse, Phase.generate]


@settings(max_examples=25, deadline=None, derandomize=True, phases=DRAWN_AS_IS,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(valid_blueprints, st.randoms(use_true_random=False), st.data())
def test_a_single_edit_replaces_no_cluster_group_provider_load_balancer_or_vpc(
        before: dict[str, Any], random: Random, data: st.DataObject) -> None:
    checked = 0
    rendered = render(from_data(before, SCHEMA))
    for field in random.sample(sorted(FIELDS), EDITS_PER_BLUEPRINT):
        after = edited(before, field, data.draw(value_for(field), label=field))
        if after is None:
            continue
        checked += 1
        event(f"edited {field}")  # shown by --hypothesis-show-statistics
        diff = diff_of(rendered, after)
        protected = [c for c in diff.replacements if c.resource_type in PROTECTED_TYPES]
        assert protected == [], f"editing {field} replaces: {describe(diff)}"
        for change in diff.replacements:
            assert change.forced_by, f"{change.logical_id} replaced without a forcing property"
            assert any(p in reason for p in change.forced_by for reason in change.reasons)
            assert not change.will_fail, f"editing {field}: {describe(diff)}"
    assume(checked > 0)


@settings(max_examples=5, deadline=None, derandomize=True, phases=DRAWN_AS_IS,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(valid_blueprints, st.data())
def test_an_edit_that_must_replace_names_the_forcing_property(
        before: dict[str, Any], data: st.DataObject) -> None:
    for field, (resource_type, forcing) in MUST_REPLACE.items():
        after = edited(before, field, data.draw(value_for(field), label=field))
        assume(after is not None)
        assert after is not None
        diff = diff_of(before, after)
        forced = [c for c in diff.replacements if c.resource_type == resource_type]
        assert forced, f"editing {field} replaces no {resource_type}: {describe(diff)}"
        for change in forced:
            assert forcing in change.forced_by
            assert any(reason.startswith(f"{forcing} is create-only") for reason in change.reasons)
