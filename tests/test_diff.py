"""`blueprint diff`: replacement decided offline from create-only properties, update
policies and the references that carry a new physical id across resources and stacks."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from blueprint.api import load_blueprint, render
from blueprint.commands import diff as diff_command
from blueprint.diff import Action, StackDiff, diff_renderings, diff_templates
from blueprint.diff.resolve import Side, Token
from blueprint.diff.schemas import create_only, custom_name_property, values_at
from blueprint.errors import EXIT_CANNOT_CHECK, BlueprintError, UsageError
from blueprint.expander import Rendering

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SEED = (EXAMPLES / "seed.blueprint.yml").read_text(encoding="utf-8")

ASG = "AWS::AutoScaling::AutoScalingGroup"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"


def parent_only(resources: dict[str, Any], parameters: dict[str, Any] | None = None
                ) -> dict[str, Any]:
    template: dict[str, Any] = {"Resources": resources}
    if parameters:
        template["Parameters"] = parameters
    return {"parent.yml": template}


def rendering(templates: dict[str, Any]) -> Rendering:
    return Rendering(templates=templates, texts={})


def change(diff: StackDiff, logical_id: str, stack: str = "parent") -> Any:
    found = diff.find(stack, logical_id)
    assert found is not None, f"{stack} {logical_id} not in {[c.logical_id for c in diff.changes]}"
    return found


# --- create-only properties from cfn-lint's bundled schemas ---------------------------

def test_create_only_paths_come_from_the_bundled_schemas() -> None:
    assert "Port" in create_only(TARGET_GROUP).always
    assert "AutoScalingGroupProvider/AutoScalingGroupArn" in \
        create_only("AWS::ECS::CapacityProvider").always
    assert "LaunchTemplate" in create_only(ASG).conditional
    assert create_only("Custom::Anything").always == ()
    assert values_at({"A": [{"B": 1}, {"B": 2}]}, "A/*/B") == [1, 2]
    assert custom_name_property("AWS::ECS::Service") == "ServiceName"
    assert custom_name_property(TARGET_GROUP) == "Name"
    assert custom_name_property("AWS::ECS::TaskDefinition") is None


def test_target_group_port_change_is_a_loud_replacement_naming_port() -> None:
    def templates(port: int) -> dict[str, Any]:
        return parent_only({"TargetGroup": {"Type": TARGET_GROUP, "Properties": {
            "Port": port, "Protocol": "HTTP", "HealthCheckPath": "/"}}})

    diff = diff_renderings(rendering(templates(80)), rendering(templates(8080)))
    target_group = change(diff, "TargetGroup")
    assert target_group.action is Action.REPLACED
    assert target_group.forced_by == ("Port",)
    assert "Port is create-only (80 -> 8080)" in target_group.reasons
    assert target_group.loud and not target_group.will_fail
    assert diff.blocking == [target_group]


def test_an_in_place_change_is_modified() -> None:
    def templates(path: str) -> dict[str, Any]:
        return parent_only({"TargetGroup": {"Type": TARGET_GROUP, "Properties": {
            "Port": 80, "HealthCheckPath": path}}})

    diff = diff_templates(templates("/"), templates("/health"))
    assert change(diff, "TargetGroup").action is Action.MODIFIED
    assert change(diff, "TargetGroup").changed == ("HealthCheckPath",)
    assert diff.blocking == []


# --- Auto Scaling group: update policy decides --------------------------------------

def cluster(instance_type: str, policy: dict[str, Any]) -> dict[str, Any]:
    return parent_only({
        "Instances": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
            "LaunchTemplateData": {"InstanceType": {"Ref": "InstanceType"}}}},
        "Group": {"Type": ASG, "UpdatePolicy": policy, "Properties": {
            "MinSize": "0", "MaxSize": "10", "VPCZoneIdentifier": ["subnet-1"],
            "LaunchTemplate": {"LaunchTemplateId": {"Ref": "Instances"},
                               "Version": {"Fn::GetAtt": ["Instances", "LatestVersionNumber"]}}}},
        "Provider": {"Type": "AWS::ECS::CapacityProvider", "Properties": {
            "AutoScalingGroupProvider": {"AutoScalingGroupArn": {"Ref": "Group"},
                                         "ManagedTerminationProtection": "ENABLED"}}},
        "Association": {"Type": "AWS::ECS::ClusterCapacityProviderAssociations", "Properties": {
            "Cluster": "c", "CapacityProviders": [{"Ref": "Provider"}],
            "DefaultCapacityProviderStrategy": [{"CapacityProvider": {"Ref": "Provider"}}]}},
    }, parameters={"InstanceType": {"Type": "String", "Default": instance_type}})


WILL_REPLACE = {"AutoScalingReplacingUpdate": {"WillReplace": True}}
INSTANCE_REFRESH = {"AutoScalingInstanceRefresh": {"Strategy": "Rolling"}}


def test_will_replace_replaces_the_group_and_by_propagation_the_capacity_provider() -> None:
    diff = diff_templates(cluster("c5.large", WILL_REPLACE), cluster("c5.xlarge", WILL_REPLACE))
    assert change(diff, "Instances").action is Action.MODIFIED
    group = change(diff, "Group")
    assert group.action is Action.REPLACED and group.loud
    assert group.forced_by == ("LaunchTemplate",)
    assert "WillReplace" in group.reasons[0]
    provider = change(diff, "Provider")
    assert provider.action is Action.REPLACED and provider.loud
    assert provider.forced_by == ("AutoScalingGroupProvider/AutoScalingGroupArn",)
    assert "because Group is replaced" in provider.reasons[0]
    assert change(diff, "Association").action is Action.MODIFIED


def test_instance_refresh_rolls_instances_and_keeps_the_capacity_provider() -> None:
    diff = diff_templates(cluster("c5.large", INSTANCE_REFRESH),
                          cluster("c5.xlarge", INSTANCE_REFRESH))
    group = change(diff, "Group")
    assert group.action is Action.MODIFIED and group.rolls_instances
    assert "AutoScalingInstanceRefresh" in group.reasons[0]
    assert diff.find("parent", "Provider") is None
    assert diff.replacements == [] and diff.blocking == []


def test_rolling_update_also_modifies_in_place() -> None:
    rolling = {"AutoScalingRollingUpdate": {"MaxBatchSize": 1}}
    diff = diff_templates(cluster("c5.large", rolling), cluster("c5.xlarge", rolling))
    assert change(diff, "Group").rolls_instances
    assert diff.replacements == []


def test_changing_the_update_policy_with_a_trigger_warns_about_rollback() -> None:
    diff = diff_templates(cluster("c5.large", WILL_REPLACE), cluster("c5.xlarge", INSTANCE_REFRESH))
    assert change(diff, "Group").rolls_instances
    assert "UpdatePolicy" in change(diff, "Group").changed
    assert len(diff.warnings) == 1 and "rolls back" in diff.warnings[0]
    assert "WillReplace, would replace the group" in diff.warnings[0]
    policy_only = diff_templates(cluster("c5.large", WILL_REPLACE),
                                 cluster("c5.large", INSTANCE_REFRESH))
    assert change(policy_only, "Group").changed == ("UpdatePolicy",)
    assert policy_only.warnings == ()


# --- custom names ---------------------------------------------------------------------

def service_on(cluster_name: str, service_name: Any) -> dict[str, Any]:
    return parent_only({
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": cluster_name}},
        "Service": {"Type": "AWS::ECS::Service", "Properties": {
            "Cluster": {"Ref": "Cluster"}, "ServiceName": service_name, "DesiredCount": 1}},
    })


def test_a_replaced_service_that_keeps_its_name_will_fail() -> None:
    diff = diff_templates(service_on("one", "web"), service_on("two", "web"))
    cluster_change = change(diff, "Cluster")
    assert cluster_change.action is Action.REPLACED and not cluster_change.will_fail
    service = change(diff, "Service")
    assert service.action is Action.REPLACED and service.will_fail
    assert service.forced_by == ("Cluster",)
    assert any("ServiceName stays web" in r for r in service.reasons)
    assert service in diff.blocking


def test_a_replaced_service_with_a_new_name_or_no_name_does_not_fail() -> None:
    renamed = diff_templates(service_on("one", "web"), service_on("two", "api"))
    assert not change(renamed, "Service").will_fail
    unnamed = diff_templates(service_on("one", {"Ref": "AWS::NoValue"}),
                             service_on("two", {"Ref": "AWS::NoValue"}))
    assert change(unnamed, "Service").action is Action.REPLACED
    assert not change(unnamed, "Service").will_fail


def test_a_conditionally_create_only_change_may_replace() -> None:
    def templates(launch_type: str) -> dict[str, Any]:
        return parent_only({"Service": {"Type": "AWS::ECS::Service", "Properties": {
            "LaunchType": launch_type, "DesiredCount": 1}}})

    service = change(diff_templates(templates("EC2"), templates("FARGATE")), "Service")
    assert service.action is Action.MODIFIED and service.may_replace
    assert service.forced_by == ("LaunchType",)


def test_a_sub_reference_to_a_replaced_resource_changes_the_value() -> None:
    def templates(cluster_name: str) -> dict[str, Any]:
        return parent_only({
            "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": cluster_name}},
            "Instances": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
                "LaunchTemplateData": {"UserData": {"Fn::Base64": {
                    "Fn::Sub": "echo ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config"}}}}}})

    diff = diff_templates(templates("one"), templates("two"))
    instances = change(diff, "Instances")
    assert instances.action is Action.MODIFIED
    assert instances.reasons == ("LaunchTemplateData changes because Cluster is replaced",)


# --- nested stacks ----------------------------------------------------------------------

def nested(cidr: str) -> dict[str, Any]:
    parent = {"Resources": {
        "VpcStack": {"Type": "AWS::CloudFormation::Stack", "Properties": {
            "TemplateURL": "vpc.yml", "Parameters": {"VpcCidr": cidr}}},
        "ServiceStack": {"Type": "AWS::CloudFormation::Stack", "Properties": {
            "TemplateURL": "service.yml",
            "Parameters": {"VpcId": {"Fn::GetAtt": ["VpcStack", "Outputs.VpcId"]},
                           "ContainerPort": "80"}}}}}
    vpc = {"Parameters": {"VpcCidr": {"Type": "String"}},
           "Resources": {"VPC": {"Type": "AWS::EC2::VPC",
                                 "Properties": {"CidrBlock": {"Ref": "VpcCidr"}}}},
           "Outputs": {"VpcId": {"Value": {"Ref": "VPC"}}}}
    service = {"Parameters": {"VpcId": {"Type": "AWS::EC2::VPC::Id"},
                              "ContainerPort": {"Type": "Number"}},
               "Resources": {"TargetGroup": {"Type": TARGET_GROUP, "Properties": {
                   "VpcId": {"Ref": "VpcId"}, "Port": {"Ref": "ContainerPort"}}}}}
    return {"parent.yml": parent, "vpc.yml": vpc, "service.yml": service}


def test_a_replacement_propagates_through_child_outputs_and_parent_parameters() -> None:
    diff = diff_templates(nested("10.0.0.0/16"), nested("10.1.0.0/16"))
    assert diff.stacks == ("parent", "VpcStack", "ServiceStack")
    assert change(diff, "VPC", "VpcStack").forced_by == ("CidrBlock",)
    target_group = change(diff, "TargetGroup", "ServiceStack")
    assert target_group.action is Action.REPLACED
    assert target_group.forced_by == ("VpcId",)
    assert target_group.reasons == ("VpcId is create-only and changes because VPC is replaced",)
    assert change(diff, "VpcStack").changed == ("Parameters/VpcCidr",)
    assert change(diff, "ServiceStack").changed == ("Parameters/VpcId",)


def test_a_child_template_change_alone_modifies_its_nested_stack() -> None:
    old = nested("10.0.0.0/16")
    new = copy.deepcopy(old)
    new["service.yml"]["Resources"]["TargetGroup"]["Properties"]["HealthCheckPath"] = "/ok"
    diff = diff_templates(old, new)
    assert change(diff, "ServiceStack").reasons == ("its template changes",)
    assert change(diff, "TargetGroup", "ServiceStack").action is Action.MODIFIED
    assert diff.find("parent", "VpcStack") is None


def test_nested_values_resolve_across_stacks() -> None:
    side = Side(nested("10.0.0.0/16"))
    assert side.properties("VpcStack", "VPC") == {"CidrBlock": "10.0.0.0/16"}
    assert side.properties("ServiceStack", "TargetGroup") == {
        "VpcId": Token("resource", "VpcStack", "VPC"), "Port": "80"}


# --- added, removed, type changes, deploy-time values -----------------------------------

def test_added_removed_and_type_change() -> None:
    old = parent_only({"Gone": {"Type": "AWS::Logs::LogGroup"},
                       "Kept": {"Type": "AWS::SNS::Topic"}})
    new = parent_only({"Kept": {"Type": "AWS::SQS::Queue"},
                       "New": {"Type": "AWS::Logs::LogGroup"}})
    diff = diff_templates(old, new)
    assert [(c.logical_id, c.action) for c in diff.changes] == [
        ("Kept", Action.REPLACED), ("New", Action.ADDED), ("Gone", Action.REMOVED)]
    assert change(diff, "Kept").forced_by == ("Type",)
    assert diff.counts() == {"added": 1, "modified": 0, "removed": 1, "replaced": 1}


def test_identical_templates_have_no_changes() -> None:
    diff = diff_templates(cluster("c5.large", WILL_REPLACE), cluster("c5.large", WILL_REPLACE))
    assert diff.changes == ()


def test_ssm_parameters_are_reported_as_resolved_at_deploy_time() -> None:
    templates = parent_only(
        {"Instances": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
            "LaunchTemplateData": {"ImageId": {"Ref": "Ami"}}}}},
        parameters={"Ami": {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
                            "Default": "/aws/service/ecs/x"}})
    diff = diff_templates(templates, templates)
    assert diff.changes == ()
    [value] = diff.deploy_time
    assert (value.logical_id, value.path) == ("Instances", "LaunchTemplateData/ImageId")
    assert "/aws/service/ecs/x" in value.source


# --- the seed example, as rendered today -------------------------------------------------

def seed_rendering(tmp_path: Path, text: str = SEED) -> Rendering:
    path = tmp_path / "edited.blueprint.yml"
    path.write_text(text, encoding="utf-8")
    _, blueprint, findings = load_blueprint(str(path))
    assert blueprint is not None, findings
    return render(blueprint)


def edited_seed(old: str, new: str) -> str:
    assert SEED.count(old) == 1
    return SEED.replace(old, new)


def test_seed_instance_type_change_replaces_neither_group_nor_capacity_provider(
        tmp_path: Path) -> None:
    edited = edited_seed("instanceTypes: [c6i.xlarge, c7i.xlarge]",
                         "instanceTypes: [c6i.2xlarge, c7i.2xlarge]")
    diff = diff_renderings(seed_rendering(tmp_path), seed_rendering(tmp_path, edited))
    assert diff.replacements == []
    assert change(diff, "ContainerInstances", "ClusterStack").action is Action.MODIFIED
    assert diff.find("ClusterStack", "CapacityProvider") is None


def test_seed_service_port_change_replaces_the_target_group_naming_port(tmp_path: Path) -> None:
    diff = diff_renderings(seed_rendering(tmp_path),
                           seed_rendering(tmp_path, edited_seed("  port: 8080\n  cpu",
                                                                "  port: 8081\n  cpu")))
    target_group = change(diff, "ServiceTargetGroup", "ServiceStack")
    assert target_group.action is Action.REPLACED and "Port" in target_group.forced_by
    assert target_group.fields == ("service.port",)
    # the port is a literal in service.yml: the parent passes no setting that changed
    assert change(diff, "ServiceStack").fields == ()
    # changed only because the target group is replaced: no field of its own
    assert change(diff, "PublicLoadBalancerListener", "ServiceStack").fields == ()
    assert change(diff, "Service", "ServiceStack").action is Action.MODIFIED
    assert [c.logical_id for c in diff.blocking] == ["ServiceTargetGroup"]


# --- the command ---------------------------------------------------------------------------

def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


PORT_EDIT = ("  port: 8080\n  cpu", "  port: 8081\n  cpu")


def test_command_json_lists_the_replacement_and_exits_0(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write(tmp_path, "old.blueprint.yml", SEED)
    new = write(tmp_path, "new.blueprint.yml", edited_seed(*PORT_EDIT))
    assert diff_command.run(old, new, output_format="json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["summary"]["loudReplacements"] == 1
    service = next(s for s in document["stacks"] if s["stack"] == "ServiceStack")
    target_group = next(c for c in service["changes"] if c["logicalId"] == "ServiceTargetGroup")
    assert target_group["action"] == "replaced" and target_group["forcedBy"] == ["Port"]


def test_fail_on_replace_exits_1_only_for_a_loud_replacement(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write(tmp_path, "old.blueprint.yml", SEED)
    port = write(tmp_path, "port.blueprint.yml", edited_seed(*PORT_EDIT))
    image = write(tmp_path, "image.blueprint.yml",
                  edited_seed("nginx-unprivileged:1.27-alpine", "nginx-unprivileged:1.28-alpine"))
    assert diff_command.run(old, port, fail_on_replace=True) == 1
    assert "--fail-on-replace" in capsys.readouterr().err
    assert diff_command.run(old, image, fail_on_replace=True) == 0  # task definition only
    assert diff_command.run(old, old, fail_on_replace=True) == 0


def test_markdown_and_table_name_the_forcing_property(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write(tmp_path, "old.blueprint.yml", SEED)
    new = write(tmp_path, "new.blueprint.yml", edited_seed(*PORT_EDIT))
    assert diff_command.run(old, new, output_format="markdown") == 0
    markdown = capsys.readouterr().out
    assert "| `ServiceTargetGroup` | `AWS::ElasticLoadBalancingV2::TargetGroup` | " \
           "**REPLACED** | Port is create-only" in markdown
    assert diff_command.run(old, new) == 0
    table = capsys.readouterr().out
    assert "ServiceTargetGroup" in table and "REPLACED" in table


def test_an_invalid_blueprint_prints_its_findings_and_exits_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write(tmp_path, "old.blueprint.yml", SEED)
    bad = write(tmp_path, "bad.blueprint.yml", edited_seed("  port: 8080\n  cpu",
                                                            "  port: 0\n  cpu"))
    assert diff_command.run(old, bad) == 1
    captured = capsys.readouterr()
    assert "bad.blueprint.yml" in captured.err and captured.out == ""


def test_usage_errors() -> None:
    with pytest.raises(UsageError):
        diff_command.run("a.yml")
    with pytest.raises(UsageError):
        diff_command.run("a.yml", "b.yml", against="HEAD")
    with pytest.raises(UsageError):
        diff_command.run("a.yml", "b.yml", output_format="yaml")
    with pytest.raises(UsageError):
        diff_command.read_at_revision("a.yml", "--output=/tmp/x")


def test_the_command_line_when_wired(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from blueprint.cli import cli as command_group
    from blueprint.cli import main

    if "diff" not in command_group.commands:  # type: ignore[attr-defined]
        pytest.skip("`blueprint diff` is not wired into blueprint.cli yet")
    old = write(tmp_path, "old.blueprint.yml", SEED)
    new = write(tmp_path, "new.blueprint.yml", edited_seed(*PORT_EDIT))
    assert main(["diff", old, new, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["loudReplacements"] == 1
    assert main(["diff", old, new, "--fail-on-replace"]) == 1
    assert main(["diff", old]) == EXIT_CANNOT_CHECK
    assert "--against" in capsys.readouterr().err


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c",
                    "user.name=t", *args], check=True, capture_output=True)


@needs_git
def test_against_a_git_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    (repo / "envs").mkdir(parents=True)
    git(repo, "init", "-q")
    path = write(repo / "envs", "env.blueprint.yml", SEED)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    write(repo / "envs", "env.blueprint.yml", edited_seed(*PORT_EDIT))
    assert diff_command.run(path, against="HEAD", output_format="json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["old"] == f"{path}@HEAD"
    assert document["summary"]["loudReplacements"] == 1
    with pytest.raises(BlueprintError) as unknown:
        diff_command.run(path, against="no-such-branch")
    assert unknown.value.exit_code == EXIT_CANNOT_CHECK
    assert "no-such-branch" in str(unknown.value)


@needs_git
def test_against_outside_a_git_repository_is_a_clear_error(tmp_path: Path) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    path = write(outside, "env.blueprint.yml", SEED)
    with pytest.raises(BlueprintError) as error:
        diff_command.run(path, against="HEAD", )
    assert error.value.exit_code == EXIT_CANNOT_CHECK
    assert "git" in str(error.value)


# --- end to end: an edit the diff says replaces something deploys -------------------------

def deploy_flags() -> list[str]:
    """`--yes`, plus `--allow-replace` where deploy has it: the diff below is a replacement
    on purpose, and a deploy that asks again before one must be told so."""
    from blueprint.cli import cli as command_group

    deploy = command_group.commands["deploy"]  # type: ignore[attr-defined]
    names = {option for param in deploy.params for option in getattr(param, "opts", [])}
    return ["--yes", *(["--allow-replace"] if "--allow-replace" in names else [])]


@pytest.mark.slow
def test_an_edit_whose_diff_names_a_replacement_deploys_locally(
        tmp_path: Path, local_aws_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import boto3

    from blueprint.cli import main

    local_aws_server.reset()
    endpoint = local_aws_server.endpoint_url
    old = write(tmp_path, "env.blueprint.yml", SEED)
    code = main(["deploy", old, "--endpoint-url", endpoint, *deploy_flags()])
    assert code == 0, capsys.readouterr()
    capsys.readouterr()
    new = write(tmp_path, "edited.blueprint.yml", edited_seed(*PORT_EDIT))
    assert diff_command.run(old, new, output_format="json") == 0
    document = json.loads(capsys.readouterr().out)
    replaced = {(stack["stack"], c["logicalId"]): c["forcedBy"] for stack in document["stacks"]
                for c in stack["changes"] if c["action"] == "replaced"}
    assert replaced[("ServiceStack", "ServiceTargetGroup")] == ["Port"]

    code = main(["deploy", new, "--endpoint-url", endpoint, *deploy_flags()])
    out = capsys.readouterr()
    assert code == 0, out
    # What the local endpoint and AWS agree on. (moto updates the target group in place
    # and keeps its Port at 8080; AWS creates a new one on port 8081.)
    ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1")
    [cluster_arn] = ecs.list_clusters()["clusterArns"]
    [service] = ecs.describe_services(
        cluster=cluster_arn, services=ecs.list_services(cluster=cluster_arn)["serviceArns"],
    )["services"]
    assert [lb["containerPort"] for lb in service["loadBalancers"]] == [8081]
    assert service["taskDefinition"].endswith(":2")


# --- environments: two environments of one blueprint, or one environment across an edit ----

ENVIRONMENTS = """\
blueprint: v1
name: shop
cluster: {maxSize: 4}
service:
  name: web
  image: public.ecr.aws/nginx/nginx-unprivileged:1.27-alpine
  port: 80
  desiredCount: 2
