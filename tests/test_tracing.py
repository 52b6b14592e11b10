"""Findings on templates, traced back to the line the user wrote."""

from __future__ import annotations

from blueprint.expander import Rendering
from blueprint.finding import Location, Severity, Source
from blueprint.guard import GuardViolation
from blueprint.lint import LintMatch
from blueprint.loader import Document, load_text
from blueprint.tracing import Origin, guard_finding, lint_findings, pointer_at, pointer_path

TEMPLATE = """\
Resources:
  Lt:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        InstanceType: t2.micro
"""
BLUEPRINT = """\
blueprint: v1
name: demo
cluster:
  instanceType: t2.micro
service:
  image: nginx
"""
POINTER = "/Resources/Lt/Properties/LaunchTemplateData/InstanceType"


def doc(name: str, text: str) -> Document:
    loaded, problems = load_text(name, text)
    assert loaded is not None, problems
    return loaded


def violation(pointer: str = POINTER) -> GuardViolation:
    return GuardViolation("/tmp/x/cluster.yml", "INSTANCE_TYPE_ALLOWED", pointer,
                          "not on the list", 0, 0)


def test_pointer_path_unescapes_and_indexes() -> None:
    assert pointer_path("/a~1b/c~0d/0/x") == ("a/b", "c~d", 0, "x")
    assert pointer_path("") == () and pointer_path("/") == ()


def test_pointer_at_names_the_deepest_value_on_a_line() -> None:
    assert pointer_at(doc("t.yml", TEMPLATE), 6) == POINTER
    assert pointer_at(doc("t.yml", TEMPLATE), 99) == ""


def test_a_template_finding_stays_in_the_template() -> None:
    template = doc("templates/cluster.yml", TEMPLATE)
    finding = guard_finding(Origin(template), "cluster.yml", template, violation(),
                            mandatory=True)
    assert finding.location == Location("templates/cluster.yml", 6, 23)
    assert finding.severity is Severity.ERROR and finding.rendered_location is None


def test_a_rendered_finding_points_at_the_blueprint_field_that_produced_it() -> None:
    blueprint = doc("b.blueprint.yml", BLUEPRINT)
    rendered = doc("cluster.yml", TEMPLATE)
    rendering = Rendering({}, {"cluster.yml": TEMPLATE},
                          {"cluster.yml": [("/Resources/Lt", "cluster.instanceType")]})
    finding = guard_finding(Origin(blueprint, rendering), "cluster.yml", rendered, violation(),
                            mandatory=False, hint="pick another")
    assert finding.location == Location("b.blueprint.yml", 4, 3)
    assert finding.rendered_location == Location("cluster.yml", 6, 23)
    assert finding.blueprint_path == "cluster.instanceType"
    assert finding.severity is Severity.WARNING and finding.hint == "pick another"
    assert finding.message.endswith("(rendered cluster.yml)")


def test_a_rendered_finding_no_field_explains_points_at_the_top() -> None:
    blueprint = doc("b.blueprint.yml", BLUEPRINT)
    rendered = doc("cluster.yml", TEMPLATE)
    finding = guard_finding(Origin(blueprint, Rendering({}, {}, {})), "cluster.yml", rendered,
                            violation(), mandatory=True)
    assert finding.location == Location("b.blueprint.yml", 1, 1)
    assert finding.blueprint_path is None
    assert finding.rendered_location == Location("cluster.yml", 6, 23)


def test_a_lint_match_is_traced_by_its_line() -> None:
    blueprint = doc("b.blueprint.yml", BLUEPRINT)
    rendered = doc("cluster.yml", TEMPLATE)
    rendering = Rendering({}, {"cluster.yml": TEMPLATE},
                          {"cluster.yml": [("/Resources/Lt", "cluster.instanceType")]})
    [finding] = lint_findings(Origin(blueprint, rendering), "cluster.yml", rendered,
                              (LintMatch("E3012", Severity.ERROR, "bad type", 6, 9),))
    assert finding.source is Source.LINT
    assert finding.location == Location("b.blueprint.yml", 4, 3)
    assert finding.rendered_location == Location("cluster.yml", 6, 9)
