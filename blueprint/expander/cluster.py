"""cluster.yml: an ECS cluster whose capacity provider launches EC2 hosts in private subnets."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from blueprint.expander._build import (
    ChildStack,
    Parameter,
    Part,
    get_att,
    log_group,
    ref,
    setting,
    sub,
    wired,
)
from blueprint.model import Blueprint, Cluster, Logs

SECTION = "cluster"
LAMBDA_RUNTIME = "nodejs22.x"  # the seed's nodejs20.x can no longer be created

# A new launch template version (instance type, AMI, root volume) rolls the
# hosts of the same Auto Scaling group; the seed's `AutoScalingReplacingUpdate:
# WillReplace` replaced the group, hence the capacity provider (its
# AutoScalingGroupArn is create-only), which ECS refuses while tasks use it.
_INSTANCE_REFRESH = {
    "Strategy": "Rolling",
    "Preferences": {
        # Launch before terminate: capacity never drops below what runs now.
        "MinHealthyPercentage": 100,
        "MaxHealthyPercentage": 200,
        # Time for the ECS agent to register before the next old host drains.
        "InstanceWarmup": 120,
        "SkipMatching": True,
        # Hosts running tasks are scale-in protected (managed termination
        # protection); the default, Wait, would stall the refresh for an hour
        # and fail it. Managed draining moves their tasks off first.
        "ScaleInProtectedInstances": "Refresh",
    },
}


def build(bp: Blueprint) -> ChildStack:
    return ChildStack(
        description="ECS cluster on EC2 whose capacity provider launches instances "
                    "in the private subnets on demand",
        section=SECTION,
        parameters=_parameters(bp.cluster),
        parts=(_cluster(bp.cluster), _auto_scaling_group(bp), _launch_template(bp.cluster),
               _instance_profile(), *_asg_destroyer(bp.logs), _capacity_provider(),
               _capacity_provider_association(), _host_security_group(), _instance_role(),
               _task_execution_role()),
        outputs={
            "ClusterName": {"Description": "The ECS cluster", "Value": ref("ECSCluster")},
            "ECSTaskExecutionRole": {"Description": "The role that starts tasks",
                                     "Value": ref("ECSTaskExecutionRole")},
            "CapacityProvider": {"Description": "The capacity provider services request "
                                                "capacity from",
                                 "Value": ref("CapacityProvider")},
            "ContainerHostSecurityGroup": {"Description": "Security group of the EC2 hosts",
                                           "Value": ref("ContainerHostSecurityGroup")},
        },
    )


def _parameters(cluster: Cluster) -> tuple[Parameter, ...]:
    # The AMI stays a parameter: an SSM path is resolved by CloudFormation on
    # every deploy (a new recommended AMI then rolls the hosts), which a literal
    # cannot do. Every other setting is written where it is used.
    ssm = cluster.ami_is_ssm_parameter
    return (
        setting("ECSAMI", "cluster.ami", cluster.ami, {
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>" if ssm
            else "AWS::EC2::Image::Id",
            "Description": "AMI of the container hosts"
                           + (" (an SSM parameter that names it)" if ssm else "")}),
        wired("VpcId", {"Type": "AWS::EC2::VPC::Id", "Description": "VPC of the cluster"}),
        wired("PrivateSubnetIds", {"Type": "List<AWS::EC2::Subnet::Id>",
                                   "Description": "Private subnets for the EC2 instances"}),
    )


def _part(logical_id: str, resource: dict[str, Any],
          details: tuple[tuple[str, str], ...] = ()) -> Part:
    return Part(logical_id, resource, SECTION, details)


def _assume(service: str) -> dict[str, Any]:
    # Service principals are `<service>.amazonaws.com` in every partition, China
    # included; `${AWS::URLSuffix}` (amazonaws.com.cn there) would be wrong.
    return {"Effect": "Allow", "Action": ["sts:AssumeRole"], "Principal": {"Service": [service]}}


def _managed_policy(name: str) -> dict[str, str]:
    return sub(f"arn:${{AWS::Partition}}:iam::aws:policy/{name}")


def _cluster(cluster: Cluster) -> Part:
    insights = "enabled" if cluster.container_insights else "disabled"
    return _part("ECSCluster", {"Type": "AWS::ECS::Cluster", "Properties": {
        "ClusterSettings": [{"Name": "containerInsights", "Value": insights}]}},
        (("/Properties/ClusterSettings", "cluster.containerInsights"),))


def _auto_scaling_group(bp: Blueprint) -> Part:
    cluster = bp.cluster
    template = {"LaunchTemplateId": ref("ContainerInstances"),
                "Version": get_att("ContainerInstances", "LatestVersionNumber")}
    properties: dict[str, Any] = {
        "VPCZoneIdentifier": ref("PrivateSubnetIds"),
        # The zones of the private subnets, in the VPC stack's order; said
        # again here because CT.AUTOSCALING.PR.1 reads only this property.
        "AvailabilityZones": [{"Fn::Select": [index, {"Fn::GetAZs": ""}]}
                              for index in range(bp.network.availability_zones)]}
    types_at: str
    # One type is a choice CT.AUTOSCALING.PR.6 reports on the group's
    # properties as a whole: shown at the field that made it.
    single_type = () if len(cluster.instance_types) > 1 else (
        ("/Properties", cluster.instance_types_field),)
    if len(cluster.instance_types) > 1:
        # Several types (CT.AUTOSCALING.PR.6), the first preferred; policy 4
        # checks each override against the allow-list.
        properties["MixedInstancesPolicy"] = {"LaunchTemplate": {
            "LaunchTemplateSpecification": template,
            "Overrides": [{"InstanceType": t} for t in cluster.instance_types]}}
        types_at = "/Properties/MixedInstancesPolicy"
    else:
        properties["LaunchTemplate"] = template
        types_at = "/Properties/LaunchTemplate"
    properties.update({
        "MinSize": "0",
        "MaxSize": str(cluster.max_size),
        # No DesiredCapacity: the group starts at MinSize and ECS managed
        # scaling owns its size; a DesiredCapacity would reset it on every
        # update (cluster.desiredCapacity is accepted but not rendered).
        "NewInstancesProtectedFromScaleIn": True,  # for managed termination protection
    })
    return _part("ECSAutoScalingGroup", {
        "Type": "AWS::AutoScaling::AutoScalingGroup",
        # The ASG must be deleted before the cluster and the instance role.
        "DependsOn": ["ECSCluster", "EC2Role"],
        "Properties": properties,
        "UpdatePolicy": {"AutoScalingInstanceRefresh": _INSTANCE_REFRESH},
    }, ((types_at, cluster.instance_types_field), *single_type,
        ("/Properties/VPCZoneIdentifier", "network"),
        ("/Properties/AvailabilityZones", "network.availabilityZones"),
        ("/Properties/MaxSize", "cluster.maxSize")))


def _launch_template(cluster: Cluster) -> Part:
    return _part("ContainerInstances", {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
        "LaunchTemplateData": {
            "ImageId": ref("ECSAMI"),
            "InstanceType": cluster.instance_type,
            "IamInstanceProfile": {"Name": ref("EC2InstanceProfile")},
            "SecurityGroupIds": [ref("ContainerHostSecurityGroup")],
            # How the instance knows which cluster to join; awsvpc tasks may
            # not reach the instance metadata (the instance role's credentials).
            "UserData": {"Fn::Base64": sub(
                "#!/bin/bash\necho ECS_CLUSTER=${ECSCluster} >> /etc/ecs/ecs.config\n"
                "echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config\n")},
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {
                "VolumeSize": cluster.root_volume_gib, "VolumeType": "gp3",
                # With the account's default EBS key (aws/ebs unless changed).
                "Encrypted": True}}],
            # One-minute metrics, for scaling and incidents (CT.EC2.PR.10).
            "Monitoring": {"Enabled": True},
            # IMDSv2 only: instance credentials cannot leak through a plain GET.
            "MetadataOptions": {"HttpEndpoint": "enabled", "HttpTokens": "required"},
        }}}, details=(
            ("/Properties/LaunchTemplateData/InstanceType", cluster.instance_types_field),
            ("/Properties/LaunchTemplateData/BlockDeviceMappings/0/Ebs/VolumeSize",
             "cluster.rootVolumeGiB"),
            ("/Properties/LaunchTemplateData/ImageId", "cluster.ami")))


def _instance_profile() -> Part:
    return _part("EC2InstanceProfile", {"Type": "AWS::IAM::InstanceProfile", "Properties": {
        "Path": "/", "Roles": [ref("EC2Role")]}})


@cache
def asg_destroyer_source() -> str:
    """The Lambda's source, an ``Fn::Sub`` body (``${AWS::Region}``, ``${ECSAutoScalingGroup}``)."""
    return resources.files(__package__).joinpath("asg_destroyer.sub.js").read_text(
        encoding="utf-8")


