"""Waivers, case by case: what they switch off, and when they are errors themselves."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from blueprint import catalog
from blueprint.finding import Finding, Location, Report, Severity, Source
from blueprint.waivers import (
    EXPIRED_WAIVER,
    MANDATORY_WAIVER,
    NO_REASON,
    UNKNOWN_RULE,
    UNUSED_WAIVER,
    WAIVER_RULES,
    apply_waivers,
    is_meaningful_reason,
)

FILE = "blueprints/orders.blueprint.yml"
OTHER = "blueprints/other.blueprint.yml"
TODAY = date(2026, 6, 1)
MANDATORY = frozenset({"ECS_TASK_ENI_NO_PUBLIC_IP", "LAUNCH_TEMPLATE_IMDSV2_REQUIRED",
                       "SERVICE_INGRESS_ONLY_FROM_LOAD_BALANCER", "INSTANCE_TYPE_ALLOWED"})
KNOWN = MANDATORY | {"ALB_ACCESS_LOGS_ENABLED", "S3_BUCKET_VERSIONING"}
REASON = "Access logs go to the central collector via Firehose (OPS-1234)"


def waiver_location(index: int, field: str) -> Location:
    """Waiver i sits at line 30 + 3i: rule, reason, expires on consecutive lines."""
    return Location(FILE, 30 + 3 * index + ["rule", "reason", "expires"].index(field), 5)


def finding(rule: str, file: str = FILE, severity: Severity = Severity.WARNING,
            source: Source = Source.GUARD, line: int = 12) -> Finding:
    return Finding(source, rule, severity, Location(file, line, 3), f"{rule} violated")


def listed_mandatory(rule: str) -> bool:
    """As if one pack listed KNOWN, the MANDATORY ones mandatory."""
    return catalog.is_mandatory(rule, listed=rule in MANDATORY if rule in KNOWN else None)


def apply(findings: list[Finding], waivers: list[dict[str, Any]],
          today: date = TODAY) -> list[Finding]:
    return apply_waivers(findings, waivers, blueprint_file=FILE,
                         waiver_location=waiver_location, is_mandatory=listed_mandatory,
                         known_rules=KNOWN, today=today)


def waiver(rule: str = "ALB_ACCESS_LOGS_ENABLED", reason: str = REASON,
           expires: str = "2026-12-31") -> dict[str, Any]:
    return {"rule": rule, "reason": reason, "expires": expires}


def waiver_findings(result: list[Finding]) -> list[Finding]:
    return [f for f in result if f.source is Source.WAIVER]


def test_valid_waiver_marks_the_finding_waived_and_keeps_it_visible() -> None:
    result = apply([finding("ALB_ACCESS_LOGS_ENABLED")], [waiver()])
    assert len(result) == 1
    [waived] = result
    assert waived.waived_by == f"{REASON} (expires 2026-12-31)"
    assert waived.rule_id == "ALB_ACCESS_LOGS_ENABLED"
    assert waived.location == Location(FILE, 12, 3)


def test_waived_findings_do_not_fail_the_report() -> None:
    result = apply([finding("ALB_ACCESS_LOGS_ENABLED", severity=Severity.ERROR)], [waiver()])
    report = Report((FILE,), tuple(result))
    assert report.exit_code() == 0
    assert len(report.waived) == 1


def test_waiver_applies_on_its_last_day() -> None:
    [waived] = apply([finding("ALB_ACCESS_LOGS_ENABLED")], [waiver(expires="2026-06-01")])
    assert waived.waived_by is not None


def test_expired_waiver_is_an_error_and_the_finding_is_back() -> None:
    original = finding("ALB_ACCESS_LOGS_ENABLED")
    result = apply([original], [waiver(expires="2026-05-31")])
    [problem] = waiver_findings(result)
    assert problem.rule_id == EXPIRED_WAIVER
    assert problem.severity is Severity.ERROR
    assert problem.location == waiver_location(0, "expires")
    assert "2026-05-31" in problem.message
    assert original in result
    assert all(f.waived_by is None for f in result)


@pytest.mark.parametrize("rule", sorted(MANDATORY))
def test_waiver_of_a_mandatory_policy_is_an_error_and_the_finding_stays(rule: str) -> None:
    original = finding(rule, severity=Severity.ERROR)
    result = apply([original], [waiver(rule=rule)])
    [problem] = waiver_findings(result)
    assert problem.rule_id == MANDATORY_WAIVER
    assert problem.severity is Severity.ERROR
    assert problem.location == waiver_location(0, "rule")
    assert rule in problem.message
    assert original in result
    assert all(f.waived_by is None for f in result)


@pytest.mark.parametrize("rule", ["BP101", "BP107", "BP002", "BP203"])
def test_loader_schema_and_waiver_rules_cannot_be_waived(rule: str) -> None:
    original = finding(rule, severity=Severity.ERROR, source=Source.SCHEMA)
    result = apply([original], [waiver(rule=rule)])
    assert [f.rule_id for f in waiver_findings(result)] == [MANDATORY_WAIVER]
    assert all(f.waived_by is None for f in result)


def test_catalog_mandatory_ids_are_respected() -> None:
    result = apply_waivers([], [waiver(rule="BP104")], blueprint_file=FILE,
                           waiver_location=waiver_location,
                           is_mandatory=catalog.mandatory_rules_of({}, []),
                           known_rules=frozenset(), today=TODAY)
    assert [f.rule_id for f in result] == [MANDATORY_WAIVER]


def pack_rule(rule: str, *, mandatory: bool) -> catalog.RuleMeta:
    return catalog.RuleMeta(rule, rule, "", None, mandatory)


def test_the_run_decides_mandatory_rules_as_the_catalog_does() -> None:
    """What the pipeline passes: a pack's flags, and a Guard rule no catalog lists."""
    index = {"ALB_ACCESS_LOGS_ENABLED": pack_rule("ALB_ACCESS_LOGS_ENABLED", mandatory=False),
             "INSTANCE_TYPE_ALLOWED": pack_rule("INSTANCE_TYPE_ALLOWED", mandatory=True)}
    found = [finding("ALB_ACCESS_LOGS_ENABLED"), finding("INSTANCE_TYPE_ALLOWED"),
             finding("FROM_A_RULESET"), finding("W3005", source=Source.LINT)]
    result = apply_waivers(
        found, [waiver(rule=rule) for rule in ("ALB_ACCESS_LOGS_ENABLED", "INSTANCE_TYPE_ALLOWED",
                                               "FROM_A_RULESET", "W3005")],
        blueprint_file=FILE, waiver_location=waiver_location,
        is_mandatory=catalog.mandatory_rules_of(index, found), known_rules=frozenset(index),
        today=TODAY)
    refused = {f.location.line for f in waiver_findings(result)}
    assert refused == {waiver_location(1, "rule").line, waiver_location(2, "rule").line}
    assert {f.rule_id for f in result if f.waived_by} == {"ALB_ACCESS_LOGS_ENABLED", "W3005"}


