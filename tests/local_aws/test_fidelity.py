"""Local fidelity where it decides (fixes P12-P18): the local endpoint rejects or
replaces as ECS and CloudFormation do, where plain moto accepts or updates in place.

Each test names the fix it shows; the ECS error codes and messages are those
quoted in blueprint/local_aws/_ecs_rules.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.ecs.models import ecs_backends

from blueprint.cli import main
from blueprint.local_aws import _ecs_rules, fixes
from blueprint.local_aws.server import LocalAws

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed.blueprint.yml"
SEED_TEMPLATES = ROOT / "tests" / "golden" / "seed"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


@pytest.fixture
def aws(in_process_aws: LocalAws) -> LocalAws:
    return in_process_aws


def outputs(cfn: Any, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs") or []}


def parameters(**values: str) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def providers(ecs: Any, *names: str) -> list[dict[str, Any]]:
    return list(ecs.describe_capacity_providers(capacityProviders=list(names))
                ["capacityProviders"])


def error_of(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = info.value.response["Error"]
    return str(error.get("Code")), str(error.get("Message"))


def test_the_module_says_what_a_local_deploy_cannot_show() -> None:
    """The README points to this section of blueprint.local_aws.fixes."""
    assert fixes.__doc__ is not None
    section = fixes.__doc__.split("What a local deploy still cannot show", 1)[1].lower()
    for gap in ("rollback", "instance refresh", "task placement", "versioning", "iam",
                "events", "quotas"):
        assert gap in section, gap


# --- P14: names ECS rejects ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["awsOrders", "ECS-orders", "Fargate1", "ecs", "AWS",
                                  "has space", "x" * 256])
def test_p14_create_capacity_provider_rejects_what_ecs_rejects(aws: LocalAws, name: str) -> None:
    ecs = aws.client("ecs")
    with pytest.raises(ClientError) as info:
        ecs.create_capacity_provider(
            name=name, autoScalingGroupProvider={"autoScalingGroupArn": "asg"})
    assert error_of(info) == ("ClientException", _ecs_rules.INVALID_NAME)
    assert ecs.describe_capacity_providers()["capacityProviders"] == []


def test_p14_names_and_groups_are_unique(aws: LocalAws) -> None:
    ecs = aws.client("ecs")
    ecs.create_capacity_provider(name="orders-ec2", autoScalingGroupProvider={
        "autoScalingGroupArn": "asg-1"})  # "aws"/"ecs"/"fargate" inside a name is fine
    with pytest.raises(ClientError) as info:
        ecs.create_capacity_provider(name="orders-ec2", autoScalingGroupProvider={
            "autoScalingGroupArn": "asg-2"})
    assert error_of(info) == ("ClientException", _ecs_rules.NAME_EXISTS)
    with pytest.raises(ClientError) as info:
        ecs.create_capacity_provider(name="orders-ec2-b", autoScalingGroupProvider={
            "autoScalingGroupArn": "asg-1"})
    assert error_of(info) == ("ClientException", _ecs_rules.ASG_ALREADY_USED)
    (provider,) = providers(ecs, "orders-ec2")
    assert provider["autoScalingGroupProvider"]["autoScalingGroupArn"] == "asg-1"


PROVIDER_ONLY = """
Resources:
  CapacityProvider:
    Type: AWS::ECS::CapacityProvider
    Properties:
      AutoScalingGroupProvider: {AutoScalingGroupArn: my-asg}
Outputs:
  Provider: {Value: !Ref CapacityProvider}
