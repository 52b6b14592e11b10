"""Blueprint, template or neither: by content, never by name."""

from __future__ import annotations

import pytest

from blueprint.kinds import (
    BLUEPRINT,
    TEMPLATE,
    kind_of,
    not_a_blueprint,
    template_not_blueprint,
    template_problems,
)
from blueprint.loader import Document, load_text


def doc(text: str, name: str = "file.yml") -> Document:
    loaded, problems = load_text(name, text)
    assert loaded is not None, problems
    return loaded


@pytest.mark.parametrize(("text", "kind"), [
    ("blueprint: v1\nname: x\n", BLUEPRINT),
    ("Resources: {}\n", TEMPLATE),
    ("AWSTemplateFormatVersion: '2010-09-09'\n", TEMPLATE),
    ("{\"Resources\": {\"B\": {\"Type\": \"AWS::S3::Bucket\"}}}\n", TEMPLATE),
    ("name: x\n", None),
])
def test_kind_by_content(text: str, kind: str | None) -> None:
    assert kind_of(doc(text, "named-like-a.blueprint.yml")) == kind


def test_neither_and_template_for_a_blueprint_command_are_bp006() -> None:
    assert not_a_blueprint(doc("name: x\n")).rule_id == "BP006"
    finding = template_not_blueprint(doc("Resources: {}\n"))
    assert finding.rule_id == "BP006" and "template" in finding.message


def test_unknown_sections_and_transforms_make_a_template_uncheckable() -> None:
    template = doc("Resources:\n  B:\n    Type: AWS::S3::Bucket\nResource: {}\n"
                   "Transform: AWS::Serverless-2016-10-31\n")
    problems = template_problems(template)
    assert sorted((p.rule_id, p.line) for p in problems) == [("BP007", 4)]
    macro = doc("Resources: {}\nTransform: [AWS::Serverless-2016-10-31, Macro]\n")
    assert [(p.rule_id, p.line) for p in template_problems(macro)] == [("BP008", 2)]


def test_a_sam_template_may_have_globals_and_a_macro_silences_section_findings() -> None:
    sam_template = doc("Transform: AWS::Serverless-2016-10-31\nGlobals: {}\nResources: {}\n")
    assert template_problems(sam_template) == []
    macro = doc("Transform: Macro\nGlobals: {}\nOwnSection: {}\nResources: {}\n")
    assert [p.rule_id for p in template_problems(macro)] == ["BP008"]


def test_an_inline_fn_transform_is_found_anywhere() -> None:
    template = doc("Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n"
                   "      Fn::Transform: {Name: AWS::Include}\n")
    assert [(p.rule_id, p.line) for p in template_problems(template)] == [("BP008", 5)]


def test_a_plain_template_has_no_problems() -> None:
    assert template_problems(doc("Resources:\n  B:\n    Type: AWS::S3::Bucket\n")) == []