def _asg_destroyer(logs: Logs) -> list[Part]:
    # ECS keeps scale-in protection on instances for a while after their tasks
    # stop (managed termination protection, kept for instance refresh with
    # ScaleInProtectedInstances: Refresh); without this, a stack delete can
    # strand protected instances and block the ASG's deletion forever. It
    # force-deletes the ASG on delete. It runs in the private subnets
    # (CT.LAMBDA.PR.3), reaching the Auto Scaling API and the response URL
    # through NAT, and logs to a log group of the stack with its retention.
    function = {"Type": "AWS::Lambda::Function", "Properties": {
        "Code": {"ZipFile": sub(asg_destroyer_source())},
        "Handler": "index.handler",
        "Runtime": LAMBDA_RUNTIME,
        "Timeout": 30,
        "Role": get_att("CustomAsgDestroyerRole", "Arn"),
        "LoggingConfig": {"LogGroup": ref("CustomAsgDestroyerLogGroup")},
        "VpcConfig": {"SubnetIds": ref("PrivateSubnetIds"),
                      "SecurityGroupIds": [ref("CustomAsgDestroyerSecurityGroup")]}}}
    security_group = {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "The ASG clean-up function: no ingress, HTTPS out to AWS APIs",
        "VpcId": ref("VpcId"),
        "SecurityGroupEgress": [{"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 443,
                                 "ToPort": 443, "Description": "AWS APIs and the "
                                                               "CloudFormation response URL"}]}}
    role = {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            _assume("lambda.amazonaws.com")]},
        # Logs, plus the network interfaces a function in a VPC needs.
        "ManagedPolicyArns": [_managed_policy("service-role/AWSLambdaVPCAccessExecutionRole")],
        "Policies": [{"PolicyName": "allow-to-delete-autoscaling-group", "PolicyDocument": {
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "autoscaling:DeleteAutoScalingGroup",
                "Resource": sub("arn:${AWS::Partition}:autoscaling:${AWS::Region}:"
                                "${AWS::AccountId}:"
                                "autoScalingGroup:*:autoScalingGroupName/"
                                "${ECSAutoScalingGroup}")}]}}]}}
    custom = {"Type": "Custom::AsgDestroyer", "DependsOn": ["CapacityProviderAssociation"],
              "Properties": {"ServiceToken": get_att("CustomAsgDestroyerFunction", "Arn"),
                             "Region": ref("AWS::Region")}}
    return [_part("CustomAsgDestroyerFunction", function),
            _part("CustomAsgDestroyerSecurityGroup", security_group),
            log_group("CustomAsgDestroyerLogGroup", logs, retain=False),
            _part("CustomAsgDestroyerRole", role),
            _part("CustomAsgDestroyer", custom)]


