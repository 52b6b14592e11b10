"""One test per fidelity fix (blueprint.local_aws.fixes), each showing the gap it closes.

These look into moto's backends and the patched functions, so their endpoint
runs in the test process (``in_process_aws``); test_e2e deploys through the
product's child-process endpoint.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from _local_aws_support import CAPABILITIES, FIXTURES
from botocore.exceptions import ClientError
from moto.cloudformation import parsing
from moto.cloudformation.models import (
    ChangeSet,
    CloudFormationBackend,
    Stack,
    cloudformation_backends,
)

from blueprint.local_aws import fixes
from blueprint.local_aws.server import LocalAws

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def aws(in_process_aws: LocalAws) -> LocalAws:
    return in_process_aws


def cfn_backend() -> Any:
    return cloudformation_backends[ACCOUNT][REGION]


def outputs(cfn: Any, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs") or []}


def status(cfn: Any, stack: str) -> str:
    return str(cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])


# --- registry ------------------------------------------------------------------------------


def test_registry_is_named_and_idempotent(aws: LocalAws) -> None:
    ids = [f.id for f in fixes.FIXES]
    assert ids == [f"P{i}" for i in range(1, len(fixes.FIXES) + 1)]
    assert all((f.name and f.gap and f.apply.__doc__ is not None) or f.gap for f in fixes.FIXES)
    assert fixes.applied_fixes() == ids

    before = (
        CloudFormationBackend.__dict__["execute_change_set"],
        Stack.__dict__["get_cfn_attribute"],
        Stack.__dict__["update_from_cloudformation_json"],
        dict(parsing.get_model_map()),
    )
    assert fixes.apply_fixes() == ids  # twice: no-op
    after = (
        CloudFormationBackend.__dict__["execute_change_set"],
        Stack.__dict__["get_cfn_attribute"],
        Stack.__dict__["update_from_cloudformation_json"],
        dict(parsing.get_model_map()),
    )
    assert before == after
    assert fixes.original(CloudFormationBackend, "execute_change_set") is not after[0]


def test_the_module_table_lists_every_fix() -> None:
    assert fixes.__doc__ is not None
    listed = [line.split()[0] for line in fixes.__doc__.splitlines() if line[:1] == "P"]
    assert listed == [fix.id for fix in fixes.FIXES]


# --- P1 -----------------------------------------------------------------------------------

CHILD_VPC = """
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.1.0.0/16}
Outputs:
  VpcId: {Value: !Ref Vpc}
"""
CHILD_SG = """
Parameters:
  VpcId: {Type: String}
Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties: {GroupDescription: sg, VpcId: !Ref VpcId}
Outputs:
  SgVpc: {Value: !Ref VpcId}
"""


def nested_parent(aws: LocalAws, extra_sg_params: str = "") -> str:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="tpl")
    s3.put_object(Bucket="tpl", Key="vpc.yml", Body=CHILD_VPC.encode())
    s3.put_object(Bucket="tpl", Key="sg.yml", Body=CHILD_SG.encode())
    return f"""
Resources:
  Net:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: {aws.template_url("tpl", "vpc.yml")}
  Sg:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: {aws.template_url("tpl", "sg.yml")}
      Parameters:
        VpcId: !GetAtt Net.Outputs.VpcId{extra_sg_params}
Outputs:
  VpcId:
    Value: !GetAtt Net.Outputs.VpcId
  SgVpc:
    Value:
      Fn::GetAtt: [Sg, Outputs.SgVpc]
"""


def test_p1_short_form_getatt_splits_on_first_dot_only() -> None:
    moto_constructor = fixes.MOTO_ORIGINALS["yaml_tag_constructor"]
    loader = yaml.Loader("x: !GetAtt A.Outputs.X")
    node = loader.get_single_node()
    tag_node = node.value[0][1]
    # moto's own constructor: three parts, "X" is lost by Fn::GetAtt
    assert moto_constructor(loader, "!GetAtt", tag_node) == {"Fn::GetAtt": ["A", "Outputs", "X"]}
    parsed = Stack.parse_template("x: !GetAtt A.Outputs.X\ny: !GetAtt B.Arn\n")
    assert parsed == {"x": {"Fn::GetAtt": ["A", "Outputs.X"]}, "y": {"Fn::GetAtt": ["B", "Arn"]}}


def test_p1_getatt_nested_stack_outputs(aws: LocalAws, cfn: Any) -> None:
    cfn.create_stack(StackName="p1", TemplateBody=nested_parent(aws))
    assert status(cfn, "p1") == "CREATE_COMPLETE"
    (vpc,) = [v for v in aws.client("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]]
    assert outputs(cfn, "p1") == {"VpcId": vpc["VpcId"], "SgVpc": vpc["VpcId"]}


# --- P2 / P3 ------------------------------------------------------------------------------

CAPACITY = """
Resources:
  Cluster:
    Type: AWS::ECS::Cluster
    Properties:
      ClusterSettings: [{Name: containerInsights, Value: enabled}]
  Provider:
    Type: AWS::ECS::CapacityProvider
    Properties:
      AutoScalingGroupProvider:
        AutoScalingGroupArn: my-asg
        ManagedScaling: {Status: ENABLED, TargetCapacity: 90}
        ManagedTerminationProtection: ENABLED
  Association:
    Type: AWS::ECS::ClusterCapacityProviderAssociations
    Properties:
      Cluster: !Ref Cluster
      CapacityProviders: [!Ref Provider]
      DefaultCapacityProviderStrategy:
        - {CapacityProvider: !Ref Provider, Base: 1, Weight: 2}
