"""Blueprint -> the four CloudFormation templates (vpc, cluster, service, parent).

A pure function of the typed blueprint: no I/O, no clock, no randomness,
so the same blueprint always renders byte-identical templates.

The children are parameterised: every value that is a plain setting
(instance type, counts, ports, image...) is a parameter that the parent
passes explicitly, so two blueprints that differ only in values share
identical child templates. Only choices that change the shape of a
template (number of AZs, NAT mode, HTTPS, autoscaling, environment names)
change a child.

The resources follow ``shared/seed`` (the "public facing API hosted on EC2"
pattern) with its outdated parts fixed; each fix is commented where it is
made.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from typing import Any

from blueprint import cfn_yaml
from blueprint.model import Blueprint
from blueprint.policy_data import allowed_instance_types

TEMPLATE_NAMES = ("parent.yml", "vpc.yml", "cluster.yml", "service.yml")
CHILD_STACKS = {"VpcStack": "vpc.yml", "ClusterStack": "cluster.yml",
                "ServiceStack": "service.yml"}
ORDINALS = ("One", "Two", "Three")
LAMBDA_RUNTIME = "nodejs22.x"  # the seed's nodejs20.x can no longer be created
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"

Template = dict[str, Any]


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def get_att(resource: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [resource, attribute]}


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


@dataclass(frozen=True)
class Rendering:
    """The rendered templates, as data and as text, and where each part came from."""

    templates: dict[str, Template]
    texts: dict[str, str]
    # template name -> [(JSON-pointer prefix, blueprint field)], longest prefix first
    provenance: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def blueprint_field(self, template: str, pointer: str) -> str | None:
        for prefix, source in self.provenance.get(template, []):
            if pointer == prefix or pointer.startswith(prefix + "/"):
                return source
        return None


class _Provenance:
    def __init__(self) -> None:
        self.entries: dict[str, dict[str, str]] = {name: {} for name in TEMPLATE_NAMES}

    def note(self, template: str, pointer: str, source: str) -> None:
        self.entries[template][pointer] = source

    def sorted(self) -> dict[str, list[tuple[str, str]]]:
        return {name: sorted(entries.items(), key=lambda item: -len(item[0]))
                for name, entries in self.entries.items()}


def render(blueprint: Blueprint) -> Rendering:
    provenance = _Provenance()
    params: dict[str, dict[str, Any]] = {}  # child stack -> parameter values from the parent
    vpc = _vpc_template(blueprint, params, provenance)
    cluster = _cluster_template(blueprint, params, provenance)
    service = _service_template(blueprint, params, provenance)
    parent = _parent_template(blueprint, params, provenance)
    templates = {"parent.yml": parent, "vpc.yml": vpc, "cluster.yml": cluster,
                 "service.yml": service}
    texts = {name: cfn_yaml.dump(template) for name, template in templates.items()}
    return Rendering(templates, texts, provenance.sorted())


# --------------------------------------------------------------------------- vpc


def subnet_cidrs(vpc_cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """Equal public and private subnets carved from the VPC range, publics first."""
    network = ipaddress.ip_network(vpc_cidr, strict=False)
    extra_bits = math.ceil(math.log2(2 * zones))
    subnets = [str(s) for s in network.subnets(prefixlen_diff=extra_bits)][: 2 * zones]
    return subnets[:zones], subnets[zones:]


def _vpc_template(bp: Blueprint, params: dict[str, dict[str, Any]],
                  prov: _Provenance) -> Template:
    zones = ORDINALS[: bp.network.availability_zones]
    public_cidrs, private_cidrs = subnet_cidrs(bp.network.cidr, bp.network.availability_zones)
    single_nat = bp.network.nat_gateways == "single"
    values: dict[str, Any] = {"VpcCidr": str(ipaddress.ip_network(bp.network.cidr,
                                                                   strict=False))}
    parameters: dict[str, Any] = {
        "VpcCidr": {"Type": "String", "Description": "IPv4 range of the VPC",
                    "AllowedPattern": r"^(\d{1,3}\.){3}\d{1,3}/\d{1,2}$"},
    }
    prov.note("vpc.yml", "/Parameters/VpcCidr", "network.cidr")
    for kind, cidrs in (("Public", public_cidrs), ("Private", private_cidrs)):
        for ordinal, cidr in zip(zones, cidrs, strict=True):
            name = f"{kind}{ordinal}Cidr"
            parameters[name] = {"Type": "String",
                                "Description": f"IPv4 range of the {kind.lower()} subnet "
                                               f"in AZ {ordinal.lower()}",
                                "AllowedPattern": r"^(\d{1,3}\.){3}\d{1,3}/\d{1,2}$"}
            values[name] = cidr
            prov.note("vpc.yml", f"/Parameters/{name}", "network.cidr")
    params["VpcStack"] = values

    resources: dict[str, Any] = {
        "VPC": {"Type": "AWS::EC2::VPC", "Properties": {
            "EnableDnsSupport": True, "EnableDnsHostnames": True,
            "CidrBlock": ref("VpcCidr")}},
    }
    for index, ordinal in enumerate(zones):
        for kind in ("Public", "Private"):
            properties: dict[str, Any] = {
                # `Fn::GetAZs: ''` means "this region"; the seed's {Ref: AWS::Region}
                # form is equivalent on AWS but not understood by every tool.
                "AvailabilityZone": {"Fn::Select": [index, {"Fn::GetAZs": ""}]},
                "VpcId": ref("VPC"),
                "CidrBlock": ref(f"{kind}{ordinal}Cidr"),
            }
            if kind == "Public":
                properties["MapPublicIpOnLaunch"] = True
            resources[f"{kind}Subnet{ordinal}"] = {"Type": "AWS::EC2::Subnet",
                                                   "Properties": properties}
    resources["InternetGateway"] = {"Type": "AWS::EC2::InternetGateway"}
    resources["GatewayAttachement"] = {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {
        "VpcId": ref("VPC"), "InternetGatewayId": ref("InternetGateway")}}
    resources["PublicRouteTable"] = {"Type": "AWS::EC2::RouteTable",
                                     "Properties": {"VpcId": ref("VPC")}}
    resources["PublicRoute"] = {"Type": "AWS::EC2::Route", "DependsOn": "GatewayAttachement",
                                "Properties": {"RouteTableId": ref("PublicRouteTable"),
                                               "DestinationCidrBlock": "0.0.0.0/0",
                                               "GatewayId": ref("InternetGateway")}}
    for ordinal in zones:
        resources[f"PublicSubnet{ordinal}RouteTableAssociation"] = {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"SubnetId": ref(f"PublicSubnet{ordinal}"),
                           "RouteTableId": ref("PublicRouteTable")}}
    nat_zones = zones[:1] if single_nat else zones
    for ordinal in nat_zones:
        resources[f"NatGateway{ordinal}Attachment"] = {
            "Type": "AWS::EC2::EIP", "DependsOn": "GatewayAttachement",
            "Properties": {"Domain": "vpc"}}
        resources[f"NatGateway{ordinal}"] = {"Type": "AWS::EC2::NatGateway", "Properties": {
            "AllocationId": get_att(f"NatGateway{ordinal}Attachment", "AllocationId"),
            "SubnetId": ref(f"PublicSubnet{ordinal}")}}
    for ordinal in zones:
        nat = f"NatGateway{'One' if single_nat else ordinal}"
        resources[f"PrivateRouteTable{ordinal}"] = {"Type": "AWS::EC2::RouteTable",
                                                    "Properties": {"VpcId": ref("VPC")}}
        resources[f"PrivateRoute{ordinal}"] = {"Type": "AWS::EC2::Route", "Properties": {
            "RouteTableId": ref(f"PrivateRouteTable{ordinal}"),
            "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": ref(nat)}}
        resources[f"PrivateRouteTable{ordinal}Association"] = {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"RouteTableId": ref(f"PrivateRouteTable{ordinal}"),
                           "SubnetId": ref(f"PrivateSubnet{ordinal}")}}
    prov.note("vpc.yml", "/Resources", "network")

    def joined(kind: str) -> dict[str, str]:
        return sub(",".join(f"${{{kind}Subnet{ordinal}}}" for ordinal in zones))

    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "VPC with public subnets (load balancer, NAT) and private subnets "
                       "(instances, tasks) in each Availability Zone",
        "Parameters": parameters,
        "Resources": resources,
        "Outputs": {
            "VpcId": {"Description": "The ID of the VPC", "Value": ref("VPC")},
            "PublicSubnetIds": {"Description": "Comma-separated public subnets, with a route "
                                               "to the internet gateway",
                                "Value": joined("Public")},
            "PrivateSubnetIds": {"Description": "Comma-separated private subnets, with "
                                                "outbound access through NAT",
                                 "Value": joined("Private")},
        },
    }


# ----------------------------------------------------------------------- cluster

_ASG_DESTROYER_CODE = (
    "const { AutoScalingClient, DeleteAutoScalingGroupCommand } = "
    'require("@aws-sdk/client-auto-scaling");\n'
) + """\
const autoscaling = new AutoScalingClient({ region: '${AWS::Region}' });
const response = require('cfn-response');