"""


@pytest.mark.parametrize("stack", ["ecs-orders", "AwsShop", "FARGATE-jobs"])
def test_p14_generated_name_from_a_reserved_stack_name_fails(aws: LocalAws, stack: str) -> None:
    """CloudFormation names an unnamed capacity provider <stack>-<logical id>-<random>."""
    cfn = aws.client("cloudformation")
    with pytest.raises(ClientError) as info:
        cfn.create_stack(StackName=stack, TemplateBody=PROVIDER_ONLY)
    assert "capacity provider name is invalid" in error_of(info)[1]
    assert aws.client("ecs").describe_capacity_providers()["capacityProviders"] == []


def test_p14_generated_name_from_an_ordinary_stack_name_succeeds(aws: LocalAws) -> None:
    cfn = aws.client("cloudformation")
    cfn.create_stack(StackName="orders-ecs", TemplateBody=PROVIDER_ONLY)
    assert outputs(cfn, "orders-ecs")["Provider"].startswith("orders-ecs-CapacityProvider-")


# --- P13: a capacity provider in use ----------------------------------------------------------


def cluster_with_service(ecs: Any) -> str:
    """A cluster whose service runs on capacity provider `cp-a`; `cp-b` is also associated."""
    for name in ("cp-a", "cp-b"):
        ecs.create_capacity_provider(name=name, autoScalingGroupProvider={
            "autoScalingGroupArn": f"asg-{name}"})
    ecs.create_cluster(clusterName="orders")
    ecs.put_cluster_capacity_providers(cluster="orders", capacityProviders=["cp-a", "cp-b"],
                                       defaultCapacityProviderStrategy=[])
    ecs.register_task_definition(family="app", containerDefinitions=[
        {"name": "app", "image": "nginx", "memory": 128}])
    strategy = [{"capacityProvider": "cp-a", "weight": 1}]
    ecs.create_service(cluster="orders", serviceName="web", taskDefinition="app",
                       desiredCount=1, capacityProviderStrategy=strategy)
    # moto's CreateService drops the strategy (the CloudFormation model, P4, keeps it)
    ecs_backends["123456789012"]["us-east-1"].services["orders:web"].capacity_provider_strategy \
        = strategy
    return "orders"


def test_p13_removing_a_provider_a_service_uses_fails(aws: LocalAws) -> None:
    ecs = aws.client("ecs")
    cluster = cluster_with_service(ecs)
    for kept in ([], ["cp-b"]):
        with pytest.raises(ClientError) as info:
            ecs.put_cluster_capacity_providers(cluster=cluster, capacityProviders=kept,
                                               defaultCapacityProviderStrategy=[])
        assert error_of(info) == ("ResourceInUseException", _ecs_rules.IN_USE)
    described = ecs.describe_clusters(clusters=[cluster])["clusters"][0]
    assert described["capacityProviders"] == ["cp-a", "cp-b"]

    # removing one nothing uses is fine; once the service is gone, so is the other
    ecs.put_cluster_capacity_providers(cluster=cluster, capacityProviders=["cp-a"],
                                       defaultCapacityProviderStrategy=[])
    ecs.delete_service(cluster=cluster, service="web", force=True)
    ecs.put_cluster_capacity_providers(cluster=cluster, capacityProviders=[],
                                       defaultCapacityProviderStrategy=[])
    assert ecs.describe_clusters(clusters=[cluster])["clusters"][0]["capacityProviders"] == []


def test_p13_deleting_an_associated_provider_fails_as_ecs_reports_it(aws: LocalAws) -> None:
    ecs = aws.client("ecs")
    cluster = cluster_with_service(ecs)
    answer = ecs.delete_capacity_provider(capacityProvider="cp-b")["capacityProvider"]
    assert answer["status"] == "ACTIVE"
    assert answer["updateStatus"] == "DELETE_FAILED"
    assert answer["updateStatusReason"] == _ecs_rules.ASSOCIATED.format(cluster=cluster)
    assert [p["name"] for p in providers(ecs, "cp-b")] == ["cp-b"]

    ecs.put_cluster_capacity_providers(cluster=cluster, capacityProviders=["cp-a"],
                                       defaultCapacityProviderStrategy=[])
    ecs.delete_capacity_provider(capacityProvider="cp-b")
    assert providers(ecs, "cp-b") == []


# --- P12, P13, P15, P16 through CloudFormation ------------------------------------------------

CHAIN = """
Parameters:
  InstanceType: {Type: String, Default: c5.large}
