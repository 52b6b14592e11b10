"""The shipped JSON Schema and the checks around it."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from blueprint import schema as schema_module
from blueprint.loader import load_text
from blueprint.model import apply_defaults, from_data
from blueprint.policy_data import allowed_instance_types
from blueprint.resources import blueprint_schema_path
from blueprint.schema import check_blueprint, load_schema

MINIMAL = "blueprint: v1\nname: demo\nservice:\n  image: nginx:1.25\n"


def findings(text: str) -> list[tuple[str, int, str, str | None]]:
    doc, problems = load_text("b.yml", text)
    assert doc is not None, problems
    return [(f.rule_id, f.line, f.message, f.hint) for f in check_blueprint(doc)]


def test_shipped_schema_is_a_valid_draft7_schema() -> None:
    schema = json.loads(blueprint_schema_path().read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_every_property_is_described_for_editors() -> None:
    def walk(node: dict[str, object], where: str) -> list[str]:
        missing = []
        for name, sub in (node.get("properties") or {}).items():  # type: ignore[union-attr]
            if "description" not in sub:
                missing.append(f"{where}.{name}")
            missing += walk(sub, f"{where}.{name}")
        return missing

    assert walk(load_schema(), "") == []


def test_defaults_are_the_seed_values() -> None:
    doc, _ = load_text("b.yml", MINIMAL)
    assert doc is not None
    blueprint = from_data(doc.data, load_schema())
    assert (blueprint.network.cidr, blueprint.network.availability_zones,
            blueprint.network.nat_gateways) == ("10.0.0.0/16", 2, "per-az")
    cluster = blueprint.cluster
    assert (cluster.instance_type, cluster.desired_capacity, cluster.max_size,
            cluster.root_volume_gib, cluster.container_insights) == ("c5.xlarge", 0, 100, 50, True)
    assert cluster.ami == "/aws/service/ecs/optimized-ami/amazon-linux-2/recommended/image_id"
    service = blueprint.service
    assert (service.name, service.port, service.cpu, service.memory, service.desired_count) == (
        "web", 80, 256, 512, 2)
    health = service.health_check
    assert (health.path, health.interval_seconds, health.timeout_seconds,
            health.healthy_threshold, health.unhealthy_threshold) == ("/", 6, 5, 2, 10)
    assert (service.deployment.maximum_percent,
            service.deployment.minimum_healthy_percent) == (200, 75)
    lb = blueprint.load_balancer
    assert (lb.protocol, lb.port, lb.idle_timeout_seconds, lb.ingress_cidrs) == (
        "HTTP", 80, 30, ("0.0.0.0/0",))


def test_https_defaults_to_port_443() -> None:
    doc, _ = load_text("b.yml", MINIMAL + "loadBalancer:\n  protocol: HTTPS\n  certificateArn: "
                       "arn:aws:acm:us-east-1:123456789012:certificate/abc\n")
    assert doc is not None
    assert from_data(doc.data, load_schema()).load_balancer.port == 443


def test_default_instance_type_is_on_the_allow_list() -> None:
    assert load_schema()["properties"]["cluster"]["properties"]["instanceType"]["default"] in \
        allowed_instance_types()


def test_unknown_key_suggests_the_closest_name() -> None:
    (rule, line, message, hint), = findings(MINIMAL + "  desiredCont: 3\n")
    assert (rule, line) == ("BP101", 5)
    assert "desiredCont" in message and hint == "did you mean 'desiredCount'?"


def test_every_error_is_collected_not_just_the_first() -> None:
    result = findings("blueprint: v1\nname: 9bad\nservice:\n  image: nginx\n  port: 0\n"
                      "  cpu: lots\nnetwork:\n  natGateways: some\n")
    assert sorted((line, r) for r, line, _, _ in result) == [
        (2, "BP104"), (5, "BP105"), (6, "BP103"), (8, "BP104")]


@pytest.mark.parametrize(("extra", "rule", "needle"), [
    ("cluster:\n  desiredCapacity: 9\n  maxSize: 3\n", "BP106", "maxSize"),
    ("  autoscaling: {minCount: 4, maxCount: 2}\n", "BP106", "minCount"),
    ("  autoscaling: {minCount: 3, maxCount: 5}\n", "BP106", "desiredCount"),
    ("  healthCheck: {intervalSeconds: 5, timeoutSeconds: 5}\n", "BP106", "timeoutSeconds"),
    ("  environment: {DB: x}\n  secrets: {DB: 'arn:aws:ssm:us-east-1:123456789012:parameter/db'}\n",
     "BP106", "both"),
    ("loadBalancer:\n  certificateArn: arn:aws:acm:us-east-1:123456789012:certificate/a\n",
     "BP106", "HTTP"),
    ("loadBalancer:\n  ingressCidrs: [10.1.2.3/16]\n", "BP104", "host bits"),
    ("cluster:\n  instanceType: t2.micro\n", "BP107", "allow-list"),
    ("waivers:\n  - {rule: W1, reason: a real reason here, expires: 2027-02-30}\n", "BP104",
     "not a real date"),
])
def test_cross_field_rules(extra: str, rule: str, needle: str) -> None:
    result = findings(MINIMAL + extra)
    assert any(r == rule and needle in message for r, _, message, _ in result), result


def test_secrets_must_be_arns_and_the_hint_says_so() -> None:
    (rule, _, _, hint), = findings(MINIMAL + "  secrets:\n    DB_PASSWORD: hunter2\n")
    assert rule == "BP104" and hint is not None and "never the value itself" in hint


HTTPS = ("loadBalancer:\n  protocol: HTTPS\n  certificateArn: "
         "arn:aws:acm:us-east-1:123456789012:certificate/abc\n")
# (where the default sits in the schema, the value it is changed to, the blueprint's
# extra lines, what the cross-field finding then says). Each blueprint leaves the
# field to its default, so only a check that reads the default from the schema sees it.
ALTERED_DEFAULTS = [
    (("cluster", "instanceType"), "t2.micro", "", "'t2.micro' is not on the policy"),
    (("cluster", "desiredCapacity"), 7, "cluster:\n  maxSize: 3\n", "desiredCapacity (7)"),
    (("cluster", "maxSize"), 1, "cluster:\n  desiredCapacity: 3\n", "maxSize (1)"),
    (("service", "desiredCount"), 9, "  autoscaling: {minCount: 3, maxCount: 5}\n",
     "desiredCount (9)"),
    (("service", "healthCheck", "intervalSeconds"), 4, "", "intervalSeconds (4)"),
    (("service", "healthCheck", "timeoutSeconds"), 30, "", "timeoutSeconds (30)"),
    (("loadBalancer", "protocol"), "HTTPS",
     "loadBalancer:\n  certificateArn: arn:aws:acm:us-east-1:123456789012:certificate/a\n"
     "  port: 80\n", "port 80 is taken"),
    (("loadBalancer", "then", "port"), 80, HTTPS, "port 80 is taken"),
]


def altered_schema(where: tuple[str, ...], value: Any) -> dict[str, Any]:
    schema = copy.deepcopy(load_schema())
    node = schema
    for part in where:
        node = node[part] if part == "then" else node["properties"][part]
    assert "default" in node, f"{where} has no default in the shipped schema"
    node["default"] = value
    return schema


@pytest.mark.parametrize(("where", "value", "extra", "needle"), ALTERED_DEFAULTS,
                         ids=[".".join(case[0]) for case in ALTERED_DEFAULTS])
def test_cross_field_checks_take_defaults_from_the_schema_only(
        where: tuple[str, ...], value: Any, extra: str, needle: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert not any(needle in message for _, _, message, _ in findings(MINIMAL + extra))
    monkeypatch.setattr(schema_module, "load_schema", lambda: altered_schema(where, value))
    result = findings(MINIMAL + extra)
    assert any(needle in message for _, _, message, _ in result), result


def test_listener_port_defaults_follow_the_protocol_in_the_schema() -> None:
    schema = load_schema()
    lb = schema["properties"]["loadBalancer"]
    assert apply_defaults(lb, {})["port"] == 80
    assert apply_defaults(lb, {"protocol": "HTTPS", "certificateArn": "x"})["port"] == 443
    assert apply_defaults(lb, {"protocol": "HTTPS", "port": 8443})["port"] == 8443


def test_the_cross_field_checks_restate_no_default() -> None:
    """A ``.get("key", literal)`` of a defaulted key would be a second, silent default."""
    import inspect

    def defaulted(node: Any) -> set[str]:
        names: set[str] = set()
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if isinstance(sub, dict) and "default" in sub:
                    names.add(name)
            for value in node.values():
                names |= defaulted(value)
        elif isinstance(node, list):
            for value in node:
                names |= defaulted(value)
        return names

    names = defaulted(load_schema())
    assert {"desiredCount", "port", "protocol", "intervalSeconds"} <= names
    source = inspect.getsource(schema_module)
    restated = [name for name in sorted(names)
                if f'.get("{name}",' in source or f".get('{name}'," in source]
    assert restated == []