environments:
  dev:
    account: "123456789012"
    region: us-east-1
    overrides:
      service: {desiredCount: 1}
  prod:
    account: "210987654321"
    region: eu-west-1
    overrides:
      service: {port: 8080, desiredCount: 4}
"""


def changed_ids(document: dict[str, Any]) -> set[str]:
    return {change["logicalId"] for stack in document["stacks"] for change in stack["changes"]}


def test_two_environments_of_one_blueprint(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "shop.blueprint.yml", ENVIRONMENTS)
    assert diff_command.run(path, env="prod", against_env="dev", output_format="json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["old"] == f"{path} (env dev)" and document["new"] == f"{path} (env prod)"
    # prod's port override replaces the target group; dev's desiredCount differs too
    assert document["summary"]["loudReplacements"] == 1
    assert {"ServiceTargetGroup", "Service"} <= changed_ids(document)
    assert diff_command.run(path, env="prod", against_env="dev", fail_on_replace=True) == 1
    capsys.readouterr()
    assert diff_command.run(path, env="dev", against_env="dev", output_format="json") == 0
    assert changed_ids(json.loads(capsys.readouterr().out)) == set()


def test_environment_selection_errors_are_usage_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "shop.blueprint.yml", ENVIRONMENTS)
    with pytest.raises(UsageError, match="has environments dev, prod"):
        diff_command.run(path, against_env="prod")  # the new side names none
    with pytest.raises(UsageError, match="unknown environment"):
        diff_command.run(path, env="prdo", against_env="dev")
    base = ENVIRONMENTS.split("environments:", maxsplit=1)[0]
    plain = write(tmp_path, "plain.blueprint.yml", base)
    with pytest.raises(UsageError, match="has no environments"):
        diff_command.run(plain, plain, env="dev")


def test_the_command_line_compares_environments(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from blueprint.cli import main

    path = write(tmp_path, "shop.blueprint.yml", ENVIRONMENTS)
    assert main(["diff", path, "--env", "dev", "--against-env", "prod", "--format",
                 "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["old"].endswith("(env prod)") and document["new"].endswith("(env dev)")
    assert main(["diff", path, "--env", "dev"]) == EXIT_CANNOT_CHECK  # nothing to compare
    assert main(["diff", path, path]) == EXIT_CANNOT_CHECK  # environments but no --env
    assert "pass --env" in capsys.readouterr().err


@needs_git
def test_one_environment_against_a_git_revision(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    path = write(repo, "shop.blueprint.yml", ENVIRONMENTS)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    write(repo, "shop.blueprint.yml",
          ENVIRONMENTS.replace("{port: 8080, desiredCount: 4}", "{port: 8080, desiredCount: 5}"))
    assert diff_command.run(path, against="HEAD", env="prod", output_format="json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["old"] == f"{path}@HEAD (env prod)"
    assert changed_ids(document) >= {"Service"}
    assert diff_command.run(path, against="HEAD", env="dev", output_format="json") == 0
    assert changed_ids(json.loads(capsys.readouterr().out)) == set()