exports.handler = async function(event, context) {
  console.log(event);

  if (event.RequestType !== "Delete") {
    await response.send(event, context, response.SUCCESS);
    return;
  }

  const input = {
    AutoScalingGroupName: '${ECSAutoScalingGroup}',
    ForceDelete: true
  };
  const command = new DeleteAutoScalingGroupCommand(input);
  const deleteResponse = await autoscaling.send(command);
  console.log(deleteResponse);

  await response.send(event, context, response.SUCCESS);
};
"""


def _cluster_template(bp: Blueprint, params: dict[str, dict[str, Any]],
                      prov: _Provenance) -> Template:
    cluster = bp.cluster
    parameters: dict[str, Any] = {
        "InstanceType": {
            "Type": "String", "Default": "c5.xlarge",
            "Description": "EC2 instance type of the container hosts",
            # Exactly the policy allow-list (rules/data/), never wider.
            "AllowedValues": list(allowed_instance_types()),
        },
        "DesiredCapacity": {"Type": "Number", "Default": 0, "MinValue": 0,
                            "Description": "Number of EC2 instances to launch in the cluster"},
        "MaxSize": {"Type": "Number", "Default": 100, "MinValue": 1,
                    "Description": "Most EC2 instances the cluster may launch"},
        "ECSAMI": {
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
            if cluster.ami_is_ssm_parameter else "AWS::EC2::Image::Id",
            "Description": "AMI of the container hosts"
                           + (" (an SSM parameter that names it)"
                              if cluster.ami_is_ssm_parameter else ""),
        },
        "RootVolumeGiB": {"Type": "Number", "Default": 50, "MinValue": 30,
                          "Description": "Size of each host's root volume in GiB"},
        "ContainerInsights": {"Type": "String", "Default": "enabled",
                              "AllowedValues": ["enabled", "disabled"],
                              "Description": "CloudWatch Container Insights for the cluster"},
        "VpcId": {"Type": "AWS::EC2::VPC::Id", "Description": "VPC of the cluster"},
        "PrivateSubnetIds": {"Type": "List<AWS::EC2::Subnet::Id>",
                             "Description": "Private subnets for the EC2 instances"},
    }
    params["ClusterStack"] = {
        "InstanceType": cluster.instance_type,
        "DesiredCapacity": cluster.desired_capacity,
        "MaxSize": cluster.max_size,
        "ECSAMI": cluster.ami,
        "RootVolumeGiB": cluster.root_volume_gib,
        "ContainerInsights": "enabled" if cluster.container_insights else "disabled",
    }
    for name, source in (("InstanceType", "cluster.instanceType"),
                         ("DesiredCapacity", "cluster.desiredCapacity"),
                         ("MaxSize", "cluster.maxSize"), ("ECSAMI", "cluster.ami"),
                         ("RootVolumeGiB", "cluster.rootVolumeGiB"),
                         ("ContainerInsights", "cluster.containerInsights")):
        prov.note("cluster.yml", f"/Parameters/{name}", source)
        prov.note("parent.yml", f"/Resources/ClusterStack/Properties/Parameters/{name}", source)
    prov.note("cluster.yml", "/Resources/ContainerInstances/Properties/LaunchTemplateData/"
                             "InstanceType", "cluster.instanceType")
    prov.note("cluster.yml", "/Resources", "cluster")

    assume = {"Effect": "Allow", "Action": ["sts:AssumeRole"]}
    resources: dict[str, Any] = {
        "ECSCluster": {"Type": "AWS::ECS::Cluster", "Properties": {
            "ClusterSettings": [{"Name": "containerInsights", "Value": ref("ContainerInsights")}]}},
        "ECSAutoScalingGroup": {
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
                "DesiredCapacity": ref("DesiredCapacity"),
                "NewInstancesProtectedFromScaleIn": True,
            },
            "UpdatePolicy": {"AutoScalingReplacingUpdate": {"WillReplace": True}},
        },
        "ContainerInstances": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
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
            }}},
        "EC2InstanceProfile": {"Type": "AWS::IAM::InstanceProfile", "Properties": {
            "Path": "/", "Roles": [ref("EC2Role")]}},
        # ECS keeps scale-in protection on instances for a while after their tasks
        # stop; without this, a stack delete can strand protected instances and
        # block the ASG's deletion forever. It force-deletes the ASG on delete.
        "CustomAsgDestroyerFunction": {"Type": "AWS::Lambda::Function", "Properties": {
            "Code": {"ZipFile": sub(_ASG_DESTROYER_CODE)},
            "Handler": "index.handler",
            "Runtime": LAMBDA_RUNTIME,
            "Timeout": 30,
            "Role": get_att("CustomAsgDestroyerRole", "Arn")}},
        "CustomAsgDestroyerRole": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {**assume, "Principal": {"Service": ["lambda.amazonaws.com"]}}]},
            "ManagedPolicyArns": [
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
            "Policies": [{"PolicyName": "allow-to-delete-autoscaling-group", "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": "autoscaling:DeleteAutoScalingGroup",
                    "Resource": sub("arn:aws:autoscaling:${AWS::Region}:${AWS::AccountId}:"
                                    "autoScalingGroup:*:autoScalingGroupName/"
                                    "${ECSAutoScalingGroup}")}]}}]}},
        "CustomAsgDestroyer": {"Type": "Custom::AsgDestroyer",
                               "DependsOn": ["CapacityProviderAssociation"],
                               "Properties": {
                                   "ServiceToken": get_att("CustomAsgDestroyerFunction", "Arn"),
                                   "Region": ref("AWS::Region")}},
        "CapacityProvider": {"Type": "AWS::ECS::CapacityProvider", "Properties": {
            "AutoScalingGroupProvider": {
                "AutoScalingGroupArn": ref("ECSAutoScalingGroup"),
                "ManagedScaling": {
                    "InstanceWarmupPeriod": 60, "MinimumScalingStepSize": 1,
                    "MaximumScalingStepSize": 100, "Status": "ENABLED", "TargetCapacity": 100},
                "ManagedTerminationProtection": "ENABLED",
                "ManagedDraining": "ENABLED"}}},
        "CapacityProviderAssociation": {
            "Type": "AWS::ECS::ClusterCapacityProviderAssociations", "Properties": {
                "CapacityProviders": [ref("CapacityProvider")],
                "Cluster": ref("ECSCluster"),
                "DefaultCapacityProviderStrategy": [
                    {"Base": 0, "CapacityProvider": ref("CapacityProvider"), "Weight": 1}]}},
        "ContainerHostSecurityGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "Access to the EC2 hosts that run containers",
            "VpcId": ref("VpcId")}},
        "EC2Role": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [
                {**assume, "Principal": {"Service": ["ec2.amazonaws.com"]}}]},
            "Path": "/",
            "ManagedPolicyArns": [
                "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"]}},
        "ECSTaskExecutionRole": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [{
                **assume, "Principal": {"Service": ["ecs-tasks.amazonaws.com"]},
                "Condition": {
                    "ArnLike": {"aws:SourceArn": sub(
                        "arn:aws:ecs:${AWS::Region}:${AWS::AccountId}:*")},
                    "StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}}]},
            "Path": "/",
            "ManagedPolicyArns": [
                "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]}},
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "ECS cluster on EC2 whose capacity provider launches instances "
                       "in the private subnets on demand",
        "Parameters": parameters,
        "Resources": resources,
        "Outputs": {
            "ClusterName": {"Description": "The ECS cluster", "Value": ref("ECSCluster")},
            "ECSTaskExecutionRole": {"Description": "The role that starts tasks",
                                     "Value": ref("ECSTaskExecutionRole")},
            "CapacityProvider": {"Description": "The capacity provider services request "
                                                "capacity from",
                                 "Value": ref("CapacityProvider")},
            "ContainerHostSecurityGroup": {"Description": "Security group of the EC2 hosts",
                                           "Value": ref("ContainerHostSecurityGroup")},
        },
    }


# ----------------------------------------------------------------------- service


def _service_template(bp: Blueprint, params: dict[str, dict[str, Any]],
                      prov: _Provenance) -> Template:
    svc, lb = bp.service, bp.load_balancer
    hc = svc.health_check
    number = "Number"
    setting: list[tuple[str, str, Any, str, str]] = [
        # (parameter, type, value, blueprint field, description)
        ("ServiceName", "String", svc.name, "service.name",
         "Name of the service, its task family and its container"),
        ("ImageUrl", "String", svc.image, "service.image", "Container image"),
        ("ContainerCpu", number, svc.cpu, "service.cpu", "CPU units (1024 = one vCPU)"),
        ("ContainerMemory", number, svc.memory, "service.memory", "Memory in MiB"),
        ("ContainerPort", number, svc.port, "service.port", "Port the container listens on"),
        ("DesiredCount", number, svc.desired_count, "service.desiredCount",
         "How many copies of the task to run"),
        ("HealthCheckPath", "String", hc.path, "service.healthCheck.path",
         "Path the load balancer checks"),
        ("HealthCheckIntervalSeconds", number, hc.interval_seconds,
         "service.healthCheck.intervalSeconds", "Seconds between health checks"),
        ("HealthCheckTimeoutSeconds", number, hc.timeout_seconds,
         "service.healthCheck.timeoutSeconds", "Seconds to wait for a health check"),
        ("HealthyThresholdCount", number, hc.healthy_threshold,
         "service.healthCheck.healthyThreshold", "Successes before healthy"),
        ("UnhealthyThresholdCount", number, hc.unhealthy_threshold,
         "service.healthCheck.unhealthyThreshold", "Failures before unhealthy"),
        ("DeploymentMaximumPercent", number, svc.deployment.maximum_percent,
         "service.deployment.maximumPercent", "Most tasks during a deployment, in percent"),
        ("DeploymentMinimumHealthyPercent", number, svc.deployment.minimum_healthy_percent,
         "service.deployment.minimumHealthyPercent",
         "Fewest healthy tasks during a deployment, in percent"),
        ("ListenerPort", number, lb.port, "loadBalancer.port", "Port of the public listener"),
        ("IdleTimeoutSeconds", "String", str(lb.idle_timeout_seconds),
         "loadBalancer.idleTimeoutSeconds", "Load balancer idle timeout in seconds"),
    ]
    if lb.https:
        setting.append(("CertificateArn", "String", lb.certificate_arn,
                        "loadBalancer.certificateArn", "ACM certificate of the listener"))
    if svc.autoscaling:
        scaling = svc.autoscaling
        setting += [
            ("MinCount", number, scaling.min_count, "service.autoscaling.minCount",
             "Fewest tasks"),
            ("MaxCount", number, scaling.max_count, "service.autoscaling.maxCount",
             "Most tasks"),
            ("TargetCpuPercent", number, scaling.target_cpu_percent,
             "service.autoscaling.targetCpuPercent", "Average CPU utilisation to hold"),
        ]
    parameters: dict[str, Any] = {
        "VpcId": {"Type": "AWS::EC2::VPC::Id", "Description": "VPC of the service"},
        "PublicSubnetIds": {"Type": "List<AWS::EC2::Subnet::Id>",
                            "Description": "Public subnets for the load balancer"},
        "PrivateSubnetIds": {"Type": "List<AWS::EC2::Subnet::Id>",
                             "Description": "Private subnets for the tasks"},
        "ClusterName": {"Type": "String", "Description": "ECS cluster of the service"},
        "ECSTaskExecutionRole": {"Type": "String", "Description": "Role that starts the tasks"},
        "CapacityProvider": {"Type": "String",
                             "Description": "Capacity provider the service requests EC2 "
                                           "capacity from"},
    }
    values: dict[str, Any] = {}
    for name, kind, value, source, description in setting:
        parameters[name] = {"Type": kind, "Description": description}
        values[name] = value
        prov.note("service.yml", f"/Parameters/{name}", source)
        prov.note("parent.yml", f"/Resources/ServiceStack/Properties/Parameters/{name}", source)
    for index, cidr in enumerate(lb.ingress_cidrs):
        prov.note("service.yml", f"/Resources/PublicLoadBalancerSG/Properties/"
                                 f"SecurityGroupIngress/{index}", "loadBalancer.ingressCidrs")
        del cidr
    params["ServiceStack"] = values

    container: dict[str, Any] = {
        "Name": ref("ServiceName"),
        "Cpu": ref("ContainerCpu"),
        "Memory": ref("ContainerMemory"),
        "Image": ref("ImageUrl"),
        "PortMappings": [{"ContainerPort": ref("ContainerPort"),
                          "HostPort": ref("ContainerPort")}],
        "LogConfiguration": {"LogDriver": "awslogs", "Options": {
            "mode": "non-blocking",
            "max-buffer-size": "25m",
            "awslogs-group": ref("LogGroup"),
            "awslogs-region": ref("AWS::Region"),
            "awslogs-stream-prefix": ref("ServiceName")}},
    }
    if svc.environment:
        container["Environment"] = [{"Name": k, "Value": v} for k, v in svc.environment]
        prov.note("service.yml", "/Resources/TaskDefinition/Properties/ContainerDefinitions/0/"
                                 "Environment", "service.environment")
    if svc.secrets:
        container["Secrets"] = [{"Name": k, "ValueFrom": v} for k, v in svc.secrets]
        prov.note("service.yml", "/Resources/TaskDefinition/Properties/ContainerDefinitions/0/"
                                 "Secrets", "service.secrets")

    listener_port_rules: list[dict[str, Any]] = [
        {"CidrIp": cidr, "IpProtocol": "tcp", "FromPort": ref("ListenerPort"),
         "ToPort": ref("ListenerPort"), "Description": "Clients of the public listener"}
        for cidr in lb.ingress_cidrs]
    if lb.https:
        listener_port_rules += [{"CidrIp": cidr, "IpProtocol": "tcp", "FromPort": 80,
                                 "ToPort": 80, "Description": "HTTP, redirected to HTTPS"}
                                for cidr in lb.ingress_cidrs]

    resources: dict[str, Any] = {
        "TaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": ref("ServiceName"),
            "Cpu": ref("ContainerCpu"),
            "Memory": ref("ContainerMemory"),
            "NetworkMode": "awsvpc",
            "RequiresCompatibilities": ["EC2"],
            "ExecutionRoleArn": ref("ECSTaskExecutionRole"),
            "ContainerDefinitions": [container]}},
        "Service": {
            "Type": "AWS::ECS::Service",
            # The target group must be attached to the load balancer first.
            "DependsOn": ["PublicLoadBalancerListener"],
            "Properties": {
                "ServiceName": ref("ServiceName"),
                "Cluster": ref("ClusterName"),
                "PlacementStrategies": [
                    {"Field": "attribute:ecs.availability-zone", "Type": "spread"},
                    {"Field": "cpu", "Type": "binpack"}],
                "CapacityProviderStrategy": [
                    {"Base": 0, "CapacityProvider": ref("CapacityProvider"), "Weight": 1}],
                "NetworkConfiguration": {"AwsvpcConfiguration": {
                    # Tasks get private IPs only; the load balancer is their way in.
                    "AssignPublicIp": "DISABLED",
                    "SecurityGroups": [ref("ServiceSecurityGroup")],
                    "Subnets": ref("PrivateSubnetIds")}},
                "DeploymentConfiguration": {
                    "MaximumPercent": ref("DeploymentMaximumPercent"),
                    "MinimumHealthyPercent": ref("DeploymentMinimumHealthyPercent")},
                "DesiredCount": ref("DesiredCount"),
                "TaskDefinition": ref("TaskDefinition"),
                "LoadBalancers": [{"ContainerName": ref("ServiceName"),
                                   "ContainerPort": ref("ContainerPort"),
                                   "TargetGroupArn": ref("ServiceTargetGroup")}]}},
        "ServiceSecurityGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "Security group for service", "VpcId": ref("VpcId")}},
        "ServiceTargetGroup": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "HealthCheckIntervalSeconds": ref("HealthCheckIntervalSeconds"),
            "HealthCheckPath": ref("HealthCheckPath"),
            "HealthCheckProtocol": "HTTP",
            "HealthCheckTimeoutSeconds": ref("HealthCheckTimeoutSeconds"),
            "HealthyThresholdCount": ref("HealthyThresholdCount"),
            "TargetType": "ip",
            "Port": ref("ContainerPort"),
            "Protocol": "HTTP",
            "UnhealthyThresholdCount": ref("UnhealthyThresholdCount"),
            "VpcId": ref("VpcId"),
            "TargetGroupAttributes": [
                {"Key": "deregistration_delay.timeout_seconds", "Value": "0"}]}},
        "PublicLoadBalancerSG": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "Access to the public facing load balancer",
            "VpcId": ref("VpcId"),
            "SecurityGroupIngress": listener_port_rules}},
        "PublicLoadBalancer": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                               "Properties": {
                                   "Scheme": "internet-facing",
                                   "LoadBalancerAttributes": [
                                       {"Key": "idle_timeout.timeout_seconds",
                                        "Value": ref("IdleTimeoutSeconds")}],
                                   "Subnets": ref("PublicSubnetIds"),
                                   "SecurityGroups": [ref("PublicLoadBalancerSG")]}},
        # Forward through TargetGroupArn: equivalent to the seed's ForwardConfig
        # with one group, and understood by every tool.
        "PublicLoadBalancerListener": {"Type": "AWS::ElasticLoadBalancingV2::Listener",
                                       "Properties": {
                                           "DefaultActions": [
                                               {"Type": "forward",
                                                "TargetGroupArn": ref("ServiceTargetGroup")}],
                                           "LoadBalancerArn": ref("PublicLoadBalancer"),
                                           "Port": ref("ListenerPort"),
                                           "Protocol": "HTTPS" if lb.https else "HTTP"}},
        # Only the load balancer reaches the tasks, and only on the container port.
        "ServiceIngressfromLoadBalancer": {"Type": "AWS::EC2::SecurityGroupIngress",
                                           "Properties": {
                                               "Description": "Ingress from the public ALB",
                                               "GroupId": ref("ServiceSecurityGroup"),
                                               "IpProtocol": "tcp",
                                               "FromPort": ref("ContainerPort"),
                                               "ToPort": ref("ContainerPort"),
                                               "SourceSecurityGroupId": ref(
                                                   "PublicLoadBalancerSG")}},
        "LogGroup": {"Type": "AWS::Logs::LogGroup"},
    }
    if lb.https:
        listener = resources["PublicLoadBalancerListener"]["Properties"]
        listener["Certificates"] = [{"CertificateArn": ref("CertificateArn")}]
        listener["SslPolicy"] = TLS_POLICY
        resources["HttpRedirectListener"] = {
            "Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
                "DefaultActions": [{"Type": "redirect", "RedirectConfig": {
                    "Protocol": "HTTPS", "Port": sub("${ListenerPort}"),
                    "StatusCode": "HTTP_301"}}],
                "LoadBalancerArn": ref("PublicLoadBalancer"),
                "Port": 80,
                "Protocol": "HTTP"}}
        resources["Service"]["DependsOn"].append("HttpRedirectListener")
        prov.note("service.yml", "/Resources/HttpRedirectListener", "loadBalancer.protocol")
    if svc.secrets:
        resources["TaskSecretsPolicy"] = {"Type": "AWS::IAM::Policy", "Properties": {
            "PolicyName": "read-task-secrets",
            "Roles": [ref("ECSTaskExecutionRole")],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": _secret_statements(
                [arn for _, arn in svc.secrets])}}}
        resources["TaskDefinition"]["DependsOn"] = ["TaskSecretsPolicy"]
        prov.note("service.yml", "/Resources/TaskSecretsPolicy", "service.secrets")
    if svc.autoscaling:
        resources["ScalableTarget"] = {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
                "MinCapacity": ref("MinCount"),
                "MaxCapacity": ref("MaxCount"),
                "ResourceId": sub("service/${ClusterName}/${Service.Name}"),
                "ScalableDimension": "ecs:service:DesiredCount",
                "ServiceNamespace": "ecs"}}
        resources["CpuScalingPolicy"] = {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
                "PolicyName": sub("${ServiceName}-cpu-target-tracking"),
                "PolicyType": "TargetTrackingScaling",
                "ScalingTargetId": ref("ScalableTarget"),
                "TargetTrackingScalingPolicyConfiguration": {
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
                    "TargetValue": ref("TargetCpuPercent"),
                    "ScaleInCooldown": 60,
                    "ScaleOutCooldown": 60}}}
        prov.note("service.yml", "/Resources/ScalableTarget", "service.autoscaling")
        prov.note("service.yml", "/Resources/CpuScalingPolicy", "service.autoscaling")
    for name, source in (("TaskDefinition", "service"), ("Service", "service"),
                         ("ServiceSecurityGroup", "service"),
                         ("ServiceIngressfromLoadBalancer", "service.port"),
                         ("ServiceTargetGroup", "service.healthCheck"),
                         ("PublicLoadBalancerSG", "loadBalancer.ingressCidrs"),
                         ("PublicLoadBalancer", "loadBalancer"),
                         ("PublicLoadBalancerListener", "loadBalancer"),
                         ("LogGroup", "service")):
        prov.note("service.yml", f"/Resources/{name}", source)

    scheme = "https" if lb.https else "http"
    default_port = 443 if lb.https else 80
    url = f"{scheme}://${{PublicLoadBalancer.DNSName}}"
    if lb.port != default_port:
        url += ":${ListenerPort}"
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "ECS service in awsvpc mode on EC2 capacity, in private subnets, "
                       "reachable from the internet only through a public load balancer",
        "Parameters": parameters,
        "Resources": resources,
        "Outputs": {
            "ServiceUrl": {"Description": "Public URL of the service", "Value": sub(url)},
            "LoadBalancerDnsName": {"Description": "DNS name of the load balancer",
                                    "Value": get_att("PublicLoadBalancer", "DNSName")},
            "ServiceName": {"Description": "Name of the ECS service",
                            "Value": get_att("Service", "Name")},
        },
    }


def _secret_statements(arns: list[str]) -> list[dict[str, Any]]:
    ssm = sorted(a for a in arns if ":ssm:" in a)
    secrets_manager = sorted(a for a in arns if ":secretsmanager:" in a)
    statements: list[dict[str, Any]] = []
    if ssm:
        statements.append({"Effect": "Allow", "Action": ["ssm:GetParameters"],
                           "Resource": ssm})
    if secrets_manager:
        statements.append({"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                           "Resource": secrets_manager})
    return statements


# ------------------------------------------------------------------------ parent


def _parent_template(bp: Blueprint, params: dict[str, dict[str, Any]],
                     prov: _Provenance) -> Template:
    def output(stack: str, name: str) -> dict[str, list[str]]:
        return get_att(stack, f"Outputs.{name}")

    wiring: dict[str, dict[str, Any]] = {
        "VpcStack": {},
        "ClusterStack": {"VpcId": output("VpcStack", "VpcId"),
                         "PrivateSubnetIds": output("VpcStack", "PrivateSubnetIds")},
        "ServiceStack": {
            "VpcId": output("VpcStack", "VpcId"),
            "PublicSubnetIds": output("VpcStack", "PublicSubnetIds"),
            "PrivateSubnetIds": output("VpcStack", "PrivateSubnetIds"),
            "ClusterName": output("ClusterStack", "ClusterName"),
            "ECSTaskExecutionRole": output("ClusterStack", "ECSTaskExecutionRole"),
            "CapacityProvider": output("ClusterStack", "CapacityProvider"),
        },
    }
    resources: dict[str, Any] = {}
    for stack, template in CHILD_STACKS.items():
        parameters = {**wiring[stack],
                      **{name: _parameter_value(value) for name, value in params[stack].items()}}
        resources[stack] = {"Type": "AWS::CloudFormation::Stack", "Properties": {
            "TemplateURL": template,
            "Parameters": parameters,
            # AWS copies a parent's stack tags to nested stacks; saying so here keeps
            # them on every stack however the parent is deployed.
            "Tags": stack_tags(bp)}}
        prov.note("parent.yml", f"/Resources/{stack}", _SECTION[stack])
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        # Children are referenced by relative path, as `aws cloudformation package`
        # expects; `blueprint deploy` uploads them and rewrites the URLs. W3002 is
        # cfn-lint's reminder of exactly that, so it is silenced here and only here.
        "Metadata": {"cfn-lint": {"config": {"ignore_checks": ["W3002"]}}},
        "Description": bp.description or f"blueprint environment {bp.name}: VPC, ECS cluster "
                                          f"on EC2 and a load-balanced service",
        "Resources": resources,
        "Outputs": {
            "ServiceUrl": {"Description": "Public URL of the service",
                           "Value": output("ServiceStack", "ServiceUrl")},
            "LoadBalancerDnsName": {"Description": "DNS name of the load balancer",
                                    "Value": output("ServiceStack", "LoadBalancerDnsName")},
            "ClusterName": {"Description": "The ECS cluster",
                            "Value": output("ClusterStack", "ClusterName")},
            "ServiceName": {"Description": "The ECS service",
                            "Value": output("ServiceStack", "ServiceName")},
            "VpcId": {"Description": "The VPC", "Value": output("VpcStack", "VpcId")},
        },
    }


def stack_tags(bp: Blueprint) -> list[dict[str, str]]:
    """The blueprint's tags plus the environment's name, as CloudFormation tags."""
    tags = dict(bp.tags)
    tags["blueprint:environment"] = bp.name
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


_SECTION = {"VpcStack": "network", "ClusterStack": "cluster", "ServiceStack": "service"}


def _parameter_value(value: Any) -> Any:
    """Nested stack parameters are strings; numbers are written as CloudFormation would."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return value
