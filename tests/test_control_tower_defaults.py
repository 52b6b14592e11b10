"""Rendered blueprints against AWS Control Tower's proactive controls (issue 12).

Each Control Tower rule file runs on its own with the real cfn-guard over each
rendered template (scripts/control_tower_report.py, the measuring tool): a
default blueprint fails only the controls that need a choice the blueprint did
not make, each option turned off fails exactly its control, and the failing
node traces back to the option's blueprint field.

Needs cfn-guard and the pinned Control Tower rules that `scripts/setup`
installs (~/.cache/blueprint/tools); skipped without them.
"""

from __future__ import annotations

import copy
import importlib.util
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprint.expander import Rendering, render
from blueprint.loader import load_file, load_text
from blueprint.model import from_data
from blueprint.policy_data import allowed_instance_types
from blueprint.schema import check_blueprint, load_schema

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.blueprint.yml"))
_spec = importlib.util.spec_from_file_location(
    "control_tower_report", ROOT / "scripts" / "control_tower_report.py")
assert _spec and _spec.loader
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)

RULES = next((p for p in report.DEFAULT_RULES if (p / "metadata").is_dir()), None)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(RULES is None or not report.CFN_GUARD.is_file(),
                       reason="cfn-guard or the Control Tower rules are not installed"),
]

# Controls a blueprint may fail, and why (the README's table lists every
# applicable control; the others pass whatever the blueprint says).
# A choice the default leaves open: reported on a default blueprint, waivable.
DEFAULT_FINDINGS = {
    "CT.ELASTICLOADBALANCING.PR.1": "loadBalancer.protocol",  # HTTP until a certificate
    "CT.ELASTICLOADBALANCING.PR.6": "loadBalancer.accessLogs",  # which bucket
    "CT.CLOUDWATCH.PR.3": "logs",  # which KMS key (logs.kmsKeyArn)
    # The clean-up function's subnets come from the VPC stack; the static rule
    # accepts only subnets of the same template (the hook sees resolved ids).
    "CT.LAMBDA.PR.3": "cluster",
}
# An option turned off (or a value chosen) reports exactly its control.
OPTION_FINDINGS = {
    "CT.AUTOSCALING.PR.6": "cluster.instanceType",
    "CT.AUTOSCALING.PR.10": "cluster.instanceTypes",
    "CT.AUTOSCALING.PR.11": "cluster.instanceTypes",
    "CT.ECS.PR.2": "cluster.containerInsights",
    "CT.ECS.PR.3": "service.user",
    "CT.ECS.PR.6": "service.readOnlyRootFilesystem",
    "CT.ELASTICLOADBALANCING.PR.5": "loadBalancer.deletionProtection",
    "CT.CLOUDWATCH.PR.2": "logs.retentionDays",
    "CT.EC2.PR.3": "loadBalancer.port",
    "CT.EC2.PR.4": "loadBalancer.port",
    # an environment variable named AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or
    # ECS_ENGINE_AUTH_DATA (use the task role, or service.secrets)
    "CT.ECS.PR.12": "service.environment",
}
DOCUMENTED = {**DEFAULT_FINDINGS, **OPTION_FINDINGS}
KEY = "arn:aws:kms:us-east-1:123456789012:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