@pytest.mark.parametrize("source", [Source.LOADER, Source.SCHEMA, Source.WAIVER])
def test_loader_schema_and_waiver_rules_are_mandatory_whatever_a_pack_says(
        source: Source) -> None:
    assert catalog.is_mandatory("BP104", source, listed=False)
    assert catalog.is_mandatory("BP002")


def test_advisory_pack_rules_and_cfn_lint_rules_are_not_mandatory() -> None:
    assert not catalog.is_mandatory("ALB_ACCESS_LOGS_ENABLED", Source.GUARD, listed=False)
    assert not catalog.is_mandatory("W3005", Source.LINT)
    assert catalog.is_mandatory("UNLISTED", Source.GUARD)


def test_the_report_marks_own_rules_mandatory_but_the_advisory_schema_warning() -> None:
    from blueprint.guard import default_rule_packs

    infos = catalog.rules_for_report(default_rule_packs())
    own = [info for info in infos if info.source is not Source.GUARD]
    assert {info.source for info in own} == {Source.LOADER, Source.SCHEMA, Source.WAIVER}
    assert [info.rule_id for info in infos if not info.mandatory] == ["BP109"]


def test_unknown_rule_is_an_error_with_a_suggestion() -> None:
    result = apply([finding("ALB_ACCESS_LOGS_ENABLED")], [waiver(rule="ALB_ACCESS_LOG_ENABLED")])
    [problem] = waiver_findings(result)
    assert problem.rule_id == UNKNOWN_RULE
    assert problem.severity is Severity.ERROR
    assert problem.location == waiver_location(0, "rule")
    assert problem.hint == "did you mean 'ALB_ACCESS_LOGS_ENABLED'?"
    assert all(f.waived_by is None for f in result)


