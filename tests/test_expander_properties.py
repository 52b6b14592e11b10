"""Property tests of the expander, with blueprints drawn from the JSON Schema itself.

hypothesis-jsonschema draws any document the schema admits; cross-field rules
the schema cannot express are then repaired (not filtered), so every drawn
blueprint is valid and the properties below must hold for all of them:

* rendering is deterministic and its YAML reads back to the same data;
* parent and child parameters and outputs are wired consistently;
* the templates pass cfn-lint (no error, no warning) and every Guard rule;
* a mutation that breaks a policy in the rendered output is caught.

Runs are derandomized, as the fuzz tests are: the same examples every run, so a
failure in CI reproduces anywhere. They belong to the slow tier (tests/conftest.py).
"""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from blueprint import cfn_yaml
from blueprint.api import ValidateOptions, validate
from blueprint.expander import CHILD_STACKS, render
from blueprint.guard import run_guard
from blueprint.loader import load_text
from blueprint.model import from_data
from blueprint.policy_data import allowed_instance_types, instance_size
from blueprint.schema import check_blueprint, load_schema, mutable_image_tag

SCHEMA = load_schema()


def _repair(data: dict[str, Any], instance_type: str) -> dict[str, Any]:
    """Make a schema-valid draw satisfy the cross-field rules enforced in code."""
    data = copy.deepcopy(data)
    data.pop("waivers", None)
    # Drawn overrides are any mapping the schema admits for them; the effective blueprints
    # of environments have their own property tests (tests/test_environments.py).
    data.pop("environments", None)
    cluster = data.setdefault("cluster", {})
    cluster.pop("instanceTypes", None)  # one or the other, not both
    cluster["instanceType"] = instance_type
    if cluster.get("maxSize", 100) < cluster.get("desiredCapacity", 0):
        cluster["maxSize"] = cluster.get("desiredCapacity", 0) or 1
    service = data["service"]
    if any(mutable_image_tag(service["image"])):  # else a BP109 warning on a valid draw
        service["image"] = service["image"].removesuffix(":latest") + ":1"
    scaling = service.get("autoscaling")
    if scaling is not None:
        low, high = sorted((scaling["minCount"], scaling["maxCount"]))
        scaling["minCount"], scaling["maxCount"] = low, max(high, 1)
        service["desiredCount"] = min(max(service.get("desiredCount", 2), low),
                                      scaling["maxCount"])
    size = instance_size(instance_type)
    service["cpu"] = min(service.get("cpu", 256), size.cpu_units)
    service["memory"] = min(service.get("memory", 512), size.usable_memory_mib)
    if data["name"].lower().startswith(("aws", "ecs", "fargate")):
        data["name"] = "x" + data["name"][:63]
    if "description" in data:
        data["description"] = data["description"].encode()[:1024].decode("utf-8", "ignore")
    health = service.get("healthCheck")
    if health is not None and health.get("timeoutSeconds", 5) >= health.get("intervalSeconds", 6):
        health["timeoutSeconds"] = 2
        health["intervalSeconds"] = max(health.get("intervalSeconds", 6), 5)
    for name in set(service.get("environment", {})) & set(service.get("secrets", {})):
        del service["environment"][name]
    network = data.get("network")
    if network is not None and "cidr" in network:
        network["cidr"] = str(ipaddress.ip_network(network["cidr"], strict=False))
    lb = data.get("loadBalancer")
    if lb is not None:
        if "ingressCidrs" in lb:
            lb["ingressCidrs"] = list(dict.fromkeys(
                str(ipaddress.ip_network(c, strict=False)) for c in lb["ingressCidrs"]))
        if lb.get("protocol", "HTTP") == "HTTP":
            lb.pop("certificateArn", None)
        else:
            if lb.get("port") == 80:
                lb["port"] = 443
            # two rules per CIDR with HTTPS (listener and redirect): the 60-rule quota
            lb["ingressCidrs"] = lb.get("ingressCidrs", ["0.0.0.0/0"])[:30]
    return data


valid_blueprints = st.builds(
    _repair, from_schema(SCHEMA), st.sampled_from(allowed_instance_types()))


def _doc(data: dict[str, Any]) -> Any:
    doc, problems = load_text("drawn.blueprint.yml", yaml.safe_dump(data, sort_keys=False))
    assert doc is not None, problems
    return doc


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(valid_blueprints)
def test_drawn_blueprints_are_valid_render_deterministically_and_round_trip(
    data: dict[str, Any],
) -> None:
    doc = _doc(data)
    assert check_blueprint(doc) == []
    first = render(from_data(doc.data, SCHEMA))
    second = render(from_data(copy.deepcopy(doc.data), SCHEMA))
    assert first.texts == second.texts
    for name, text in first.texts.items():
        reread, problems = load_text(name, text)
        assert reread is not None, problems
        assert reread.data == first.templates[name]
        assert cfn_yaml.dump(reread.data) == text


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(valid_blueprints)
def test_parent_and_children_are_wired_consistently(data: dict[str, Any]) -> None:
    rendering = render(from_data(_doc(data).data, SCHEMA))
    parent = rendering.templates["parent.yml"]
    for logical_id, template_name in CHILD_STACKS.items():
        child = rendering.templates[template_name]
        properties = parent["Resources"][logical_id]["Properties"]
        assert properties["TemplateURL"] == template_name
        passed = set(properties.get("Parameters", {}))
        declared = child.get("Parameters", {})
        required = {name for name, spec in declared.items() if "Default" not in spec}
        assert passed <= set(declared), f"{logical_id} passes undeclared parameters"
        assert required <= passed, f"{logical_id} misses required parameters"
    for source, attribute in _get_atts(parent):
        stack_output = attribute.removeprefix("Outputs.")
        assert source in CHILD_STACKS
        assert stack_output in rendering.templates[CHILD_STACKS[source]]["Outputs"], (
            f"{source}.{attribute} is not an output of {CHILD_STACKS[source]}")


