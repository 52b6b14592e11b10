"""The gate on templates written the way teams write them (issue 9, "Tests").

``tests/corpus/templates/`` holds realistic CloudFormation templates (bridge
and awsvpc services, Fargate and EC2, cross-stack imports, nested stacks, SAM,
EKS node groups, Batch, fleets, launch configurations, bastions, scheduled
tasks; YAML short and long form, and JSON). ``tests/corpus/expected.yaml``
says, from the policies, which findings each one must get: (rule, resource
logical id, line of the offending node). One ``validate`` run over all of
them (one cfn-guard process) is compared with that table exactly: a finding
missing, an extra one, or the same one twice all fail, with a diff that says
which.

cfn-lint is left out (``lint=False``): the table covers the Guard policies
and the loader's BPxxx rules.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from blueprint.api import ValidateOptions, validate
from blueprint.finding import Finding, Report, Severity, Source
from blueprint.lint import lint_text

CORPUS = Path(__file__).resolve().parent / "corpus"
TEMPLATES = CORPUS / "templates"
TEMPLATE_FILES = sorted(p for p in TEMPLATES.iterdir() if p.suffix in (".yaml", ".yml", ".json"))

# The logical id of a finding's resource: the field is `resource_id` or
# `resource`, whichever Finding has. Without either, only (rule, line) can be
# compared, and the resource column of the table is left to the reader.
_FIELDS = {f.name for f in dataclasses.fields(Finding)}
RESOURCE_FIELD = next((name for name in ("resource_id", "resource") if name in _FIELDS), None)
COMPARES_RESOURCE = RESOURCE_FIELD is not None

Key = tuple[str, str | None, int]


def _expected_table() -> dict[str, list[dict[str, Any]]]:
    with open(CORPUS / "expected.yaml", encoding="utf-8") as handle:
        table: dict[str, list[dict[str, Any]]] = yaml.safe_load(handle)
    return table


EXPECTED = _expected_table()


def _key(rule: str, resource: str | None, line: int) -> Key:
    return (rule, resource if COMPARES_RESOURCE else None, line)


def _expected_keys(name: str) -> Counter[Key]:
    return Counter(_key(str(e["rule"]), e["resource"], int(e["line"])) for e in EXPECTED[name])


def _resource_of(finding: Finding) -> str | None:
    value = getattr(finding, RESOURCE_FIELD, None) if RESOURCE_FIELD else None
    return None if value is None else str(value)


def _actual_keys(findings: list[Finding]) -> Counter[Key]:
    return Counter(_key(f.rule_id, _resource_of(f), f.line) for f in findings)


@pytest.fixture(scope="module")
def corpus_report() -> Report:
    return validate([str(p) for p in TEMPLATE_FILES], ValidateOptions(lint=False, use_cache=False))


def _findings_of(report: Report, name: str) -> list[Finding]:
    return [f for f in report.findings
            if Path(f.file).name == name and f.source is not Source.LINT]


def _describe(key: Key) -> str:
    rule, resource, line = key
    where = f" {resource}" if resource else ""
    return f"line {line}: {rule}{where}"


def _diff(expected: Counter[Key], actual: Counter[Key], findings: list[Finding]) -> list[str]:
    """Missing, extra and duplicate findings; a missing and an extra one that
    differ only in resource or only in line are shown as one misplaced finding."""
    messages = {_key(f.rule_id, _resource_of(f), f.line): f.message for f in findings}
    missing = list((expected - actual).elements())
    extra = list((actual - expected).elements())
    lines = []
    for key in missing:
        rule, resource, line = key
        near = next((k for k in extra if k[0] == rule and (k[2] == line or k[1] == resource)),
                    None)
        if near is None:
            lines.append(f"  missing   {_describe(key)}")
            continue
        extra.remove(near)
        what = (f"resource {near[1]!r} instead of {resource!r}" if near[2] == line
                else f"line {near[2]} instead of {line}")
        lines.append(f"  misplaced {_describe(key)}: reported at {what}: {messages[near]}")
    for key in extra:
        kind = "duplicate" if expected[key] else "extra    "
        lines.append(f"  {kind} {_describe(key)}: {messages[key]}")
    return sorted(lines, key=lambda text: int(text.split("line ")[1].split(":")[0]))


def test_every_template_has_a_row_and_every_row_a_template() -> None:
    assert sorted(EXPECTED) == [p.name for p in TEMPLATE_FILES]
    assert len(TEMPLATE_FILES) >= 40


# One cfn-guard run over ~50 templates (and the SAM expansions) takes several
# seconds: the fixture runs once, but the tier is the slow one.
@pytest.mark.slow
@pytest.mark.parametrize("template", TEMPLATE_FILES, ids=lambda p: p.name)
def test_the_gate_reports_exactly_the_expected_findings(corpus_report: Report,
                                                        template: Path) -> None:
    findings = _findings_of(corpus_report, template.name)
    problems = _diff(_expected_keys(template.name), _actual_keys(findings), findings)
    compared = "(rule, resource, line)" if COMPARES_RESOURCE else "(rule, line)"
    assert not problems, (f"{template.name}: findings differ from tests/corpus/expected.yaml, "
                          f"compared as {compared}:\n" + "\n".join(problems))


_MARKER = re.compile(r"#\s*<-\s*(?P<rules>[A-Z0-9_, ]+)$")


@pytest.mark.parametrize("template", [p for p in TEMPLATE_FILES if p.suffix != ".json"],
                         ids=lambda p: p.name)
def test_markers_in_the_yaml_templates_agree_with_the_table(template: Path) -> None:
    """`# <- RULE` on a line of a YAML template marks an expected finding there."""
    marked: Counter[tuple[str, int]] = Counter()
    for number, text in enumerate(template.read_text(encoding="utf-8").splitlines(), 1):
        found = _MARKER.search(text)
        if found:
            marked.update((rule.strip(), number) for rule in found["rules"].split(","))
    tabled = Counter((str(e["rule"]), int(e["line"])) for e in EXPECTED[template.name])
    assert marked == tabled


@pytest.mark.slow
def test_the_templates_are_valid_cloudformation_as_cfn_lint_reads_it() -> None:
    """Teams' templates lint clean: no cfn-lint error, except the duplicate keys
    (E0000) of the templates that are about them."""
    errors = {}
    for template in TEMPLATE_FILES:
        allowed = {"E0000"} if any(e["rule"] == "BP003" for e in EXPECTED[template.name]) else set()
        found = [f"{m.line}: {m.rule_id} {m.message}"
                 for m in lint_text(template.read_text(encoding="utf-8"))
                 if m.severity is Severity.ERROR and m.rule_id not in allowed]
        if found:
            errors[template.name] = found
    assert errors == {}