Outputs:
  Provider: {Value: !Ref Provider}
  Cluster: {Value: !Ref Cluster}
"""


def test_p2_p3_capacity_provider_and_association(aws: LocalAws, cfn: Any) -> None:
    ecs = aws.client("ecs")
    cfn.create_stack(StackName="cp", TemplateBody=CAPACITY)
    out = outputs(cfn, "cp")
    assert out["Provider"].startswith("cp-Provider-")  # Ref is the provider's name
    (provider,) = ecs.describe_capacity_providers(capacityProviders=[out["Provider"]])[
        "capacityProviders"
    ]
    asg = provider["autoScalingGroupProvider"]
    assert asg["autoScalingGroupArn"] == "my-asg"
    assert asg["managedScaling"]["targetCapacity"] == 90
    assert asg["managedTerminationProtection"] == "ENABLED"
    cluster = ecs.describe_clusters(clusters=[out["Cluster"]])["clusters"][0]
    assert cluster["capacityProviders"] == [out["Provider"]]
    assert cluster["defaultCapacityProviderStrategy"] == [
        {"capacityProvider": out["Provider"], "base": 1, "weight": 2}
    ]
    resources = cfn.list_stack_resources(StackName="cp")["StackResourceSummaries"]
    assert {r["ResourceType"]: r["PhysicalResourceId"] for r in resources}[
        "AWS::ECS::CapacityProvider"
    ] == out["Provider"]

    cfn.delete_stack(StackName="cp")
    assert (
        ecs.describe_capacity_providers(capacityProviders=[out["Provider"]])["capacityProviders"]
        == []
    )
    assert ecs.describe_clusters(clusters=[out["Cluster"]])["clusters"][0]["status"] == "INACTIVE"


# --- P4 / P8 ------------------------------------------------------------------------------

SERVICE = """
Parameters:
  DesiredCount: {Type: Number, Default: 2}
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.2.0.0/16}
  Subnet:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.2.0.0/24}
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties: {GroupDescription: svc, VpcId: !Ref Vpc}
  Cluster:
    Type: AWS::ECS::Cluster
  TaskDef:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: app
      Cpu: 256
      Memory: 512
      NetworkMode: awsvpc
      RequiresCompatibilities: [EC2]
      ExecutionRoleArn: arn:aws:iam::123456789012:role/exec
      ContainerDefinitions:
        - {Name: app, Image: nginx, PortMappings: [{ContainerPort: 80}]}
  Service:
    Type: AWS::ECS::Service
    Properties:
      ServiceName: app
      Cluster: !Ref Cluster
      TaskDefinition: !Ref TaskDef
      DesiredCount: !Ref DesiredCount
      CapacityProviderStrategy: [{CapacityProvider: cp, Weight: 1, Base: 0}]
      PlacementStrategies: [{Type: spread, Field: attribute:ecs.availability-zone}]
      DeploymentConfiguration: {MaximumPercent: 200, MinimumHealthyPercent: 75}
      NetworkConfiguration:
        AwsvpcConfiguration:
          AssignPublicIp: DISABLED
          Subnets: [!Ref Subnet]
          SecurityGroups: [!Ref Sg]
      LoadBalancers:
        - {ContainerName: app, ContainerPort: 80, TargetGroupArn: arn:tg}
Outputs:
  Cluster: {Value: !Ref Cluster}
  Subnet: {Value: !Ref Subnet}
  Sg: {Value: !Ref Sg}
