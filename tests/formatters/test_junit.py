"""JUnit XML: a suite per file, a case per file and rule, failures that name file:line:col."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sample_report import BROKEN, LEGACY, MINIMAL, ORDERS, RULES, sample_report

from blueprint.finding import Finding, Location, Report, RuleInfo, Severity, Source
from blueprint.formatters import junit


def parse(report: Report, **kwargs: Severity) -> ET.Element:
    return ET.fromstring(junit.render(report, **kwargs).encode("utf-8"))


def suites(root: ET.Element) -> dict[str, ET.Element]:
    return {suite.get("name", ""): suite for suite in root.findall("testsuite")}


def case(suite: ET.Element, rule_id: str) -> ET.Element:
    [found] = [c for c in suite.findall("testcase")
               if c.get("name", "").split(":")[0] == rule_id]
    return found


def test_a_suite_per_file_sorted() -> None:
    root = parse(sample_report())
    assert root.tag == "testsuites"
    assert list(suites(root)) == sorted([BROKEN, ORDERS, MINIMAL, LEGACY])


def test_counts_add_up() -> None:
    root = parse(sample_report())
    for element in [root, *root.findall("testsuite")]:
        cases = element.iter("testcase")
        cases = list(cases)
        assert element.get("tests") == str(len(cases))
        assert element.get("failures") == str(sum(1 for c in cases if c.find("failure")
                                                  is not None))
        assert element.get("skipped") == str(sum(1 for c in cases if c.find("skipped")
                                                 is not None))
        assert element.get("errors") == "0"
    assert root.get("failures") == "3"


def test_every_applicable_rule_is_a_case_and_clean_ones_pass() -> None:
    minimal = suites(parse(sample_report()))[MINIMAL]
    names = [c.get("name", "").split(":")[0] for c in minimal.findall("testcase")]
    assert names == sorted(r.rule_id for r in RULES)
    assert all(len(c) == 0 for c in minimal.findall("testcase"))
    assert all(c.get("classname") == MINIMAL for c in minimal.findall("testcase"))


def test_schema_rules_do_not_apply_to_templates() -> None:
    legacy = suites(parse(sample_report()))[LEGACY]
    names = {c.get("name", "").split(":")[0] for c in legacy.findall("testcase")}
    assert "BP101" not in names
    assert "BP107" not in names
    assert {"BP002", "E3012", "LAUNCH_TEMPLATE_IMDSV2_REQUIRED"} <= names


def test_failure_message_names_file_line_column() -> None:
    orders = suites(parse(sample_report()))[ORDERS]
    failure = case(orders, "LAUNCH_TEMPLATE_IMDSV2_REQUIRED").find("failure")
    assert failure is not None
    assert failure.get("type") == "error"
    assert failure.get("message", "").startswith(f"{ORDERS}:12:5: HttpTokens must be")
    assert "rendered: cluster.yml:118:13 from cluster.imdsV2" in (failure.text or "")
    assert "hint: set cluster.imdsV2: required" in (failure.text or "")


def test_warnings_pass_by_default_and_fail_with_fail_on_warning() -> None:
    orders = suites(parse(sample_report()))[ORDERS]
    lint = case(orders, "W3005")
    assert lint.find("failure") is None
    assert "W3005" in (lint.findtext("system-out") or "")
    strict = suites(parse(sample_report(), fail_on=Severity.WARNING))[ORDERS]
    failure = case(strict, "W3005").find("failure")
    assert failure is not None
    assert failure.get("type") == "warning"


def test_waived_findings_are_skipped_with_the_reason() -> None:
    orders = suites(parse(sample_report(), fail_on=Severity.WARNING))[ORDERS]
    waived = case(orders, "ALB_ACCESS_LOGS_ENABLED")
    assert waived.find("failure") is None
    skipped = waived.find("skipped")
    assert skipped is not None
    assert "central collector via Firehose" in skipped.get("message", "")


def test_policies_not_checked_on_a_blueprint_with_schema_errors() -> None:
    broken = suites(parse(sample_report()))[BROKEN]
    skipped = case(broken, "ECS_TASK_ENI_NO_PUBLIC_IP").find("skipped")
    assert skipped is not None
    assert "schema errors" in skipped.get("message", "")
    assert case(broken, "BP107").find("skipped") is None


def test_nothing_checked_on_a_file_that_did_not_load() -> None:
    finding = Finding(Source.LOADER, "BP002", Severity.ERROR, Location("bad.yml", 3, 1),
                      "YAML syntax error")
    rules = (RuleInfo("BP002", Source.LOADER, "YAML syntax error"),
             RuleInfo("RULE_A", Source.GUARD, "a", mandatory=True))
    suite = suites(parse(Report(("bad.yml",), (finding,), rules)))["bad.yml"]
    assert case(suite, "BP002").find("failure") is not None
    skipped = case(suite, "RULE_A").find("skipped")
    assert skipped is not None
    assert "did not load" in skipped.get("message", "")


def test_several_findings_of_one_rule_are_one_failing_case() -> None:
    findings = tuple(Finding(Source.SCHEMA, "BP101", Severity.ERROR,
                             Location("a.blueprint.yml", line, 1), f"unknown key k{line}")
                     for line in (3, 9))
    suite = suites(parse(Report(("a.blueprint.yml",), findings)))["a.blueprint.yml"]
    failure = case(suite, "BP101").find("failure")
    assert failure is not None
    assert failure.get("message") == "a.blueprint.yml:3:1: unknown key k3 (and 1 more)"
    assert "unknown key k9" in (failure.text or "")


def test_special_characters_are_escaped_and_invalid_ones_replaced() -> None:
    message = "a <b> & \"c\" 'd' ]]> \x00\x1b end\nnext"
    finding = Finding(Source.GUARD, "R&D<1>", Severity.ERROR, Location("x&y.yml", 1, 1),
                      message)
    text = junit.render(Report(("x&y.yml",), (finding,)))
    root = ET.fromstring(text.encode("utf-8"))
    suite = suites(root)["x&y.yml"]
    failure = case(suite, "R&D<1>").find("failure")
    assert failure is not None
    assert failure.get("message") == "x&y.yml:1:1: a <b> & \"c\" 'd' ]]> \ufffd\ufffd end\nnext"


def test_empty_report() -> None:
    root = parse(Report((), ()))
    assert root.get("tests") == "0"
    assert root.findall("testsuite") == []


def test_blueprint_detection() -> None:
    assert junit.is_blueprint("x/a.blueprint.yaml", [])
    assert junit.is_blueprint("blueprints/prod/a.yml", [])
    assert not junit.is_blueprint("templates/a.yml", [])
    schema = Finding(Source.SCHEMA, "BP101", Severity.ERROR, Location("t.yml"), "m")
    assert junit.is_blueprint("t.yml", [schema])