Resources:
  Cluster:
    Type: AWS::ECS::Cluster
  LaunchTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData: {ImageId: ami-12c6146b, InstanceType: !Ref InstanceType}
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      AvailabilityZones: [us-east-1a]
      LaunchTemplate:
        LaunchTemplateId: !Ref LaunchTemplate
        Version: !GetAtt LaunchTemplate.LatestVersionNumber
      MinSize: '0'
      MaxSize: '2'
      NewInstancesProtectedFromScaleIn: true
    UpdatePolicy: UPDATE_POLICY
  Provider:
    Type: AWS::ECS::CapacityProvider
    Properties:
      AutoScalingGroupProvider:
        AutoScalingGroupArn: !Ref Group
        ManagedTerminationProtection: ENABLED
  Association:
    Type: AWS::ECS::ClusterCapacityProviderAssociations
    Properties:
      Cluster: !Ref Cluster
      CapacityProviders: [!Ref Provider]
      DefaultCapacityProviderStrategy: [{CapacityProvider: !Ref Provider, Weight: 1}]
  TaskDefinition:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: app
      ContainerDefinitions: [{Name: app, Image: nginx, Memory: 128}]
  Service:
    Type: AWS::ECS::Service
    DependsOn: Association
    Properties:
      ServiceName: web
      Cluster: !Ref Cluster
      TaskDefinition: !Ref TaskDefinition
      DesiredCount: 1
      CapacityProviderStrategy: [{CapacityProvider: !Ref Provider, Weight: 1}]
Outputs:
  Cluster: {Value: !Ref Cluster}
  Group: {Value: !Ref Group}
  Provider: {Value: !Ref Provider}
"""
INSTANCE_REFRESH = "{AutoScalingInstanceRefresh: {Strategy: Rolling}}"
WILL_REPLACE = "{AutoScalingReplacingUpdate: {WillReplace: true}}"


def chain(policy: str) -> str:
    return CHAIN.replace("UPDATE_POLICY", policy)


def service_provider(ecs: Any, cluster: str) -> str:
    (service,) = ecs.describe_services(cluster=cluster, services=["web"])["services"]
    return str(service["capacityProviderStrategy"][0]["capacityProvider"])


def test_p15_p16_instance_type_edit_rolls_in_place_and_keeps_the_provider(aws: LocalAws) -> None:
    """With an instance refresh policy the group is updated in place (moto alone
    recreates it under a new name), reaches the new launch template version through
    its GetAtt, and the capacity provider stays."""
    cfn, ecs, autoscaling = (aws.client(s) for s in ("cloudformation", "ecs", "autoscaling"))
    cfn.create_stack(StackName="chain", TemplateBody=chain(INSTANCE_REFRESH))
    before = outputs(cfn, "chain")
    cfn.update_stack(StackName="chain", TemplateBody=chain(INSTANCE_REFRESH),
                     Parameters=parameters(InstanceType="m5.large"))
    assert outputs(cfn, "chain") == before
    (group,) = autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[before["Group"]])["AutoScalingGroups"]
    assert group["LaunchTemplate"]["Version"] == "2"
    assert [p["name"] for p in providers(ecs, before["Provider"])] == [before["Provider"]]
    assert service_provider(ecs, before["Cluster"]) == before["Provider"]


# moto reports the ECS error code through the CloudFormation API, whose model lacks it
@pytest.mark.filterwarnings("ignore:Exception\\(ResourceInUseException\\)")
def test_p12_p13_replacing_update_fails_as_on_aws(aws: LocalAws) -> None:
    """AutoScalingReplacingUpdate replaces the group, hence the capacity provider
    (AutoScalingGroupArn is create-only); the association then drops the provider the
    service still uses, which ECS refuses (the chain of the real-AWS review, M2)."""
    cfn, ecs = aws.client("cloudformation"), aws.client("ecs")
    cfn.create_stack(StackName="chain", TemplateBody=chain(WILL_REPLACE))
    before = outputs(cfn, "chain")
    with pytest.raises(ClientError) as info:
        cfn.update_stack(StackName="chain", TemplateBody=chain(WILL_REPLACE),
                         Parameters=parameters(InstanceType="m5.large"))
    assert _ecs_rules.IN_USE in error_of(info)[1]
    # the service still runs on the old provider, which no cleanup deleted
    assert service_provider(ecs, before["Cluster"]) == before["Provider"]
    assert [p["status"] for p in providers(ecs, before["Provider"])] == ["ACTIVE"]


PROVIDER_FOR_GROUP = """
Parameters:
  GroupName: {Type: String}
  ProviderName: {Type: String, Default: ''}
Conditions:
  Named: !Not [!Equals [!Ref ProviderName, '']]