"""


def test_p4_task_definition_and_service_properties(aws: LocalAws, cfn: Any) -> None:
    ecs = aws.client("ecs")
    cfn.create_stack(StackName="svc", TemplateBody=SERVICE)
    out = outputs(cfn, "svc")
    (service,) = ecs.describe_services(cluster=out["Cluster"], services=["app"])["services"]
    assert service["networkConfiguration"] == {
        "awsvpcConfiguration": {
            "assignPublicIp": "DISABLED",
            "subnets": [out["Subnet"]],
            "securityGroups": [out["Sg"]],
        }
    }
    assert service["loadBalancers"] == [
        {"containerName": "app", "containerPort": 80, "targetGroupArn": "arn:tg"}
    ]
    assert service["capacityProviderStrategy"] == [
        {"capacityProvider": "cp", "weight": 1, "base": 0}
    ]
    assert service["placementStrategy"] == [
        {"type": "spread", "field": "attribute:ecs.availability-zone"}
    ]
    assert service["deploymentConfiguration"] == {
        "maximumPercent": 200,
        "minimumHealthyPercent": 75,
    }
    assert (service["desiredCount"], service["runningCount"]) == (2, 2)  # stable, as CFN waits
    task_def = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])[
        "taskDefinition"
    ]
    assert task_def["networkMode"] == "awsvpc"  # moto's own handler: "bridge"
    assert (task_def["cpu"], task_def["memory"]) == ("256", "512")
    assert task_def["requiresCompatibilities"] == ["EC2"]
    assert task_def["executionRoleArn"] == "arn:aws:iam::123456789012:role/exec"

    # update through update_stack: DesiredCount reaches ECS
    cfn.update_stack(
        StackName="svc",
        TemplateBody=SERVICE,
        Parameters=[{"ParameterKey": "DesiredCount", "ParameterValue": "3"}],
    )
    (service,) = ecs.describe_services(cluster=out["Cluster"], services=["app"])["services"]
    assert (service["desiredCount"], service["runningCount"]) == (3, 3)
    assert service["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"

    cfn.delete_stack(StackName="svc")
    (service,) = ecs.describe_services(cluster=out["Cluster"], services=["app"])["services"]
    assert service["status"] == "INACTIVE"
    assert ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"] == []


def test_p8_change_set_lists_parameter_driven_changes(aws: LocalAws, cfn: Any) -> None:
    ecs = aws.client("ecs")
    cfn.create_stack(StackName="svc", TemplateBody=SERVICE)
    created = cfn.create_change_set(
        StackName="svc",
        ChangeSetName="more",
        TemplateBody=SERVICE,
        ChangeSetType="UPDATE",
        Parameters=[{"ParameterKey": "DesiredCount", "ParameterValue": "4"}],
    )
    changes = cfn.describe_change_set(ChangeSetName=created["Id"])["Changes"]
    assert [
        (c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"]) for c in changes
    ] == [("Modify", "Service")]
    # moto's own diff ignores parameters: no changes at all
    change_set = cfn_backend().change_sets[created["Id"]]
    assert fixes.original(ChangeSet, "diff")(change_set) == []

    cfn.execute_change_set(ChangeSetName=created["Id"])
    cluster = outputs(cfn, "svc")["Cluster"]
    assert (
        ecs.describe_services(cluster=cluster, services=["app"])["services"][0]["desiredCount"] == 4
    )


# --- P5 -----------------------------------------------------------------------------------

CUSTOM = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: nodejs22.x
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code: {ZipFile: "exports.handler = async () => {}"}
  Custom:
    Type: Custom::Thing
    Properties:
      ServiceToken: !GetAtt Fn.Arn
"""


def test_p5_custom_resource_completes_without_lambda_runtime(aws: LocalAws, cfn: Any) -> None:
    if fixes.lambda_can_run():
        pytest.skip("a Docker daemon is reachable: moto runs the Lambda itself")
    cfn.create_stack(StackName="custom", TemplateBody=CUSTOM, Capabilities=CAPABILITIES)
    assert status(cfn, "custom") == "CREATE_COMPLETE"  # plain moto: CREATE_IN_PROGRESS forever
    custom = cfn_backend().get_stack("custom").get_custom_resource("Custom")
    assert custom.is_created()


def test_p5_bad_service_token_still_fails(aws: LocalAws, cfn: Any) -> None:
    missing = "arn:aws:lambda:us-east-1:123456789012:function:nope"
    body = CUSTOM.replace("ServiceToken: !GetAtt Fn.Arn", f"ServiceToken: {missing}")
    with pytest.raises(ClientError):
        cfn.create_stack(StackName="custom", TemplateBody=body, Capabilities=CAPABILITIES)


# --- P6 -----------------------------------------------------------------------------------


def test_p6_outputs_after_change_set_execute(aws: LocalAws, cfn: Any) -> None:
    created = cfn.create_change_set(
        StackName="cs",
        ChangeSetName="c1",
        TemplateBody=SERVICE,
        ChangeSetType="CREATE",
        Parameters=[{"ParameterKey": "DesiredCount", "ParameterValue": "1"}],
    )
    assert status(cfn, "cs") == "REVIEW_IN_PROGRESS"
    cfn.execute_change_set(ChangeSetName=created["Id"])
    stack = cfn.describe_stacks(StackName="cs")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {o["OutputKey"] for o in stack["Outputs"]} == {"Cluster", "Subnet", "Sg"}
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]} == {
        "DesiredCount": "1"
    }
    assert cfn_backend().get_stack("cs").parameters == {"DesiredCount": "1"}


