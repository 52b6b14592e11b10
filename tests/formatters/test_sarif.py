"""SARIF output: valid against the official OASIS 2.1.0 schema, and what GitHub reads."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sample_report import (
    GUARD_ERROR,
    LEGACY,
    LINT_WARNING,
    ORDERS,
    RULES,
    SCHEMA_ERROR,
    TEMPLATE_ERROR,
    WAIVED,
    sample_report,
)

from blueprint import __version__
from blueprint.api import ValidateOptions, validate
from blueprint.finding import Finding, Location, Report, RuleInfo, Severity, Source
from blueprint.formatters import sarif

SCHEMA_PATH = Path(__file__).parents[1] / "data" / "sarif-schema-2.1.0.json"


@cache
def official_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def validated(report: Report) -> dict[str, Any]:
    """The SARIF of ``report``, after checking it against the official schema."""
    document: dict[str, Any] = json.loads(sarif.render(report))
    schema = official_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path)))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    return document


def result_for(document: dict[str, Any], finding: Finding) -> dict[str, Any]:
    matches = [r for r in document["runs"][0]["results"]
               if r["ruleId"] == finding.rule_id
               and r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
               == finding.file]
    assert len(matches) == 1
    return matches[0]


def test_vendored_schema_is_the_official_one() -> None:
    schema = official_schema()
    assert schema["id"] == ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/"
                            "schemas/sarif-schema-2.1.0.json")
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"


def test_sample_report_is_valid_sarif() -> None:
    document = validated(sample_report())
    assert document["version"] == "2.1.0"
    assert document["$schema"] == sarif.SARIF_SCHEMA_URI
    assert len(document["runs"]) == 1


def test_schema_check_catches_invalid_documents() -> None:
    """The validation above has teeth: a result without a message is rejected."""
    document = json.loads(sarif.render(sample_report()))
    del document["runs"][0]["results"][0]["message"]
    validator_class = jsonschema.validators.validator_for(official_schema())
    assert not validator_class(official_schema()).is_valid(document)


def test_driver_describes_every_rule_of_the_report_and_of_the_findings() -> None:
    driver = validated(sample_report())["runs"][0]["tool"]["driver"]
    assert driver["name"] == "blueprint"
    assert driver["version"] == __version__
    ids = [rule["id"] for rule in driver["rules"]]
    assert ids == sorted(ids)
    assert set(ids) == {r.rule_id for r in RULES} | {"E3012", "W3005"}
    by_id = {rule["id"]: rule for rule in driver["rules"]}
    imds = by_id["LAUNCH_TEMPLATE_IMDSV2_REQUIRED"]
    assert imds["shortDescription"]["text"] == "Launch templates require IMDSv2"
    assert imds["help"]["text"].startswith("Every AWS::EC2::LaunchTemplate")
    assert imds["defaultConfiguration"]["level"] == "error"
    assert by_id["ALB_ACCESS_LOGS_ENABLED"]["defaultConfiguration"]["level"] == "warning"
    assert by_id["W3005"]["defaultConfiguration"]["level"] == "warning"
    assert by_id["E3012"]["defaultConfiguration"]["level"] == "error"
    assert by_id["E3012"]["properties"]["tags"] == ["cfn-lint"]


def test_results_point_at_their_rule() -> None:
    run = validated(sample_report())["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == 5
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_result_levels_messages_and_locations() -> None:
    document = validated(sample_report())
    schema_result = result_for(document, SCHEMA_ERROR)
    assert schema_result["level"] == "error"
    assert schema_result["message"]["text"].startswith("unknown key 'instanceTyp'")
    assert "did you mean 'instanceType'?" in schema_result["message"]["text"]
    assert schema_result["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 7, "startColumn": 3}
    assert "relatedLocations" not in schema_result
    assert "suppressions" not in schema_result
    assert result_for(document, LINT_WARNING)["level"] == "warning"
    assert result_for(document, TEMPLATE_ERROR)["locations"][0]["physicalLocation"][
        "artifactLocation"] == {"uri": LEGACY}


def test_rendered_template_is_a_related_location_naming_the_field() -> None:
    result = result_for(validated(sample_report()), GUARD_ERROR)
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == ORDERS
    [related] = result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "cluster.yml"
    assert related["physicalLocation"]["region"] == {"startLine": 118, "startColumn": 13}
    assert "cluster.imdsV2" in related["message"]["text"]
    assert "cluster.yml" in related["message"]["text"]


def test_waived_finding_is_an_external_suppression_with_its_justification() -> None:
    result = result_for(validated(sample_report()), WAIVED)
    assert result["suppressions"] == [{"kind": "external", "justification": WAIVED.waived_by}]
    assert result["level"] == "warning"


@pytest.mark.parametrize(("line", "column", "region"), [
    (0, 0, None),
    (5, 0, {"startLine": 5}),
    (5, 2, {"startLine": 5, "startColumn": 2}),
    (0, 4, None),
])
def test_region_only_when_known(line: int, column: int, region: dict[str, int] | None) -> None:
    finding = Finding(Source.LOADER, "BP002", Severity.ERROR, Location("a b/x.yml", line, column),
                      "bad")
    result = validated(Report(("a b/x.yml",), (finding,)))["runs"][0]["results"][0]
    physical = result["locations"][0]["physicalLocation"]
    assert physical.get("region") == region
    assert physical["artifactLocation"]["uri"] == "a%20b/x.yml"


def test_info_is_note_and_unknown_rules_are_described() -> None:
    finding = Finding(Source.LINT, "I3011", Severity.INFO, Location("t.yml", 3, 1), "info")
    document = validated(Report(("t.yml",), (finding,)))
    run = document["runs"][0]
    assert run["results"][0]["level"] == "note"
    assert run["tool"]["driver"]["rules"][0]["id"] == "I3011"
    assert run["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] == "note"


def test_rule_without_help_falls_back_to_its_title() -> None:
    report = Report(("x.yml",), (), (RuleInfo("BP101", Source.SCHEMA, "Unknown key"),))
    [rule] = validated(report)["runs"][0]["tool"]["driver"]["rules"]
    assert rule["help"] == {"text": "Unknown key"}
    assert "fullDescription" not in rule


def test_empty_report_is_valid() -> None:
    run = validated(Report((), ()))["runs"][0]
    assert run["results"] == []
    assert run["tool"]["driver"]["rules"] == []


def test_absolute_paths_become_file_uris() -> None:
    assert sarif.artifact_uri("/tmp/x y.yml") == "file:///tmp/x%20y.yml"
    assert sarif.artifact_uri("C:\\work\\a.yml") == "file:///C:/work/a.yml"
    assert sarif.artifact_uri("blueprints/a.yml") == "blueprints/a.yml"


def test_unicode_and_control_characters_survive() -> None:
    finding = Finding(Source.SCHEMA, "BP104", Severity.ERROR, Location("ü.yml", 1, 1),
                      "name 'café\u0000' is invalid\nsecond line")
    document = validated(Report(("ü.yml",), (finding,)))
    assert document["runs"][0]["results"][0]["message"]["text"] == finding.message


def test_a_real_validate_run_is_valid_sarif(tmp_path: Path) -> None:
    examples = Path(__file__).parents[2] / "examples"
    bad = tmp_path / "gpu.blueprint.yml"
    bad.write_text("blueprint: v1\nname: gpu\ncluster:\n  instanceType: p3.2xlarge\n"
                   "service:\n  image: nginx:latest\n", encoding="utf-8")
    report = validate([str(examples / "minimal.blueprint.yml"), str(bad)])
    run = validated(report)["runs"][0]
    assert {r["ruleId"] for r in run["results"]} >= {"BP107"}
    assert len(run["tool"]["driver"]["rules"]) >= len(report.rules)


def rule_descriptor(document: dict[str, Any], rule_id: str) -> dict[str, Any]:
    [descriptor] = [r for r in document["runs"][0]["tool"]["driver"]["rules"]
                    if r["id"] == rule_id]
    return descriptor


def test_loader_and_schema_rules_are_mandatory_even_if_the_report_says_otherwise() -> None:
    """No waiver can switch BPnnn rules off; SARIF says so, whatever a RuleInfo claims."""
    loader_error = Finding(Source.LOADER, "BP002", Severity.ERROR, Location(LEGACY, 3, 1),
                           "YAML syntax error: mapping values are not allowed here")
    report = Report(files=(LEGACY,), findings=(loader_error,), rules=(
        RuleInfo("BP002", Source.LOADER, "YAML syntax error", mandatory=False),
        RuleInfo("BP101", Source.SCHEMA, "Unknown key", mandatory=False)))
    document = validated(report)
    assert rule_descriptor(document, "BP002")["properties"]["mandatory"] is True
    assert rule_descriptor(document, "BP101")["properties"]["mandatory"] is True
    assert result_for(document, loader_error)["properties"]["mandatory"] is True


def test_results_say_whether_a_waiver_could_switch_them_off() -> None:
    document = validated(sample_report())
    assert result_for(document, SCHEMA_ERROR)["properties"]["mandatory"] is True
    assert result_for(document, GUARD_ERROR)["properties"]["mandatory"] is True
    assert result_for(document, WAIVED)["properties"]["mandatory"] is False
    assert result_for(document, LINT_WARNING)["properties"]["mandatory"] is False


def test_an_unlisted_guard_rule_is_mandatory() -> None:
    finding = Finding(Source.GUARD, "FROM_A_RULESET", Severity.ERROR, Location(LEGACY, 4, 1),
                      "a rule no catalog lists")
    document = validated(Report(files=(LEGACY,), findings=(finding,)))
    assert rule_descriptor(document, "FROM_A_RULESET")["properties"]["mandatory"] is True
    assert result_for(document, finding)["properties"]["mandatory"] is True


def test_a_real_run_marks_every_loader_rule_mandatory(tmp_path: Path) -> None:
    broken = tmp_path / "broken.blueprint.yml"
    broken.write_text("blueprint: v1\nname: [unclosed\n")
    document = validated(validate([str(broken)], ValidateOptions(lint=False, use_cache=False)))
    loader_rules = [r for r in document["runs"][0]["tool"]["driver"]["rules"]
                    if r["properties"]["tags"] == ["loader"]]
    assert loader_rules and all(r["properties"]["mandatory"] for r in loader_rules)


def on_template(line: int, path: str = "Properties.SecurityGroupIngress[0].CidrIp",
                message: str = "public ingress") -> Finding:
    return Finding(Source.GUARD, "PUBLIC_INGRESS_ONLY_ON_LOAD_BALANCER", Severity.ERROR,
                   Location(LEGACY, line, 19), message, resource="HostSecurityGroup",
                   property_path=path)


def fingerprint_of(finding: Finding) -> str:
    document = validated(Report(files=(LEGACY,), findings=(finding,)))
    [result] = document["runs"][0]["results"]
    value: str = result["partialFingerprints"][sarif.FINGERPRINT_KEY]
    return value


def test_every_result_has_a_partial_fingerprint() -> None:
    document = validated(sample_report())
    for result in document["runs"][0]["results"]:
        assert len(result["partialFingerprints"][sarif.FINGERPRINT_KEY]) == 64


def test_a_finding_keeps_its_fingerprint_when_lines_move() -> None:
    assert fingerprint_of(on_template(37)) == fingerprint_of(on_template(52))
    assert fingerprint_of(on_template(37)) == fingerprint_of(
        on_template(37, message="public ingress (rendered x.yml)"))


def test_different_problems_have_different_fingerprints() -> None:
    assert fingerprint_of(on_template(37)) != fingerprint_of(
        on_template(37, path="Properties.SecurityGroupIngress[1].CidrIp"))
    other_rule = Finding(Source.GUARD, "SERVICE_INGRESS_ONLY_FROM_LOAD_BALANCER", Severity.ERROR,
                         Location(LEGACY, 37, 19), "public ingress",
                         resource="HostSecurityGroup",
                         property_path="Properties.SecurityGroupIngress[0].CidrIp")
    assert fingerprint_of(on_template(37)) != fingerprint_of(other_rule)


def test_a_result_names_its_resource_and_property_path() -> None:
    document = validated(Report(files=(LEGACY,), findings=(on_template(37),)))
    [result] = document["runs"][0]["results"]
    assert result["properties"]["resource"] == "HostSecurityGroup"
    assert result["properties"]["propertyPath"] == "Properties.SecurityGroupIngress[0].CidrIp"
    assert result["locations"][0]["logicalLocations"] == [{
        "name": "HostSecurityGroup",
        "fullyQualifiedName": "HostSecurityGroup.Properties.SecurityGroupIngress[0].CidrIp"}]


def test_a_real_run_names_resources_and_fingerprints_stably(tmp_path: Path) -> None:
    template = ("Resources:\n  Lt:\n    Type: AWS::EC2::LaunchTemplate\n    Properties:\n"
                "      LaunchTemplateData:\n        InstanceType: c5.xlarge\n")
    path = tmp_path / "lt.yml"
    fingerprints = []
    for padding in ("", "\n\n\n"):
        path.write_text("AWSTemplateFormatVersion: '2010-09-09'\n" + padding + template)
        document = validated(validate([str(path)], ValidateOptions(lint=False,
                                                                    use_cache=False)))
        [result] = [r for r in document["runs"][0]["results"]
                    if r["ruleId"] == "LAUNCH_TEMPLATE_IMDSV2_REQUIRED"]
        assert result["properties"]["resource"] == "Lt"
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == \
            5 + len(padding)  # the Properties: key: MetadataOptions is missing
        fingerprints.append(result["partialFingerprints"][sarif.FINGERPRINT_KEY])
    assert fingerprints[0] == fingerprints[1]


def test_a_finding_on_no_node_keeps_its_fingerprint_when_lines_move() -> None:
    def duplicate(line: int) -> Finding:
        return Finding(Source.LOADER, "BP003", Severity.ERROR, Location(LEGACY, line + 2, 5),
                       f"duplicate key 'Description' (also on line {line})")
    assert fingerprint_of(duplicate(37)) == fingerprint_of(duplicate(52))
