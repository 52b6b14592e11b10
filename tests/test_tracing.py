"""Findings on templates, traced back to the line the user wrote."""

from __future__ import annotations

from blueprint.expander import Rendering
from blueprint.finding import Finding, Location, Severity, Source
from blueprint.guard import GuardViolation
from blueprint.lint import LintMatch
from blueprint.loader import Document, load_text
from blueprint.tracing import (
    Origin,
    guard_finding,
    lint_findings,
    name_subjects,
    node_location,
    pointer_at,
    pointer_path,
    subject,
)

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


DEEP = """\
Parameters:
  InstanceType:
    Description: the type
    Type: String
    Default: c5.xlarge
Resources:
  Bare:
    Type: AWS::EC2::Instance
  Lt:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateName: lt
      LaunchTemplateData:
        ImageId: ami-1
        NetworkInterfaces:
          - DeviceIndex: 0
            AssociatePublicIpAddress: true
        SecurityGroupIds:
          - !Ref Sg
  Service:
    Type: AWS::ECS::Service
    Properties:
      NetworkConfiguration:
        AwsvpcConfiguration:
          Subnets: !Split [',', !Ref Subnets]
"""


def deep_line(text: str) -> int:
    [number] = [n for n, line in enumerate(DEEP.splitlines(), start=1) if text in line]
    return number


def test_a_missing_property_is_at_the_resources_properties_key() -> None:
    template = doc("t.yml", DEEP)
    data = "/Resources/Lt/Properties/LaunchTemplateData"
    properties = deep_line("LaunchTemplateName:") - 1
    assert node_location(template, data, "MetadataOptions.HttpTokens").line == properties
    assert node_location(template, "/Resources/Lt/Properties", "ImageId").line == properties
    assert node_location(template, "/Resources/Lt").line == properties
    assert node_location(template, "/Resources/Bare", "Properties.InstanceType").line == \
        deep_line("Type: AWS::EC2::Instance")  # no Properties: the Type line


def test_a_missing_property_deep_in_a_list_is_at_the_properties_key_too() -> None:
    template = doc("t.yml", DEEP)
    interface = "/Resources/Lt/Properties/LaunchTemplateData/NetworkInterfaces/0"
    assert node_location(template, interface, "Groups").line == \
        deep_line("LaunchTemplateName:") - 1


def test_a_wrong_mapping_is_at_its_key_not_its_first_entry() -> None:
    template = doc("t.yml", DEEP)
    assert node_location(template, "/Resources/Lt/Properties/LaunchTemplateData").line == \
        deep_line("LaunchTemplateData:")
    assert node_location(template, "/Parameters/InstanceType").line == \
        deep_line("  InstanceType:")  # not its first key, Description


def test_a_wrong_value_is_where_it_is_written() -> None:
    template = doc("t.yml", DEEP)
    subnets = "/Resources/Service/Properties/NetworkConfiguration/AwsvpcConfiguration/Subnets"
    assert node_location(template, subnets) == Location("t.yml", deep_line("!Split"), 20)
    groups = "/Resources/Lt/Properties/LaunchTemplateData/SecurityGroupIds"
    assert node_location(template, groups).line == deep_line("SecurityGroupIds:")
    assert node_location(template, f"{groups}/0").line == deep_line("- !Ref Sg")
    assert node_location(template, "/Resources/Lt/Properties/LaunchTemplateData/"
                                   "NetworkInterfaces/0").line == deep_line("- DeviceIndex")


def test_a_guard_finding_names_its_resource_and_property_path() -> None:
    template = doc("t.yml", DEEP)
    missing = GuardViolation("t.yml", "LAUNCH_TEMPLATE_IMDSV2_REQUIRED",
                             "/Resources/Lt/Properties/LaunchTemplateData", "no tokens", 0, 0,
                             "MetadataOptions.HttpTokens")
    finding = guard_finding(Origin(template), "t.yml", template, missing, mandatory=True)
    assert finding.line == deep_line("LaunchTemplateName:") - 1  # the Properties: key
    assert (finding.resource, finding.property_path) == (
        "Lt", "Properties.LaunchTemplateData.MetadataOptions.HttpTokens")
    assert finding.subject == "Lt.Properties.LaunchTemplateData.MetadataOptions.HttpTokens"


def test_subject_of_pointers() -> None:
    assert subject("/Resources/Sg/Properties/SecurityGroupIngress/0/CidrIp") == (
        "Sg", "Properties.SecurityGroupIngress[0].CidrIp")
    assert subject("/Parameters/InstanceType", "AllowedValues") == (
        None, "Parameters.InstanceType.AllowedValues")  # a parameter is not a resource
    assert subject("/Resources/Bare", "Properties.InstanceType") == (
        "Bare", "Properties.InstanceType")
    assert subject("/Resources/Bare") == ("Bare", None)
    assert subject("") == (None, None)


def test_a_lint_match_names_the_resource_on_its_line() -> None:
    template = doc("t.yml", DEEP)
    [finding] = lint_findings(Origin(template), "t.yml", template,
                              (LintMatch("E3012", Severity.ERROR, "bad", deep_line("!Split"),
                                         11),))
    assert finding.location == Location("t.yml", deep_line("!Split"), 11)  # cfn-lint's own
    assert (finding.resource, finding.property_path) == (
        "Service", "Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets")


def test_a_missing_property_is_traced_to_the_blueprint_field_that_would_set_it() -> None:
    blueprint = doc("b.blueprint.yml", BLUEPRINT)
    rendered = doc("cluster.yml", TEMPLATE)
    rendering = Rendering({}, {"cluster.yml": TEMPLATE}, {"cluster.yml": [
        ("/Resources/Lt/Properties/LaunchTemplateData/MetadataOptions", "cluster.instanceType")]})
    missing = GuardViolation("/tmp/x/cluster.yml", "LAUNCH_TEMPLATE_IMDSV2_REQUIRED",
                             "/Resources/Lt/Properties/LaunchTemplateData", "no tokens", 0, 0,
                             "MetadataOptions.HttpTokens")
    finding = guard_finding(Origin(blueprint, rendering), "cluster.yml", rendered, missing,
                            mandatory=True)
    assert finding.blueprint_path == "cluster.instanceType"
    assert finding.location == Location("b.blueprint.yml", 4, 3)
    assert finding.rendered_location == Location("cluster.yml", 4, 5)  # Properties:


def test_findings_made_without_a_pointer_are_named_by_their_line() -> None:
    template = doc("t.yml", DEEP + "Outputs:\n  Url:\n    Value: x\n")
    lines = len(DEEP.splitlines())
    duplicate = Finding(Source.LOADER, "BP003", Severity.ERROR,
                        Location("t.yml", deep_line("ImageId:"), 9), "duplicate key")
    output = Finding(Source.LOADER, "BP003", Severity.ERROR, Location("t.yml", lines + 3, 5),
                     "duplicate key")
    elsewhere = Finding(Source.LOADER, "BP003", Severity.ERROR, Location("o.yml", 14, 9), "dup")
    named = name_subjects([duplicate, output, elsewhere], template)
    assert [(f.resource, f.property_path) for f in named] == [
        ("Lt", "Properties.LaunchTemplateData.ImageId"), (None, "Outputs.Url.Value"),
        (None, None)]
