"""SAM templates are expanded locally and checked, not refused.

The policies run on aws-sam-translator's expansion; every finding is placed
in the template the user wrote (a generated resource at the SAM resource it
comes from, and the message says it is in the expansion). cfn-lint reads SAM
itself, on the original. Any other transform or macro stays BP008.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from blueprint import sam
from blueprint.api import ValidateOptions, validate
from blueprint.cli import main
from blueprint.finding import Finding
from blueprint.guard import RulePack
from blueprint.kinds import template_problems
from blueprint.loader import Document, load_text

FIXTURES = Path(__file__).parent / "fixtures"

SAM_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 10
Resources:
  Handler:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Policies:
        - AWSLambdaVPCAccessExecutionRole
      VpcConfig:
        SubnetIds: [subnet-0123456789abcdef0]
        SecurityGroupIds: [sg-0123456789abcdef0]
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        ImageId: ami-12345678
        InstanceType: c5.xlarge
        MetadataOptions:
          HttpTokens: optional
"""


def loaded(text: str) -> Document:
    doc, problems = load_text("sam.yml", text)
    assert doc is not None, problems
    return doc


def test_the_seeds_sam_parent_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUEPRINT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "parent.yml"
    shutil.copy(FIXTURES / "seed_sam_parent.yml", path)
    assert main(["validate", "--no-lint", str(path)]) == 0, capsys.readouterr().out


def test_a_policy_finding_in_a_sam_template_is_placed_in_the_original(tmp_path: Path) -> None:
    path = tmp_path / "sam.yml"
    path.write_text(SAM_TEMPLATE)
    report = validate([str(path)], ValidateOptions(lint=False, use_cache=False))
    assert [(f.rule_id, f.file, f.line, f.column) for f in report.findings] == [
        ("LAUNCH_TEMPLATE_IMDSV2_REQUIRED", str(path), 25, 23)]
    assert "SAM expansion" not in report.findings[0].message  # written as is: not generated


def test_a_sam_template_has_no_section_or_transform_finding() -> None:
    assert template_problems(loaded(SAM_TEMPLATE)) == []


@pytest.mark.parametrize(("text", "expected"), [
    # a macro: BP008 at the Transform, and no BP007 for a section the macro may read
    ("Transform: MyMacro\nMySection: {}\nResources: {}\n", [("BP008", 1)]),
    ("Transform:\n  - AWS::Serverless-2016-10-31\n  - AWS::LanguageExtensions\n"
     "Globals: {}\nResources: {}\n", [("BP008", 3)]),
    ("Transform: AWS::Serverless-2016-10-31\nResources:\n  B:\n    Type: AWS::S3::Bucket\n"
     "    Properties:\n      Fn::Transform: {Name: AWS::Include}\n", [("BP008", 6)]),
    # without the SAM transform, Globals is no section
    ("Globals: {}\nResources: {}\n", [("BP007", 1)]),
])
def test_other_transforms_stay_uncheckable(text: str, expected: list[tuple[str, int]]) -> None:
    assert [(p.rule_id, p.line) for p in template_problems(loaded(text))] == expected


def test_a_macro_finding_names_the_macro() -> None:
    [problem] = template_problems(loaded("Transform: MyMacro\nResources: {}\n"))
    assert "'MyMacro'" in problem.message


def test_generated_resources_are_placed_at_the_sam_resource_they_come_from() -> None:
    doc = loaded(SAM_TEMPLATE)
    expansion, problems = sam.expand(doc, "eu-west-1")
    assert problems == [] and expansion is not None
    assert expansion.generated == {"Handler", "HandlerRole"}
    at = expansion.positions.location
    # the same property path in the SAM resource
    assert at(("Resources", "Handler", "Properties", "VpcConfig", "SubnetIds", 0)).line == 16
    # a property the SAM resource takes from Globals
    assert at(("Resources", "Handler", "Properties", "Timeout")).line == 5
    # a generated resource with nothing written for it: the SAM resource's Properties line
    assert at(("Resources", "HandlerRole", "Properties", "ManagedPolicyArns", 0)).line == 9
    assert at(("Resources", "HandlerRole"), key=True).line == 9
    # a resource written as is keeps its own lines
    assert at(("Resources", "Template", "Properties", "LaunchTemplateData", "InstanceType")) \
        .line == 23
    assert expansion.note("HandlerRole") == " (in the SAM expansion: HandlerRole)"
    assert expansion.note("Template") == ""


ROLE_RULE = """\
let roles = Resources.*[ Type == 'AWS::IAM::Role' ]
rule ROLE_PERMISSIONS_BOUNDARY when %roles !empty {
  %roles.Properties.PermissionsBoundary exists
  <<every role needs a permissions boundary>>
}
"""