def _capacity_provider() -> Part:
    return _part("CapacityProvider", {"Type": "AWS::ECS::CapacityProvider", "Properties": {
        "AutoScalingGroupProvider": {
            "AutoScalingGroupArn": ref("ECSAutoScalingGroup"),
            "ManagedScaling": {
                "InstanceWarmupPeriod": 60, "MinimumScalingStepSize": 1,
                "MaximumScalingStepSize": 100, "Status": "ENABLED", "TargetCapacity": 100},
            "ManagedTerminationProtection": "ENABLED",
            "ManagedDraining": "ENABLED"}}})


def _capacity_provider_association() -> Part:
    return _part("CapacityProviderAssociation", {
        "Type": "AWS::ECS::ClusterCapacityProviderAssociations", "Properties": {
            "CapacityProviders": [ref("CapacityProvider")],
            "Cluster": ref("ECSCluster"),
            "DefaultCapacityProviderStrategy": [
                {"Base": 0, "CapacityProvider": ref("CapacityProvider"), "Weight": 1}]}})


def _host_security_group() -> Part:
    return _part("ContainerHostSecurityGroup", {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "Access to the EC2 hosts that run containers",
        "VpcId": ref("VpcId")}})


def _instance_role() -> Part:
    return _part("EC2Role", {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Statement": [
            _assume("ec2.amazonaws.com")]},
        "Path": "/",
        "ManagedPolicyArns": [
            _managed_policy("service-role/AmazonEC2ContainerServiceforEC2Role")]}})


def _task_execution_role() -> Part:
    return _part("ECSTaskExecutionRole", {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Statement": [{
            **_assume("ecs-tasks.amazonaws.com"),
            "Condition": {
                "ArnLike": {"aws:SourceArn": sub(
                    "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*")},
                "StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}}]},
        "Path": "/",
        "ManagedPolicyArns": [
            _managed_policy("service-role/AmazonECSTaskExecutionRolePolicy")]}})
