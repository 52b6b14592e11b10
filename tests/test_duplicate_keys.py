"""A duplicate key is a finding, and every other finding still shows in the same run.

CloudFormation accepts a template with a repeated key, in YAML and in JSON
alike, and reads the last occurrence (the earlier ones are dropped without a
word). So each repetition is a BP003 error at its own line, and the policies
and cfn-lint run on that last-wins reading, never stopping at the first
duplicate.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from blueprint.api import ValidateOptions, check_blueprint, validate
from blueprint.finding import Finding
from blueprint.loader import MAX_DUPLICATES, load_text

YAML_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: first
Resources:
  LaunchConfig:
    Type: AWS::AutoScaling::LaunchConfiguration
    Properties:
      ImageId: ami-12345678
      InstanceType: t3.micro
      InstanceType: t2.micro
      MetadataOptions:
        HttpTokens: optional
Description: second
"""

JSON_TEMPLATE = """\
{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Description": "first",
  "Resources": {
    "LaunchConfig": {
      "Type": "AWS::AutoScaling::LaunchConfiguration",
      "Properties": {
        "ImageId": "ami-12345678",
        "InstanceType": "t3.micro",
        "InstanceType": "t2.micro",
        "MetadataOptions": {"HttpTokens": "optional"}
      }
    }
  },
  "Description": "second"
}
"""


def rule_lines(findings: tuple[Finding, ...]) -> list[tuple[str, int]]:
    return sorted((f.rule_id, f.line) for f in findings)


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("dups.yml", YAML_TEMPLATE, [("BP003", 9), ("BP003", 12), ("INSTANCE_TYPE_ALLOWED", 9),
                                 ("LAUNCH_CONFIGURATION_IMDSV2_REQUIRED", 11)]),
    ("dups.json", JSON_TEMPLATE, [("BP003", 10), ("BP003", 15), ("INSTANCE_TYPE_ALLOWED", 10),
                                  ("LAUNCH_CONFIGURATION_IMDSV2_REQUIRED", 11)]),
])
def test_two_duplicates_and_two_policy_violations_all_show_in_one_run(
        tmp_path: Path, name: str, text: str, expected: list[tuple[str, int]]) -> None:
    path = tmp_path / name
    path.write_text(text)
    report = validate([str(path)], ValidateOptions(lint=False, use_cache=False))
    assert rule_lines(report.findings) == expected
    assert report.exit_code() == 1
    duplicate = next(f for f in report.findings if f.rule_id == "BP003" and f.line < 12)
    assert "'InstanceType'" in duplicate.message and f"line {expected[0][1] - 1}" in \
        duplicate.message
    assert duplicate.hint is not None and "CloudFormation reads the last" in duplicate.hint


@pytest.mark.slow  # cfn-lint builds its rules: seconds
def test_cfn_lint_reads_the_last_wins_text_and_does_not_repeat_the_duplicate(
        tmp_path: Path) -> None:
    path = tmp_path / "dups.yml"
    path.write_text(YAML_TEMPLATE)
    report = validate([str(path)], ValidateOptions(use_cache=False))
    assert [f for f in report.findings if f.rule_id == "E0000"] == []
    assert {"BP003", "INSTANCE_TYPE_ALLOWED", "LAUNCH_CONFIGURATION_IMDSV2_REQUIRED"} <= \
        {f.rule_id for f in report.findings}


def test_every_repetition_is_reported_even_when_the_file_is_refused() -> None:
    doc, findings = load_text("t.yml", "a: 1\nb: 2\na: 3\nb: 4\na: 5\n")
    assert doc is None
    assert [(f.rule_id, f.line) for f in findings] == [("BP003", 3), ("BP003", 4),
                                                        ("BP003", 5)]


@pytest.mark.parametrize("text", [
    "a: 1\nb:\n  c: [1, 2]\n  d: x\n  c:\n    - 3\na: {x: 1, x: 2}\n",
    '{"a": 1, "b": {"c": 1, "c": [2]}, "a": 3}\n',
    "l:\n  - k: 1\n    k: 2\n  - {k: 1, j: 2, k: 3}\n",
])
def test_the_last_wins_text_reads_as_the_last_wins_document_at_the_same_lines(text: str) -> None:
    doc, findings = load_text("t.yml", text, last_wins=True)
    assert doc is not None and findings
    blanked = doc.last_wins_text()
    assert blanked.count("\n") == text.count("\n")
    again, problems = load_text("t.yml", blanked)
    assert problems == [] and again is not None
    assert again.data == doc.data
    assert again.positions.keys == doc.positions.keys


def test_the_last_occurrence_is_the_one_read_and_positioned() -> None:
    doc, _ = load_text("t.yml", "a:\n  b: 1\na:\n  c: 2\n", last_wins=True)
    assert doc is not None
    assert doc.data == {"a": {"c": 2}}
    assert doc.location(("a", "c")).line == 4
    assert ("a", "b") not in doc.positions.values


def test_the_number_of_duplicates_is_bounded() -> None:
    text = "".join("k: 1\n" for _ in range(MAX_DUPLICATES + 5))
    doc, findings = load_text("t.yml", text, last_wins=True)
    assert doc is None
    assert findings[-1].rule_id == "BP003" and "more than" in findings[-1].message


BLUEPRINT = textwrap.dedent("""\
    blueprint: v1
    name: demo
    service:
      image: public.ecr.aws/docker/library/nginx:1.27
    name: demo
    """)


def test_a_blueprint_with_a_duplicate_key_fails_but_is_still_checked(tmp_path: Path) -> None:
    path = tmp_path / "dup.blueprint.yml"
    path.write_text(BLUEPRINT)
    checked = check_blueprint(str(path), ValidateOptions(lint=False, use_cache=False))
    assert rule_lines(checked.report.findings) == [("BP003", 5)]
    assert checked.report.exit_code() == 1  # a deploy refuses it
    # otherwise schema-valid: rendered and policy-checked on the last-wins reading
    assert checked.rendering is not None


def test_render_refuses_a_blueprint_with_a_duplicate_key(tmp_path: Path) -> None:
    from blueprint.api import load_blueprint

    path = tmp_path / "dup.blueprint.yml"
    path.write_text(BLUEPRINT)
    _, blueprint, findings = load_blueprint(str(path))
    assert blueprint is None
    assert [(f.rule_id, f.line) for f in findings] == [("BP003", 5)]
