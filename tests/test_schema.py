"""The shipped JSON Schema and the cross-field checks around it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from blueprint import schema as schema_module
from blueprint.expander import render
from blueprint.loader import load_text
from blueprint.model import apply_defaults, from_data
from blueprint.policy_data import allowed_instance_types
from blueprint.resources import blueprint_schema_path
from blueprint.schema import check_blueprint, ingress_rule_counts, load_schema

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.blueprint.yml"))

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
    def walk(node: dict[str, Any], where: str) -> list[str]:
        missing = []
        for name, sub in (node.get("properties") or {}).items():
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
            cluster.root_volume_gib, cluster.container_insights) == ("c6i.xlarge", 0, 100, 50, True)
    assert cluster.ami == "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
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
    (("service", "healthCheck", "intervalSeconds"), 4, "", "intervalSeconds (4)"),
    (("service", "healthCheck", "timeoutSeconds"), 30, "", "timeoutSeconds (30)"),
    (("loadBalancer", "protocol"), "HTTPS",
     "loadBalancer:\n  certificateArn: arn:aws:acm:us-east-1:123456789012:certificate/a\n"
     "  port: 80\n", "port 80 is taken"),
    (("loadBalancer", "then", "port"), 80, HTTPS, "port 80 is taken"),
    (("service", "cpu"), 8192, "", "8192 CPU units and 512 MiB does not fit on c6i.xlarge"),
    (("service", "memory"), 8000, "", "256 CPU units and 8000 MiB does not fit on c6i.xlarge"),
    (("cluster", "instanceType"), "t3.medium", "  cpu: 4096\n",
     "4096 CPU units and 512 MiB does not fit on t3.medium"),
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
    assert {"maxSize", "port", "protocol", "intervalSeconds"} <= names
    source = inspect.getsource(schema_module)
    restated = [name for name in sorted(names)
                if f'.get("{name}",' in source or f".get('{name}'," in source]
    assert restated == []



# --------------------------------------------------------------------------
# cross-field checks of what AWS rejects although the schema admits it

def located(text: str) -> set[tuple[str, str | None, str]]:
    """(rule, blueprint field, message) of every finding, for a table of expectations."""
    doc, problems = load_text("b.yml", text)
    assert doc is not None, problems
    return {(f.rule_id, f.blueprint_path, f.message) for f in check_blueprint(doc)}


def blueprint(*, name: str = "demo", description: str | None = None, service: str = "",
              cluster: str = "", load_balancer: str = "") -> str:
    text = f"blueprint: v1\nname: {name}\n"
    if description is not None:
        text += f"description: {json.dumps(description, ensure_ascii=False)}\n"
    text += "service:\n  image: nginx:1.25\n" + service
    text += f"cluster:\n{cluster}" if cluster else ""
    return text + (f"loadBalancer:\n{load_balancer}" if load_balancer else "")


def cidrs(count: int) -> str:
    return "  ingressCidrs: [" + ", ".join(f"10.0.{i}.0/24" for i in range(count)) + "]\n"


HTTPS_LB = ("  protocol: HTTPS\n"
            "  certificateArn: arn:aws:acm:us-east-1:123456789012:certificate/abc\n")
E_ACUTE_24 = "\u00e9" * 24 + "a" * 976  # 1000 characters, 1024 bytes in UTF-8
E_ACUTE_25 = "\u00e9" * 25 + "a" * 975  # 1000 characters, 1025 bytes
GRINNING = "\U0001f600"  # 4 bytes in UTF-8

# (case id, blueprint, expected (rule, field, message fragment); empty = valid)
AWS_LIMITS: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    # a task fits its instance type: vCPU * 1024 units, floor(0.92 * MiB) of memory
    ("task-exactly-fits-c6i.xlarge", blueprint(service="  cpu: 4096\n  memory: 7536\n"), []),
    ("task-one-cpu-unit-too-many", blueprint(service="  cpu: 4097\n  memory: 7536\n"),
     [("BP108", "service.cpu", "a task of 4097 CPU units and 7536 MiB does not fit on "
                               "c6i.xlarge (4096 units, about 7536 MiB usable)")]),
    ("task-one-MiB-too-many", blueprint(service="  memory: 7537\n"),
     [("BP108", "service.memory", "7537 MiB does not fit on c6i.xlarge")]),
    ("task-of-the-review-probe", blueprint(service="  cpu: 16384\n  memory: 122880\n"),
     [("BP108", "service.cpu", "a task of 16384 CPU units and 122880 MiB does not fit on "
                               "c6i.xlarge (4096 units, about 7536 MiB usable)")]),
    ("task-fits-its-smaller-type", blueprint(cluster="  instanceType: t3.medium\n",
                                              service="  cpu: 2048\n  memory: 3768\n"), []),
    ("task-too-big-for-t3.medium", blueprint(cluster="  instanceType: t3.medium\n",
                                              service="  memory: 3769\n"),
     [("BP108", "service.memory", "does not fit on t3.medium (2048 units, about 3768 MiB")]),
    ("task-fits-largest-r7i", blueprint(cluster="  instanceType: r7i.4xlarge\n",
                                         service="  cpu: 16384\n  memory: 120586\n"), []),
    ("task-with-autoscaling-nothing-else-changes", blueprint(
        service="  cpu: 8192\n  autoscaling: {minCount: 1, maxCount: 4}\n  desiredCount: 2\n"),
     [("BP108", "service.cpu", "8192 CPU units")]),
    ("task-on-an-unlisted-type-is-BP107-only", blueprint(
        cluster="  instanceType: t2.micro\n", service="  cpu: 16384\n"),
     [("BP107", "cluster.instanceType", "not on the policy allow-list")]),
    # names: the capacity provider is named after the stack
    ("name-ECSorders", blueprint(name="ECSorders"),
     [("BP104", "name", "name 'ECSorders' starts with 'ECS'")]),
    ("name-Fargate-x", blueprint(name="Fargate-x"),
     [("BP104", "name", "starts with 'Fargate'")]),
    ("name-awsome-starts-with-aws", blueprint(name="awsome"),
     [("BP104", "name", "name 'awsome' starts with 'aws'")]),
    ("name-AwS-prod", blueprint(name="AwS-prod"), [("BP104", "name", "starts with 'AwS'")]),
    ("name-my-ecs", blueprint(name="my-ecs"), []),
    ("name-ec2-api", blueprint(name="ec2-api"), []),
    # ECS documents no reserved prefix for service names, task families or containers
    ("service-name-ecs-web", blueprint(service="  name: ecs-web\n"), []),
    # description: CloudFormation counts bytes, the schema characters
    ("description-1024-bytes", blueprint(description=E_ACUTE_24), []),
    ("description-1025-bytes", blueprint(description=E_ACUTE_25),
     [("BP105", "description", "description is 1025 bytes in UTF-8; CloudFormation allows "
                               "at most 1024")]),
    ("description-256-emoji", blueprint(description=GRINNING * 256), []),
    ("description-256-emoji-and-a-letter", blueprint(description=GRINNING * 256 + "a"),
     [("BP105", "description", "1025 bytes")]),
    # ingress CIDRs: 60 inbound IPv4 rules per security group by default
    ("ingress-50-cidrs-http", blueprint(load_balancer=cidrs(50)), []),
    ("ingress-30-cidrs-https", blueprint(load_balancer=HTTPS_LB + cidrs(30)), []),
    ("ingress-31-cidrs-https", blueprint(load_balancer=HTTPS_LB + cidrs(31)),
     [("BP105", "loadBalancer.ingressCidrs",
       "needs 62 inbound IPv4 rules (2 per CIDR: the HTTPS listener and the port-80 "
       "redirect); a security group allows 60 by default")]),
    # every problem at once: collected, each at its own field
    ("all-at-once", blueprint(name="ecs-x", description=E_ACUTE_25,
                              service="  memory: 9000\n", load_balancer=HTTPS_LB + cidrs(40)),
     [("BP104", "name", "'ecs'"), ("BP105", "description", "1025 bytes"),
      ("BP108", "service.memory", "9000 MiB"), ("BP105", "loadBalancer.ingressCidrs", "80")]),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in AWS_LIMITS],
                         ids=[case[0] for case in AWS_LIMITS])
def test_what_aws_rejects_is_a_finding_at_its_field(
        text: str, expected: list[tuple[str, str, str]]) -> None:
    found = located(text)
    assert len(found) == len(expected), found
    for rule, field, fragment in expected:
        assert any(r == rule and f == field and fragment in m for r, f, m in found), (
            rule, field, fragment, found)


def test_each_new_finding_carries_a_hint_saying_how_to_fix_it() -> None:
    doc, _ = load_text("b.yml", blueprint(
        name="ecs-x", description=E_ACUTE_25, service="  memory: 9000\n",
        load_balancer=HTTPS_LB + cidrs(40)))
    assert doc is not None
    hints = {f.rule_id + ":" + str(f.blueprint_path): f.hint for f in check_blueprint(doc)}
    assert "rename it" in str(hints["BP104:name"])
    assert "shorten it" in str(hints["BP105:description"])
    assert "c6i.2xlarge" in str(hints["BP108:service.memory"])
    assert "at most 30 CIDRs" in str(hints["BP105:loadBalancer.ingressCidrs"])
    assert "quota" in str(hints["BP105:loadBalancer.ingressCidrs"])


def test_the_task_fit_finding_points_at_the_written_line() -> None:
    text = blueprint(service="  port: 8080\n  memory: 9000\n")
    doc, _ = load_text("b.yml", text)
    assert doc is not None
    (finding,) = check_blueprint(doc)
    assert (finding.line, finding.column) == (text.splitlines().index("  memory: 9000") + 1, 11)


def test_no_instance_type_fits_the_largest_task() -> None:
    doc, _ = load_text("b.yml", blueprint(service="  cpu: 16384\n  memory: 122880\n"))
    assert doc is not None
    (finding,) = check_blueprint(doc)
    assert finding.hint is not None and "no allow-listed instance type" in finding.hint


@pytest.mark.parametrize("protocol", ["HTTP", "HTTPS"])
@pytest.mark.parametrize("count", [1, 7])
def test_the_rule_count_is_what_the_expander_renders(protocol: str, count: int) -> None:
    text = blueprint(load_balancer=(HTTPS_LB if protocol == "HTTPS" else "") + cidrs(count))
    doc, _ = load_text("b.yml", text)
    assert doc is not None
    full = apply_defaults(load_schema(), doc.data)
    rendering = render(from_data(doc.data, load_schema()))
    group = rendering.templates["service.yml"]["Resources"]["PublicLoadBalancerSG"]
    rendered = group["Properties"]["SecurityGroupIngress"]
    assert all("CidrIp" in rule for rule in rendered)  # IPv4 rules only
    assert ingress_rule_counts(full["loadBalancer"]) == {4: len(rendered)}


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_passes_the_checks(example: Path) -> None:
    doc, problems = load_text(str(example), example.read_text(encoding="utf-8"))
    assert doc is not None, problems
    assert check_blueprint(doc) == []


def test_an_autoscaled_service_ignores_desired_count() -> None:
    """desiredCount is not rendered when autoscaling is set, so a default (2) below
    minCount, or a written value outside the range, is no error."""
    assert findings(MINIMAL + "  autoscaling: {minCount: 6, maxCount: 30}\n") == []
    assert findings(MINIMAL + "  desiredCount: 1\n  autoscaling: {minCount: 3, maxCount: 5}\n") \
        == []