def _get_atts(node: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if set(node) == {"Fn::GetAtt"}:
            found.append(tuple(node["Fn::GetAtt"]))  # type: ignore[arg-type]
        for value in node.values():
            found += _get_atts(value)
    elif isinstance(node, list):
        for value in node:
            found += _get_atts(value)
    return found


# Each example runs cfn-lint and cfn-guard for real, so no shrinking: the failing
# batch is printed as drawn.
@settings(max_examples=8, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(valid_blueprints, min_size=1, max_size=3))
def test_any_valid_blueprint_passes_cfn_lint_and_every_guard_rule(
    tmp_path_factory: pytest.TempPathFactory, batch: list[dict[str, Any]],
) -> None:
    directory = tmp_path_factory.mktemp("drawn")
    paths = []
    for index, data in enumerate(batch):
        path = directory / f"env{index}.blueprint.yml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        paths.append(str(path))
    report = validate(paths, ValidateOptions(lint=True))
    assert [f"{f.location} {f.rule_id} {f.message}" for f in report.findings] == []


# (template, mutation, rule that must catch it)
def _public_ip(t: dict[str, Any]) -> None:
    _awsvpc(t)["AssignPublicIp"] = "ENABLED"


def _public_subnets(t: dict[str, Any]) -> None:
    _awsvpc(t)["Subnets"] = {"Ref": "PublicSubnetIds"}


def _no_security_groups(t: dict[str, Any]) -> None:
    del _awsvpc(t)["SecurityGroups"]


def _cidr_ingress(t: dict[str, Any]) -> None:
    t["Resources"]["ServiceSecurityGroup"]["Properties"]["SecurityGroupIngress"] = [
        {"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80}]


def _imds_optional(t: dict[str, Any]) -> None:
    data = t["Resources"]["ContainerInstances"]["Properties"]["LaunchTemplateData"]
    data["MetadataOptions"]["HttpTokens"] = "optional"


def _launch_template_type(t: dict[str, Any]) -> None:
    t["Resources"]["ContainerInstances"]["Properties"]["LaunchTemplateData"][
        "InstanceType"] = "p3.2xlarge"


def _override_type(t: dict[str, Any]) -> None:
    group = t["Resources"]["ECSAutoScalingGroup"]["Properties"]
    mixed = group.setdefault("MixedInstancesPolicy", {"LaunchTemplate": {}})
    if "LaunchTemplate" in group:
        mixed["LaunchTemplate"]["LaunchTemplateSpecification"] = group.pop("LaunchTemplate")
    mixed["LaunchTemplate"]["Overrides"] = [{"InstanceType": "t3.large"},
                                            {"InstanceType": "t2.micro"}]


def _public_into_private(t: dict[str, Any]) -> None:
    t["Resources"]["ServiceStack"]["Properties"]["Parameters"]["PrivateSubnetIds"] = {
        "Fn::GetAtt": ["VpcStack", "Outputs.PublicSubnetIds"]}


def _awsvpc(t: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = (t["Resources"]["Service"]["Properties"]["NetworkConfiguration"]
                              ["AwsvpcConfiguration"])
    return config


MUTATIONS = [
    ("service.yml", _public_ip, "ECS_TASK_ENI_NO_PUBLIC_IP"),
    ("service.yml", _public_subnets, "ECS_TASK_ENI_PRIVATE_SUBNETS"),
    ("service.yml", _no_security_groups, "SERVICE_SECURITY_GROUPS_IN_TEMPLATE"),
    ("service.yml", _cidr_ingress, "SERVICE_INGRESS_ONLY_FROM_LOAD_BALANCER"),
    ("cluster.yml", _imds_optional, "LAUNCH_TEMPLATE_IMDSV2_REQUIRED"),
    ("cluster.yml", _launch_template_type, "INSTANCE_TYPE_ALLOWED"),
    ("cluster.yml", _override_type, "INSTANCE_TYPE_ALLOWED"),
    ("parent.yml", _public_into_private, "PRIVATE_SUBNET_PARAMETER_WIRING"),
]


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(valid_blueprints)
def test_every_policy_breaking_mutation_is_caught(
    tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any],
) -> None:
    rendering = render(from_data(_doc(data).data, SCHEMA))
    directory = tmp_path_factory.mktemp("mutated")
    files: dict[str, str] = {}
    for index, (template, mutate, rule) in enumerate(MUTATIONS):
        mutated = copy.deepcopy(rendering.templates[template])
        mutate(mutated)
        path = directory / f"{index}-{template}"
        path.write_text(cfn_yaml.dump(mutated), encoding="utf-8")
        files[str(path)] = rule
    violations = run_guard(list(files))
    caught = {(v.data_file, v.rule) for v in violations}
    missed = [f"{Path(p).name}: {rule}" for p, rule in files.items() if (p, rule) not in caught]
    assert missed == [], "mutations that broke a policy were not caught"