def test_a_finding_on_a_generated_resource_says_so(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "roles.guard").write_text(ROLE_RULE)
    path = tmp_path / "sam.yml"
    path.write_text(SAM_TEMPLATE)
    report = validate([str(path)], ValidateOptions(
        lint=False, use_cache=False, rule_packs=(RulePack(rules, mandatory=True),)))
    [finding] = report.findings
    assert finding.rule_id == "ROLE_PERMISSIONS_BOUNDARY"
    assert (finding.file, finding.line) == (str(path), 9)  # Handler's Properties:
    assert finding.message.endswith("(in the SAM expansion: HandlerRole)")


def test_a_template_the_translator_rejects_is_bp008_at_the_transform(tmp_path: Path) -> None:
    path = tmp_path / "sam.yml"
    path.write_text("Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n"
                    "    Type: AWS::Serverless::Function\n    Properties:\n"
                    "      Runtime: python3.12\n      Handler: a.b\n      CodeUri: src/\n"
                    "      Events:\n        E:\n          Type: NoSuchEvent\n")
    report = validate([str(path)], ValidateOptions(lint=False, use_cache=False))
    assert [(f.rule_id, f.line) for f in report.findings] == [("BP008", 1)]
    assert "SAM transform cannot expand" in report.findings[0].message


def test_expansion_runs_on_a_cache_miss_only_and_the_key_covers_the_translator(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUEPRINT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "sam.yml"
    path.write_text(SAM_TEMPLATE)
    expansions: list[str] = []
    real_expand = sam.expand

    def counted(doc: Document, region: str) -> tuple[sam.Expansion | None, list[Finding]]:
        expansions.append(doc.file)
        return real_expand(doc, region)

    monkeypatch.setattr(sam, "expand", counted)
    options = ValidateOptions(lint=False)
    first = validate([str(path)], options)
    second = validate([str(path)], options)
    assert len(expansions) == 1, "a cache hit must not load the translator"
    assert second.findings == first.findings
    monkeypatch.setattr(sam, "translator_version", lambda: "another translator")
    validate([str(path)], options)
    assert len(expansions) == 2


@pytest.mark.slow  # cfn-lint builds its rules: seconds
def test_cfn_lint_checks_the_sam_original_without_repeating_guard(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUEPRINT_CACHE_DIR", str(tmp_path / "cache"))
    parent = tmp_path / "parent.yml"
    shutil.copy(FIXTURES / "seed_sam_parent.yml", parent)
    path = tmp_path / "sam.yml"
    path.write_text(SAM_TEMPLATE)
    report = validate([str(parent), str(path)], ValidateOptions(use_cache=False))
    assert [(f.rule_id, f.file, f.line) for f in report.findings] == [
        ("LAUNCH_TEMPLATE_IMDSV2_REQUIRED", str(path), 25)]


def test_without_the_translator_a_sam_template_cannot_be_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    monkeypatch.setenv("BLUEPRINT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(sys.modules, "samtranslator.translator.translator", None)
    path = tmp_path / "sam.yml"
    path.write_text(SAM_TEMPLATE)
    assert main(["validate", "--no-lint", str(path)]) == 2
    assert "aws-sam-translator" in capsys.readouterr().err


def test_an_alias_parameter_without_a_default_still_expands() -> None:
    doc = loaded("Transform: AWS::Serverless-2016-10-31\nParameters:\n  Alias:\n"
                 "    Type: String\nGlobals:\n  Function:\n    AutoPublishAlias: !Ref Alias\n"
                 "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                 "      Runtime: python3.12\n      Handler: a.b\n      CodeUri: ./src\n")
    expansion, problems = sam.expand(doc, "us-east-1")
    assert problems == [] and expansion is not None
    assert any(rid.startswith("FAlias") for rid in expansion.generated)


SAR_APPLICATION = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  ThirdPartyApp:
    Type: AWS::Serverless::Application
    Properties:
      Location:
        ApplicationId: arn:aws:serverlessrepo:us-east-1:123456789012:applications/some-app
        SemanticVersion: 1.0.0
"""


def test_a_serverless_repository_application_is_bp008_at_its_location(tmp_path: Path) -> None:
    """Its template cannot be fetched offline: what it deploys was never checked."""
    path = tmp_path / "sam.yml"
    path.write_text(SAR_APPLICATION)
    report = validate([str(path)], ValidateOptions(lint=False, use_cache=False))
    assert [(f.rule_id, f.line, f.resource) for f in report.findings] == [
        ("BP008", 6, "ThirdPartyApp")]
    assert "ThirdPartyApp" in report.findings[0].message
    assert "Serverless Application Repository" in report.findings[0].message