def test_cfn_lint_rules_and_rules_of_findings_are_known() -> None:
    lint = finding("W3005", source=Source.LINT)
    custom = finding("MY_TEAM_RULE")
    result = apply([lint, custom], [waiver(rule="W3005"), waiver(rule="MY_TEAM_RULE")])
    assert waiver_findings(result) == []
    assert all(f.waived_by for f in result)


@pytest.mark.parametrize("reason", [
    "", "          ", "TODO TODO TODO", "n/a n/a n/a n/a", "temporary for now",
    "xxxxxxxxxxxxxxx", "ALB_ACCESS_LOGS_ENABLED", "because reasons", "fix later please",
    "..........",
])
def test_no_meaningful_reason_is_an_error(reason: str) -> None:
    result = apply([finding("ALB_ACCESS_LOGS_ENABLED")], [waiver(reason=reason)])
    [problem] = waiver_findings(result)
    assert problem.rule_id == NO_REASON
    assert problem.severity is Severity.ERROR
    assert problem.location == waiver_location(0, "reason")
    assert all(f.waived_by is None for f in result)


def test_missing_reason_is_an_error() -> None:
    entry = {"rule": "ALB_ACCESS_LOGS_ENABLED", "expires": "2026-12-31"}
    result = apply([finding("ALB_ACCESS_LOGS_ENABLED")], [entry])
    assert [f.rule_id for f in waiver_findings(result)] == [NO_REASON]


@pytest.mark.parametrize("reason", [
    "Dev account only, logs not needed",
    "Access logs go to the central collector via Firehose",
    "Legacy ALB; migrating in Q3 (JIRA-42)",
])
def test_meaningful_reasons(reason: str) -> None:
    assert is_meaningful_reason(reason, "ALB_ACCESS_LOGS_ENABLED")


def test_other_files_findings_are_not_waived() -> None:
    mine, theirs = finding("ALB_ACCESS_LOGS_ENABLED"), finding("ALB_ACCESS_LOGS_ENABLED", OTHER)
    result = apply([mine, theirs], [waiver()])
    by_file = {f.file: f for f in result}
    assert by_file[FILE].waived_by is not None
    assert by_file[OTHER].waived_by is None
    assert by_file[OTHER] == theirs


def test_only_the_named_rule_is_waived() -> None:
    other_rule = finding("S3_BUCKET_VERSIONING")
    result = apply([finding("ALB_ACCESS_LOGS_ENABLED"), other_rule], [waiver()])
    assert [f.rule_id for f in result if f.waived_by is None] == ["S3_BUCKET_VERSIONING"]


def test_every_finding_of_the_rule_in_the_file_is_waived() -> None:
    findings = [finding("ALB_ACCESS_LOGS_ENABLED", line=n) for n in (3, 9, 27)]
    assert all(f.waived_by for f in apply(findings, [waiver()]))


def test_unused_waiver_is_noted_as_info() -> None:
    result = apply([finding("S3_BUCKET_VERSIONING")], [waiver()])
    [note] = waiver_findings(result)
    assert note.rule_id == UNUSED_WAIVER
    assert note.severity is Severity.INFO