Resources:
  Cluster:
    Type: AWS::ECS::Cluster
  Provider:
    Type: AWS::ECS::CapacityProvider
    Properties:
      Name: !If [Named, !Ref ProviderName, !Ref 'AWS::NoValue']
      AutoScalingGroupProvider:
        AutoScalingGroupArn: !Ref GroupName
        ManagedScaling: {Status: ENABLED, TargetCapacity: 90}
  Association:
    Type: AWS::ECS::ClusterCapacityProviderAssociations
    Properties:
      Cluster: !Ref Cluster
      CapacityProviders: [!Ref Provider]
      DefaultCapacityProviderStrategy: [{CapacityProvider: !Ref Provider, Weight: 1}]
Outputs:
  Cluster: {Value: !Ref Cluster}
  Provider: {Value: !Ref Provider}
"""


def test_p12_create_only_change_replaces_the_provider(aws: LocalAws) -> None:
    cfn, ecs = aws.client("cloudformation"), aws.client("ecs")
    cfn.create_stack(StackName="cp", TemplateBody=PROVIDER_FOR_GROUP,
                     Parameters=parameters(GroupName="asg-1"))
    old = outputs(cfn, "cp")["Provider"]

    # a mutable property: updated in place
    cfn.update_stack(StackName="cp", TemplateBody=PROVIDER_FOR_GROUP.replace(
        "TargetCapacity: 90", "TargetCapacity: 80"), Parameters=parameters(GroupName="asg-1"))
    assert outputs(cfn, "cp")["Provider"] == old
    (provider,) = providers(ecs, old)
    assert provider["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"] == 80

    # AutoScalingGroupArn is create-only: a new provider, the old one deleted afterwards
    cfn.update_stack(StackName="cp", TemplateBody=PROVIDER_FOR_GROUP,
                     Parameters=parameters(GroupName="asg-2"))
    new = outputs(cfn, "cp")
    assert new["Provider"] != old and new["Provider"].startswith("cp-Provider-")
    (provider,) = providers(ecs, new["Provider"])
    assert provider["autoScalingGroupProvider"]["autoScalingGroupArn"] == "asg-2"
    assert providers(ecs, old) == []
    cluster = ecs.describe_clusters(clusters=[new["Cluster"]])["clusters"][0]
    assert cluster["capacityProviders"] == [new["Provider"]]
    resources = cfn.describe_stack_resources(StackName="cp")["StackResources"]
    assert {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}[
        "Provider"] == new["Provider"]


def test_p12_custom_named_provider_cannot_be_replaced(aws: LocalAws) -> None:
    cfn, ecs = aws.client("cloudformation"), aws.client("ecs")
    cfn.create_stack(StackName="cp", TemplateBody=PROVIDER_FOR_GROUP,
                     Parameters=parameters(GroupName="asg-1", ProviderName="orders"))
    with pytest.raises(ClientError) as info:
        cfn.update_stack(StackName="cp", TemplateBody=PROVIDER_FOR_GROUP,
                         Parameters=parameters(GroupName="asg-2", ProviderName="orders"))
    assert "custom-named resource requires replacing" in error_of(info)[1]
    (provider,) = providers(ecs, "orders")
    assert provider["autoScalingGroupProvider"]["autoScalingGroupArn"] == "asg-1"


def test_p15_a_new_task_definition_revision_reaches_the_service(aws: LocalAws) -> None:
    """Only the task definition's entry changes; the service references it."""
    cfn, ecs = aws.client("cloudformation"), aws.client("ecs")
    cfn.create_stack(StackName="chain", TemplateBody=chain(INSTANCE_REFRESH))
    cluster = outputs(cfn, "chain")["Cluster"]
    cfn.update_stack(StackName="chain", TemplateBody=chain(INSTANCE_REFRESH).replace(
        "Image: nginx", "Image: nginx:1.27"))
    (service,) = ecs.describe_services(cluster=cluster, services=["web"])["services"]
    assert service["taskDefinition"].endswith("app:2")


# --- P17 --------------------------------------------------------------------------------------