def _failures(rendering: Rendering) -> dict[str, list[tuple[str, str | None]]]:
    """Failing control -> [(template#pointer, blueprint field)] of the failing nodes."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    with tempfile.TemporaryDirectory() as work:
        for name, text in rendering.texts.items():
            (Path(work) / name).write_text(text, encoding="utf-8")
        assert RULES is not None
        for label, failures in report.measure([Path(work)], RULES).items():
            template = label.rsplit("/", 1)[-1]
            for failure in failures:
                assert failure["status"] == "FAIL", failure
                found.setdefault(failure["control"], []).extend(
                    (f"{template}#{p}", rendering.blueprint_field(template, p))
                    for p in failure["paths"])
    return found


def _data(path: Path) -> dict[str, Any]:
    doc, problems = load_file(str(path))
    assert doc is not None, problems
    return copy.deepcopy(doc.data)


def _render(data: dict[str, Any]) -> Rendering:
    return render(from_data(data, load_schema()))


@cache
def _seed_baseline() -> frozenset[str]:
    return frozenset(_failures(_render(_data(ROOT / "examples" / "seed.blueprint.yml"))))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name.split(".")[0])
def test_examples_fail_only_documented_controls(path: Path) -> None:
    failing = set(_failures(_render(_data(path))))
    assert failing <= set(DOCUMENTED), failing - set(DOCUMENTED)


def test_a_default_blueprint_fails_only_the_choices_it_leaves_open() -> None:
    data = {"blueprint": "v1", "name": "app",
            "service": {"image": "public.ecr.aws/nginx/nginx-unprivileged:1.27-alpine"}}
    failures = _failures(_render(data))
    assert set(failures) == set(DEFAULT_FINDINGS)
    fields = {control: {field for _, field in where} for control, where in failures.items()}
    assert "loadBalancer.accessLogs" in fields["CT.ELASTICLOADBALANCING.PR.6"]
    assert fields["CT.CLOUDWATCH.PR.3"] == {"logs"}
    # With a key, a bucket and HTTPS, only the documented static-check waiver is left.
    data["logs"] = {"kmsKeyArn": KEY}
    data["loadBalancer"] = {
        "protocol": "HTTPS", "accessLogs": {"bucket": "app-alb-logs"},
        "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f50"}
    assert set(_failures(_render(data))) == {"CT.LAMBDA.PR.3"}


# (blueprint edit on the seed, the one control it must add, the field it is shown at)
OPTIONS_OFF = [
    ({"cluster": {"instanceType": "c6i.xlarge"}}, "CT.AUTOSCALING.PR.6", "cluster.instanceType"),
    ({"cluster": {"instanceTypes": ["c6i.xlarge", "c5.xlarge"]}}, "CT.AUTOSCALING.PR.11",
     "cluster.instanceTypes"),
    ({"cluster": {"containerInsights": False}}, "CT.ECS.PR.2", "cluster.containerInsights"),
    ({"service": {"user": "root"}}, "CT.ECS.PR.3", "service.user"),
    ({"service": {"user": "0:0"}}, "CT.ECS.PR.3", "service.user"),
    ({"service": {"readOnlyRootFilesystem": False}}, "CT.ECS.PR.6",
     "service.readOnlyRootFilesystem"),
    ({"loadBalancer": {"deletionProtection": False}}, "CT.ELASTICLOADBALANCING.PR.5",
     "loadBalancer.deletionProtection"),
    ({"logs": {"retentionDays": 90}}, "CT.CLOUDWATCH.PR.2", "logs.retentionDays"),
    ({"loadBalancer": {"port": 8443}}, "CT.EC2.PR.3", "loadBalancer.port"),
]


@pytest.mark.parametrize(("edit", "control", "field"), OPTIONS_OFF,
                         ids=[case[1] + "-" + next(iter(case[0])) for case in OPTIONS_OFF])
def test_an_option_turned_off_fails_exactly_its_control_at_its_field(
    edit: dict[str, dict[str, Any]], control: str, field: str,
) -> None:
    seed = _data(ROOT / "examples" / "seed.blueprint.yml")
    baseline = set(_seed_baseline())
    edited = copy.deepcopy(seed)
    for section, values in edit.items():
        edited[section] = {**edited.get(section, {}), **values}
        if "instanceType" in values:
            edited[section].pop("instanceTypes", None)
    doc, _ = load_text("edited.blueprint.yml", yaml.safe_dump(edited))
    assert doc is not None
    failures = _failures(_render(edited))
    assert set(failures) - baseline == {control}
    assert baseline <= set(failures)
    assert field in {where_field for _, where_field in failures[control]}, failures[control]
    assert control in DOCUMENTED
    assert check_blueprint(doc) == []


# Allow-listed types whose instances encrypt traffic between each other
# (CT.AUTOSCALING.PR.11's list); every allow-listed type is a Nitro type.
ENCRYPTING_FAMILIES = ("c6i", "c7i", "m6i", "m7i")
HIGH_RISK_PORTS = {3389, 20, 23, 110, 143, 3306, 8080, 1433, 9200, 9300, 25, 445, 135, 21,
                   1434, 4333, 5432, 5500, 5601, 22, 3000, 5000, 8088, 8888}
_TYPES = st.lists(st.sampled_from(allowed_instance_types()), min_size=1, max_size=3,
                  unique=True)
_CHOICES = st.fixed_dictionaries({
    "types": _TYPES,
    "insights": st.booleans(),
    "user": st.sampled_from(["101", "1000:1000", "app", "root", "0"]),
    "read_only": st.booleans(),
    "deletion_protection": st.booleans(),
    "access_logs": st.booleans(),
    "https": st.booleans(),
    "port": st.sampled_from([None, 8080, 8443, 22]),
    "retention": st.sampled_from([30, 365, 3653]),
    "kms": st.booleans(),
})


def _blueprint_of(choices: dict[str, Any]) -> dict[str, Any]:
    types = choices["types"]
    lb: dict[str, Any] = {"deletionProtection": choices["deletion_protection"]}
    if choices["https"]:
        lb.update(protocol="HTTPS", certificateArn="arn:aws:acm:us-east-1:123456789012:"
                                                   "certificate/0b1c2d3e-4f50")
    if choices["port"] is not None:
        lb["port"] = choices["port"]
    if choices["access_logs"]:
        lb["accessLogs"] = {"bucket": "app-alb-logs"}
    logs: dict[str, Any] = {"retentionDays": choices["retention"]}
    if choices["kms"]:
        logs["kmsKeyArn"] = KEY
    return {
        "blueprint": "v1", "name": "drawn",
        "cluster": ({"instanceType": types[0]} if len(types) == 1
                    else {"instanceTypes": types}) | {"containerInsights": choices["insights"]},
        "service": {"image": "public.ecr.aws/nginx/nginx-unprivileged:1.27-alpine",
                    "port": 8080, "user": choices["user"],
                    "readOnlyRootFilesystem": choices["read_only"]},
        "loadBalancer": lb, "logs": logs}


def _expected(choices: dict[str, Any]) -> set[str]:
    types, port = choices["types"], choices["port"] or (443 if choices["https"] else 80)
    expected = {"CT.LAMBDA.PR.3"}
    conditions = {
        "CT.ELASTICLOADBALANCING.PR.1": not choices["https"],
        "CT.ELASTICLOADBALANCING.PR.6": not choices["access_logs"],
        "CT.CLOUDWATCH.PR.3": not choices["kms"],
        "CT.AUTOSCALING.PR.6": len(types) == 1,
        "CT.AUTOSCALING.PR.11": len(types) > 1 and any(
            t.split(".")[0] not in ENCRYPTING_FAMILIES for t in types),
        "CT.ECS.PR.2": not choices["insights"],
        "CT.ECS.PR.3": choices["user"] in ("root", "0"),
        "CT.ECS.PR.6": not choices["read_only"],
        "CT.ELASTICLOADBALANCING.PR.5": not choices["deletion_protection"],
        "CT.CLOUDWATCH.PR.2": choices["retention"] < 365,
        "CT.EC2.PR.3": port not in (80, 443),
        "CT.EC2.PR.4": port in HIGH_RISK_PORTS,
    }
    return expected | {control for control, holds in conditions.items() if holds}


@settings(max_examples=6, deadline=None, derandomize=True)
@given(_CHOICES)
def test_drawn_blueprints_fail_exactly_the_controls_their_choices_predict(
    choices: dict[str, Any],
) -> None:
    data = _blueprint_of(choices)
    doc, problems = load_text("drawn.blueprint.yml", yaml.safe_dump(data))
    assert doc is not None, problems
    assert [f.rule_id for f in check_blueprint(doc) if f.severity.name == "ERROR"] == []
    failing = set(_failures(_render(data)))
    assert failing == _expected(choices)
    assert failing <= set(DOCUMENTED)
