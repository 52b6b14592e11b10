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
    ref,
    setting,
    sub,
    wired,
)
from blueprint.model import Blueprint, Cluster
from blueprint.policy_data import allowed_instance_types

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
        parts=(_cluster(), _auto_scaling_group(), _launch_template(), _instance_profile(),
               *_asg_destroyer(), _capacity_provider(), _capacity_provider_association(),
               _host_security_group(), _instance_role(), _task_execution_role()),
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
    ssm = cluster.ami_is_ssm_parameter
    return (
        setting("InstanceType", "cluster.instanceType", cluster.instance_type, {
            "Type": "String", "Default": "c5.xlarge",
            "Description": "EC2 instance type of the container hosts",
            # Exactly the policy allow-list (rules/data/), never wider.
            "AllowedValues": list(allowed_instance_types())}),
        setting("MaxSize", "cluster.maxSize", cluster.max_size, {
            "Type": "Number", "Default": 100, "MinValue": 1,
            "Description": "Most EC2 instances the cluster may launch"}),
        setting("ECSAMI", "cluster.ami", cluster.ami, {
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>" if ssm
            else "AWS::EC2::Image::Id",
            "Description": "AMI of the container hosts"
                           + (" (an SSM parameter that names it)" if ssm else "")}),
        setting("RootVolumeGiB", "cluster.rootVolumeGiB", cluster.root_volume_gib, {
            "Type": "Number", "Default": 50, "MinValue": 30,
            "Description": "Size of each host's root volume in GiB"}),
        setting("ContainerInsights", "cluster.containerInsights",
                "enabled" if cluster.container_insights else "disabled", {
                    "Type": "String", "Default": "enabled",
                    "AllowedValues": ["enabled", "disabled"],
                    "Description": "CloudWatch Container Insights for the cluster"}),
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


def _cluster() -> Part:
    return _part("ECSCluster", {"Type": "AWS::ECS::Cluster", "Properties": {
        "ClusterSettings": [{"Name": "containerInsights", "Value": ref("ContainerInsights")}]}})


def _auto_scaling_group() -> Part:
    return _part("ECSAutoScalingGroup", {
        "Type": "AWS::AutoScaling::AutoScalingGroup",
        # The ASG must be deleted before the cluster and the instance role.
        "DependsOn": ["ECSCluster", "EC2Role"],
        "Properties": {
            "VPCZoneIdentifier": ref("PrivateSubnetIds"),
            "LaunchTemplate": {
                "LaunchTemplateId": ref("ContainerInstances"),
                "Version": get_att("ContainerInstances", "LatestVersionNumber")},
            "MinSize": "0",
            "MaxSize": ref("MaxSize"),
            # No DesiredCapacity: the group starts at MinSize and ECS managed
            # scaling owns its size; a DesiredCapacity would reset it on every
            # update (cluster.desiredCapacity is accepted but not rendered).
            "NewInstancesProtectedFromScaleIn": True,  # for managed termination protection
        },
        "UpdatePolicy": {"AutoScalingInstanceRefresh": _INSTANCE_REFRESH},
    })


def _launch_template() -> Part:
    return _part("ContainerInstances", {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
        "LaunchTemplateData": {
            "ImageId": ref("ECSAMI"),
            "InstanceType": ref("InstanceType"),
            "IamInstanceProfile": {"Name": ref("EC2InstanceProfile")},
            "SecurityGroupIds": [ref("ContainerHostSecurityGroup")],
            # How the instance knows which cluster to join.
            "UserData": {"Fn::Base64": sub(
                "#!/bin/bash\necho ECS_CLUSTER=${ECSCluster} >> /etc/ecs/ecs.config\n")},
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {
                "VolumeSize": ref("RootVolumeGiB"), "VolumeType": "gp3"}}],
            # IMDSv2 only: instance credentials cannot leak through a plain GET.
            "MetadataOptions": {"HttpEndpoint": "enabled", "HttpTokens": "required"},
        }}}, details=(("/Properties/LaunchTemplateData/InstanceType", "cluster.instanceType"),))


def _instance_profile() -> Part:
    return _part("EC2InstanceProfile", {"Type": "AWS::IAM::InstanceProfile", "Properties": {
        "Path": "/", "Roles": [ref("EC2Role")]}})


@cache
def asg_destroyer_source() -> str:
    """The Lambda's source, an ``Fn::Sub`` body (``${AWS::Region}``, ``${ECSAutoScalingGroup}``)."""
    return resources.files(__package__).joinpath("asg_destroyer.sub.js").read_text(
        encoding="utf-8")


def _asg_destroyer() -> list[Part]:
    # ECS keeps scale-in protection on instances for a while after their tasks
    # stop; without this, a stack delete can strand protected instances and
    # block the ASG's deletion forever. It force-deletes the ASG on delete.
    function = {"Type": "AWS::Lambda::Function", "Properties": {
        "Code": {"ZipFile": sub(asg_destroyer_source())},
        "Handler": "index.handler",
        "Runtime": LAMBDA_RUNTIME,
        "Timeout": 30,
        "Role": get_att("CustomAsgDestroyerRole", "Arn")}}
    role = {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            _assume("lambda.amazonaws.com")]},
        "ManagedPolicyArns": [_managed_policy("service-role/AWSLambdaBasicExecutionRole")],
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