def test_no_unused_note_when_schema_errors_stopped_the_checks() -> None:
    schema = finding("BP101", severity=Severity.ERROR, source=Source.SCHEMA)
    assert waiver_findings(apply([schema], [waiver()])) == []


def test_each_bad_waiver_is_located_at_its_own_entry() -> None:
    waivers = [waiver(), waiver(rule="ECS_TASK_ENI_NO_PUBLIC_IP"), waiver(rule="NOPE_NOPE"),
               waiver(rule="S3_BUCKET_VERSIONING", expires="2020-01-01")]
    findings = [finding("ALB_ACCESS_LOGS_ENABLED"), finding("S3_BUCKET_VERSIONING")]
    problems = {f.rule_id: f.location for f in waiver_findings(apply(findings, waivers))}
    assert problems == {MANDATORY_WAIVER: waiver_location(1, "rule"),
                        UNKNOWN_RULE: waiver_location(2, "rule"),
                        EXPIRED_WAIVER: waiver_location(3, "expires")}


def test_entries_the_schema_rejects_are_skipped() -> None:
    entries: list[Any] = ["nonsense", {"rule": 3}, waiver(expires="2026-02-30"),
                          {"reason": REASON, "expires": "2026-12-31"}]
    original = finding("ALB_ACCESS_LOGS_ENABLED")
    assert apply([original], entries) == [original]


def test_pure_and_sorted() -> None:
    findings = [finding("S3_BUCKET_VERSIONING", line=40), finding("ALB_ACCESS_LOGS_ENABLED")]
    waivers = [waiver(), waiver(rule="LAUNCH_TEMPLATE_IMDSV2_REQUIRED")]
    before = (list(findings), [dict(w) for w in waivers])
    result = apply(findings, waivers)
    assert (findings, waivers) == before
    assert result == sorted(result, key=Finding.sort_key)
    assert result == apply(findings, waivers)


def test_waiver_rule_ids_are_documented() -> None:
    assert set(WAIVER_RULES) == {"BP201", "BP202", "BP203", "BP204", "BP205"}
    assert not set(WAIVER_RULES) & (set(catalog.SCHEMA_RULES) | set(catalog.LOADER_RULES))


def test_the_mutable_image_tag_warning_is_waivable_and_the_allow_list_error_is_not() -> None:
    """BP109 is a schema rule meant to be waived (a tag that moves on purpose); BP107 is not."""
    found = [finding("BP109", source=Source.SCHEMA), finding("BP107", source=Source.SCHEMA,
                                                            severity=Severity.ERROR, line=14)]
    result = apply_waivers(
        found, [waiver(rule="BP109"), waiver(rule="BP107")], blueprint_file=FILE,
        waiver_location=waiver_location, is_mandatory=catalog.mandatory_rules_of({}, found),
        known_rules=frozenset(catalog.SCHEMA_RULES), today=TODAY)
    [refused] = waiver_findings(result)
    assert refused.rule_id == MANDATORY_WAIVER and refused.location == waiver_location(1, "rule")
    assert {f.rule_id for f in result if f.waived_by} == {"BP109"}
    assert catalog.is_mandatory("BP107", Source.SCHEMA)
    assert "BP109" in catalog.SCHEMA_RULES


def test_a_waived_latest_tag_leaves_a_clean_blueprint(tmp_path: Path) -> None:
    from blueprint.api import ValidateOptions, check_blueprint

    path = tmp_path / "latest.blueprint.yml"
    path.write_text("blueprint: v1\nname: hello-api\nservice:\n"
                    "  image: public.ecr.aws/nginx/nginx-unprivileged:latest\n  port: 8080\n"
                    "waivers:\n  - rule: BP109\n"
                    "    reason: the sandbox follows the upstream image on every redeploy\n"
                    "    expires: 2099-12-31\n")
    report = check_blueprint(str(path), ValidateOptions(lint=False, use_cache=False)).report
    assert [(f.rule_id, bool(f.waived_by)) for f in report.findings] == [("BP109", True)]
    assert report.exit_code(fail_on=Severity.WARNING) == 0