# --- P7 -----------------------------------------------------------------------------------


def test_p7_nested_stack_updated_in_place(aws: LocalAws, cfn: Any) -> None:
    cfn.create_stack(StackName="p7", TemplateBody=nested_parent(aws))
    before = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.list_stack_resources(StackName="p7")["StackResourceSummaries"]
    }
    sg_stack_id = cfn.describe_stacks(StackName=before["Sg"])["Stacks"][0]["StackId"]
    # a new child template version (the deployer uploads each version under a new key)
    aws.client("s3").put_object(
        Bucket="tpl", Key="sg-v2.yml", Body=(CHILD_SG + "  Extra: {Value: !Ref Sg}\n").encode()
    )
    parent = nested_parent(aws).replace("sg.yml", "sg-v2.yml")
    cfn.update_stack(StackName="p7", TemplateBody=parent)
    after = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.list_stack_resources(StackName="p7")["StackResourceSummaries"]
    }
    assert after == before
    child = cfn.describe_stacks(StackName=sg_stack_id)["Stacks"][0]
    assert child["StackStatus"] == "UPDATE_COMPLETE"
    assert "Extra" in {o["OutputKey"] for o in child["Outputs"]}


# --- P9 -----------------------------------------------------------------------------------


def test_p9_failed_delete_shows_delete_failed(aws: LocalAws, cfn: Any) -> None:
    ec2 = aws.client("ec2")
    cfn.create_stack(StackName="net", TemplateBody=CHILD_VPC)
    vpc_id = outputs(cfn, "net")["VpcId"]
    ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.1.0.0/24")  # outside the stack
    cfn.delete_stack(StackName="net")  # accepted, as in AWS
    stack = cfn.describe_stacks(StackName="net")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"  # plain moto: the stack vanishes
    events = cfn.describe_stack_events(StackName="net")["StackEvents"]
    assert events[0]["ResourceStatus"] == "DELETE_FAILED"
    assert "dependencies" in events[0]["ResourceStatusReason"]


# --- P10 ----------------------------------------------------------------------------------


def test_p10_vpc_stack_deletes_cleanly(aws: LocalAws, cfn: Any) -> None:
    ec2 = aws.client("ec2")
    template = (FIXTURES / "vpc.yml").read_text()
    cidrs = {"VpcCidr": "10.0.0.0/16", "PublicOneCidr": "10.0.0.0/18",
             "PublicTwoCidr": "10.0.64.0/18", "PrivateOneCidr": "10.0.128.0/18",
             "PrivateTwoCidr": "10.0.192.0/18"}
    parameters = [{"ParameterKey": key, "ParameterValue": value}
                  for key, value in cidrs.items() if f"\n  {key}:\n" in template]
    cfn.create_stack(StackName="vpc", TemplateBody=template, Parameters=parameters)
    stack_id = cfn.describe_stacks(StackName="vpc")["Stacks"][0]["StackId"]
    assert len(ec2.describe_nat_gateways()["NatGateways"]) == 2
    assert len(ec2.describe_addresses()["Addresses"]) == 2
    cfn.delete_stack(StackName="vpc")
    assert status(cfn, stack_id) == "DELETE_COMPLETE"
    assert [v["IsDefault"] for v in ec2.describe_vpcs()["Vpcs"]] == [True]
    assert {n["State"] for n in ec2.describe_nat_gateways()["NatGateways"]} == {"deleted"}
    assert ec2.describe_addresses()["Addresses"] == []
    igws = ec2.describe_internet_gateways()["InternetGateways"]
    stack_tag = "aws:cloudformation:stack-id"
    assert [i for i in igws if any(t["Key"] == stack_tag for t in i.get("Tags", []))] == []


def test_p11_nested_stacks_carry_their_tags(aws: LocalAws, cfn: Any) -> None:
    """Without P11 the child stacks have no tags; with it they have the resource's Tags."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="tags")
    s3.put_object(Bucket="tags", Key="child.yml",
                  Body=b"Resources:\n  Group:\n    Type: AWS::Logs::LogGroup\n")
    parent = (
        "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n"
        f"      TemplateURL: {aws.template_url('tags', 'child.yml')}\n"
        "      Tags:\n        - {Key: team, Value: payments}\n"
    )
    cfn.create_stack(StackName="tagged", TemplateBody=parent)
    child_id = cfn.describe_stack_resource(
        StackName="tagged", LogicalResourceId="Child")["StackResourceDetail"]["PhysicalResourceId"]
    child = cfn.describe_stacks(StackName=child_id)["Stacks"][0]
    assert child["Tags"] == [{"Key": "team", "Value": "payments"}]