def test_p17_dependency_order() -> None:
    resources = {
        "Service": {"Properties": {"Cluster": {"Ref": "Cluster"}}, "DependsOn": "Association"},
        "Association": {"Properties": {"Cluster": {"Ref": "Cluster"},
                                       "CapacityProviders": [{"Ref": "Provider"}]}},
        "Provider": {"Properties": {"Asg": {"Fn::Sub": "${Group.Arn}-${AWS::Region}"}}},
        "Group": {"Properties": {"Version": {"Fn::GetAtt": "Template.LatestVersionNumber"}}},
        "Template": {"Properties": {}},
        "Cluster": {"Properties": {}},
    }
    order = fixes.dependency_order(resources)
    assert order.index("Template") < order.index("Group") < order.index("Provider")
    assert order.index("Provider") < order.index("Association") < order.index("Service")
    assert order.index("Cluster") < order.index("Association")


def test_p17_stack_with_a_service_on_its_provider_deletes_cleanly(aws: LocalAws) -> None:
    cfn = aws.client("cloudformation")
    cfn.create_stack(StackName="chain", TemplateBody=chain(INSTANCE_REFRESH))
    provider = outputs(cfn, "chain")["Provider"]
    stack_id = cfn.describe_stacks(StackName="chain")["Stacks"][0]["StackId"]
    cfn.delete_stack(StackName="chain")
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == \
        "DELETE_COMPLETE"
    events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    assert "DELETE_FAILED" not in {e["ResourceStatus"] for e in events}
    assert providers(aws.client("ecs"), provider) == []


def other_instance_types(blueprint: str) -> str:
    """The blueprint with its cluster's instance type(s) moved to the m family
    (``c6i.xlarge`` -> ``m6i.xlarge``: same vCPUs, more memory)."""
    line = re.search(r"^  instanceTypes?: .*$", blueprint, re.MULTILINE)
    assert line is not None, "no instance type to edit"
    edited = re.sub(r"\bc(\d+[a-z]*)\.", r"m\1.", line.group(0))
    assert edited != line.group(0)
    return blueprint.replace(line.group(0), edited)


def seed_parent(aws: LocalAws, update_policy: str, version: str,
                instance_family: str = "c") -> str:
    """The seed's rendered stacks uploaded under ``version/`` (as the deployer uploads
    each version), the cluster's group under ``update_policy`` and its instance types
    moved to ``instance_family``; the parent template with its TemplateURLs pointing
    at the uploads."""
    s3 = aws.client("s3")
    if version == "v1":
        s3.create_bucket(Bucket="seed-templates")
    parent = (SEED_TEMPLATES / "parent.yml").read_text(encoding="utf-8")
    cluster = (SEED_TEMPLATES / "cluster.yml").read_text(encoding="utf-8")
    start = cluster.index("    UpdatePolicy:\n")
    end = cluster.index("\n  ContainerInstances:\n")
    cluster = cluster[:start] + update_policy + cluster[end:]
    cluster, edits = re.subn(r"(InstanceType: )c(\d+[a-z]*\.)", rf"\1{instance_family}\2",
                             cluster)
    assert edits, "the seed's cluster template names no instance type"
    for name in ("vpc", "cluster", "service"):
        body = cluster if name == "cluster" else (SEED_TEMPLATES / f"{name}.yml").read_text(
            encoding="utf-8")
        key = f"{version}/{name}.yml"
        s3.put_object(Bucket="seed-templates", Key=key, Body=body.encode())
        parent = parent.replace(f"TemplateURL: {name}.yml",
                                f"TemplateURL: {aws.template_url('seed-templates', key)}")
    return parent


@pytest.mark.filterwarnings("ignore:Exception\\(ResourceInUseException\\)")
def test_seed_stacks_under_a_replacing_update_fail_across_nested_stacks(aws: LocalAws) -> None:
    """The review's M2 chain across the nested stacks: under WillReplace an instance type
    edit replaces the group and the capacity provider in ClusterStack, whose association
    then cannot drop the provider ServiceStack's service runs on."""
    cfn, ecs = aws.client("cloudformation"), aws.client("ecs")
    policy = "    UpdatePolicy:\n      AutoScalingReplacingUpdate:\n        WillReplace: true"
    cfn.create_stack(StackName="api-environment", TemplateBody=seed_parent(aws, policy, "v1"),
                     Capabilities=CAPABILITIES)
    (provider,) = ecs.describe_capacity_providers()["capacityProviders"]
    with pytest.raises(ClientError) as info:
        cfn.update_stack(StackName="api-environment", Capabilities=CAPABILITIES,
                         TemplateBody=seed_parent(aws, policy, "v2", instance_family="m"))
    assert error_of(info) == ("ResourceInUseException", _ecs_rules.IN_USE)
    names = [p["name"] for p in ecs.describe_capacity_providers()["capacityProviders"]]
    assert len(names) == 2 and provider["name"] in names  # the new one, and the old kept


# --- the seed, end to end through `blueprint deploy` ------------------------------------------


def launch_template_version(group: dict[str, Any]) -> str:
    if "LaunchTemplate" in group:
        return str(group["LaunchTemplate"]["Version"])
    specification = group["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]
    return str(specification["Version"])


def test_seed_instance_type_edit_keeps_the_capacity_provider(
    tmp_path: Path, local_aws_server: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10's M2 on the product's endpoint: after the edit the capacity provider and
    the Auto Scaling group keep their identity and the service still runs on them."""
    local_aws_server.reset()
    url = local_aws_server.endpoint_url
    cfn, ecs, autoscaling = (local_aws_server.client(s)
                             for s in ("cloudformation", "ecs", "autoscaling"))
    seed = SEED.read_text(encoding="utf-8")
    path = tmp_path / "env.blueprint.yml"
    path.write_text(seed, encoding="utf-8")
    assert main(["deploy", str(path), "--endpoint-url", url, "--yes"]) == 0, capsys.readouterr()
    parent = outputs(cfn, "api-environment")
    cluster_stack = next(r["PhysicalResourceId"] for r in cfn.describe_stack_resources(
        StackName="api-environment")["StackResources"] if r["LogicalResourceId"] == "ClusterStack")
    before = outputs(cfn, cluster_stack)
    (provider_before,) = providers(ecs, before["CapacityProvider"])
    groups_before = [g["AutoScalingGroupName"] for g in
                     autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]]

    path.write_text(other_instance_types(seed), encoding="utf-8")
    assert main(["deploy", str(path), "--endpoint-url", url, "--yes"]) == 0, capsys.readouterr()
    after = outputs(cfn, cluster_stack)
    assert after["CapacityProvider"] == before["CapacityProvider"]
    (provider_after,) = providers(ecs, after["CapacityProvider"])
    assert provider_after["capacityProviderArn"] == provider_before["capacityProviderArn"]
    assert provider_after["autoScalingGroupProvider"]["autoScalingGroupArn"] == \
        provider_before["autoScalingGroupProvider"]["autoScalingGroupArn"]
    groups = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    assert [g["AutoScalingGroupName"] for g in groups] == groups_before
    (template,) = local_aws_server.client("ec2").describe_launch_templates()["LaunchTemplates"]
    assert template["LatestVersionNumber"] == 2
    assert launch_template_version(groups[0]) == "2"
    assert service_provider(ecs, parent["ClusterName"]) == before["CapacityProvider"]


# --- P18: load balancer attributes and deletion protection ------------------------------------

PROTECTION = "deletion_protection.enabled"


def load_balancer_template(protected: str, idle_timeout: str) -> str:
    return f"""
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {{CidrBlock: 10.0.0.0/16}}
  SubnetA:
    Type: AWS::EC2::Subnet
    Properties: {{VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/24, AvailabilityZone: us-east-1a}}
  SubnetB:
    Type: AWS::EC2::Subnet
    Properties: {{VpcId: !Ref Vpc, CidrBlock: 10.0.1.0/24, AvailabilityZone: us-east-1b}}
  Balancer:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      Subnets: [!Ref SubnetA, !Ref SubnetB]
      LoadBalancerAttributes:
      - {{Key: {PROTECTION}, Value: '{protected}'}}
      - {{Key: idle_timeout.timeout_seconds, Value: '{idle_timeout}'}}
Outputs:
  Balancer: {{Value: !Ref Balancer}}
"""


def attributes(elbv2: Any, arn: str) -> dict[str, str]:
    answer = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    return {str(a["Key"]): str(a["Value"]) for a in answer}


def protect(elbv2: Any, arn: str, enabled: str) -> None:
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
        {"Key": PROTECTION, "Value": enabled}])


def test_p18_template_attributes_are_applied_on_create_and_update(aws: LocalAws) -> None:
    cfn, elbv2 = aws.client("cloudformation"), aws.client("elbv2")
    cfn.create_stack(StackName="lb", TemplateBody=load_balancer_template("true", "30"))
    arn = outputs(cfn, "lb")["Balancer"]
    created = attributes(elbv2, arn)
    assert (created[PROTECTION], created["idle_timeout.timeout_seconds"]) == ("true", "30")

    cfn.update_stack(StackName="lb", TemplateBody=load_balancer_template("false", "45"))
    assert outputs(cfn, "lb")["Balancer"] == arn  # updated in place
    updated = attributes(elbv2, arn)
    assert (updated[PROTECTION], updated["idle_timeout.timeout_seconds"]) == ("false", "45")


def test_p18_delete_load_balancer_is_refused_while_protected(aws: LocalAws) -> None:
    ec2, elbv2 = aws.client("ec2"), aws.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24",
                                 AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
               for i, zone in enumerate("ab")]
    (balancer,) = elbv2.create_load_balancer(Name="protected", Subnets=subnets)["LoadBalancers"]
    arn = balancer["LoadBalancerArn"]
    protect(elbv2, arn, "true")
    with pytest.raises(ClientError) as info:
        elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert error_of(info) == ("OperationNotPermitted", fixes.deletion_protected_message(arn))
    assert fixes.deletion_protected_message(arn) == (
        f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled")
    assert [b["LoadBalancerArn"] for b in elbv2.describe_load_balancers()["LoadBalancers"]] == \
        [arn]

    protect(elbv2, arn, "false")
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []


def deploy_seed(tmp_path: Path, server: LocalAws, capsys: pytest.CaptureFixture[str]) -> Path:
    server.reset()
    path = tmp_path / "env.blueprint.yml"
    path.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["deploy", str(path), "--endpoint-url", server.endpoint_url, "--yes"]) == 0, \
        capsys.readouterr()
    return path


def statuses(cfn: Any) -> dict[str, str]:
    """Every stack's status by its logical id in the parent (the parent: its own name)."""
    found: dict[str, str] = {}
    for summary in cfn.list_stacks()["StackSummaries"]:
        name = str(summary["StackName"])
        label = name.split("-")[-2] if name.count("-") > 1 else name
        found[label] = str(summary["StackStatus"])
    return found


def test_p18_seed_blueprint_delete_turns_protection_off_and_deletes(
    tmp_path: Path, local_aws_server: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    path = deploy_seed(tmp_path, local_aws_server, capsys)
    elbv2 = local_aws_server.client("elbv2")
    (balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    assert attributes(elbv2, balancer["LoadBalancerArn"])[PROTECTION] == "true"
    capsys.readouterr()
    code = main(["delete", str(path), "--endpoint-url", local_aws_server.endpoint_url, "--yes"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "turned off deletion protection of load balancer ServiceStack/" in out
    assert set(statuses(local_aws_server.client("cloudformation")).values()) == \
        {"DELETE_COMPLETE"}
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []


def test_p18_seed_stack_delete_without_turning_protection_off_fails(
    tmp_path: Path, local_aws_server: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy_seed(tmp_path, local_aws_server, capsys)
    cfn, elbv2 = local_aws_server.client("cloudformation"), local_aws_server.client("elbv2")
    (balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    arn = balancer["LoadBalancerArn"]
    stack_id = cfn.describe_stacks(StackName="api-environment")["Stacks"][0]["StackId"]
    cfn.delete_stack(StackName="api-environment")
    assert statuses(cfn) == {"api-environment": "DELETE_FAILED", "ServiceStack": "DELETE_FAILED",
                             "ClusterStack": "CREATE_COMPLETE", "VpcStack": "CREATE_COMPLETE"}
    reasons = [e.get("ResourceStatusReason") for e in
               cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
               if e["ResourceStatus"] == "DELETE_FAILED"]
    assert fixes.deletion_protected_message(arn) in reasons
    assert [b["LoadBalancerArn"] for b in elbv2.describe_load_balancers()["LoadBalancers"]] == \
        [arn]
