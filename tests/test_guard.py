"""Guard findings a reader can act on: one per problem, on the offending line, in true words.

The first part runs the shipped rules (real cfn-guard) on templates written the
way teams write them. Each expected finding is marked on its line with a
comment, ``# <- RULE_ID`` (several rules comma-separated), or on a comment line
of its own under it, ``# ^ RULE_ID``: the test compares the
(file, line, rule) of every finding with the marks exactly, so a missing, an
extra or a duplicate finding fails, and so does one on the wrong line. Every
rule has a mark where the offending node sits deep in a resource.

The second part feeds ``parse_report`` cfn-guard JSON of the shapes that
used to go wrong: a helper called with a message, an ``or`` of clauses, two
clauses failing on one node, a property missing from a mapping.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from blueprint.catalog import rule_index
from blueprint.finding import Finding, Report, Source
from blueprint.guard import GuardViolation, default_rule_packs, parse_report
from blueprint.pipeline import ValidateOptions, validate
from blueprint.resources import rules_dir

# The policies whose findings this file pins (rules of other files, added packs
# and Control Tower controls are tested where they are written).
POLICY_FILES = ("task_eni_private.guard", "imdsv2.guard", "service_ingress.guard",
                "instance_types.guard")
POLICY_RULES = frozenset(
    entry["id"] for entry in yaml.safe_load((rules_dir() / "catalog.yaml").read_text())["rules"]
    if entry.get("file") in POLICY_FILES)
MARK = re.compile(r"#\s*<-\s*(.+)$")
MARK_ABOVE = re.compile(r"^\s*#\s*\^\s*(.+)$")

TEMPLATES: dict[str, str] = {
    "bridge-mode-ecs-on-ec2.yml": """\
AWSTemplateFormatVersion: '2010-09-09'
Description: ECS on EC2, bridge mode, the way the reference architecture does it
Parameters:
  VpcId:
    Type: AWS::EC2::VPC::Id
  PublicSubnets:
    Type: List<AWS::EC2::Subnet::Id>
  InstanceType:
    Description: EC2 instance type for the cluster
    Type: String
    Default: c5.xlarge
  ImageId:
    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>
    Default: /aws/service/ecs/optimized-ami/amazon-linux-2/recommended/image_id
Resources:
  Cluster:
    Type: AWS::ECS::Cluster
  LoadBalancerSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: ALB
      VpcId: !Ref VpcId
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 80
          ToPort: 80
          CidrIp: 0.0.0.0/0
  HostSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: ECS hosts
      VpcId: !Ref VpcId
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 22
          ToPort: 22
          CidrIp: 0.0.0.0/0  # <- PUBLIC_INGRESS_ONLY_ON_LOAD_BALANCER
        - IpProtocol: -1
          SourceSecurityGroupId: !Ref LoadBalancerSecurityGroup
  LoadBalancer:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      Subnets: !Ref PublicSubnets
      SecurityGroups:
        - !Ref LoadBalancerSecurityGroup
  LaunchConfiguration:
    Type: AWS::AutoScaling::LaunchConfiguration
    Properties:  # <- LAUNCH_CONFIGURATION_IMDSV2_REQUIRED
      ImageId: !Ref ImageId
      InstanceType: !Ref InstanceType  # <- INSTANCE_TYPE_ALLOWED
      SecurityGroups:
        - !Ref HostSecurityGroup
      UserData:
        Fn::Base64: !Sub |
          #!/bin/bash
          echo ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config
  AutoScalingGroup:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      VPCZoneIdentifier: !Ref PublicSubnets
      LaunchConfigurationName: !Ref LaunchConfiguration
      MinSize: '1'
      MaxSize: '4'
  TaskDefinition:
    Type: AWS::ECS::TaskDefinition
    Properties:  # <- ECS_TASK_NETWORK_MODE_AWSVPC
      Family: web
      ContainerDefinitions:
        - Name: web
          Image: nginx
          Memory: 256
          PortMappings:
            - ContainerPort: 80
  Service:
    Type: AWS::ECS::Service
    DependsOn: Listener
    Properties:
      Cluster: !Ref Cluster
      DesiredCount: 2
      TaskDefinition: !Ref TaskDefinition
      LoadBalancers:
        - ContainerName: web
          ContainerPort: 80
          TargetGroupArn: !Ref TargetGroup
  TargetGroup:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      Port: 80
      Protocol: HTTP
      VpcId: !Ref VpcId
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref LoadBalancer
      Port: 80
      Protocol: HTTP
      DefaultActions:
        - Type: forward
          TargetGroupArn: !Ref TargetGroup
""",
    "instances-without-launch-template.yml": """\
AWSTemplateFormatVersion: '2010-09-09'
Description: A bastion host without a launch template
Parameters:
  KeyName:
    Type: AWS::EC2::KeyPair::KeyName
  SubnetId:
    Type: AWS::EC2::Subnet::Id
  InstanceType:
    Description: Bastion instance type
    Type: String
    Default: t3.micro
Resources:
  Bastion:
    Type: AWS::EC2::Instance
    Properties:  # <- EC2_INSTANCE_IMDSV2_LAUNCH_TEMPLATE
      ImageId: ami-0abcdef1234567890
      KeyName: !Ref KeyName
      SubnetId: !Ref SubnetId
      InstanceType: !Ref InstanceType  # <- INSTANCE_TYPE_ALLOWED
      Tags:
        - Key: Name
          Value: bastion
  BareInstance:
    Type: AWS::EC2::Instance
    Properties:  # <- EC2_INSTANCE_IMDSV2_LAUNCH_TEMPLATE, INSTANCE_TYPE_ALLOWED
      ImageId: ami-0abcdef1234567890
      SubnetId: !Ref SubnetId
""",
    "launch-template-without-metadata-options.yml": """\
AWSTemplateFormatVersion: '2010-09-09'
Description: Launch template without metadata options
Parameters:
  SubnetId:
    Type: AWS::EC2::Subnet::Id
  SecurityGroupId:
    Type: AWS::EC2::SecurityGroup::Id
Resources:
  LaunchTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:  # <- LAUNCH_TEMPLATE_IMDSV2_REQUIRED
      LaunchTemplateName: workers
      LaunchTemplateData:
        ImageId: ami-0abcdef1234567890
        InstanceType: m5.large
        NetworkInterfaces:
          - DeviceIndex: 0
            AssociatePublicIpAddress: true
            SubnetId: !Ref SubnetId
            Groups:
              - !Ref SecurityGroupId
        TagSpecifications:
          - ResourceType: instance
            Tags:
              - Key: Name
                Value: worker
""",
    "fargate-subnets-split.yml": """\
AWSTemplateFormatVersion: '2010-09-09'
Description: Fargate service with subnets from a comma list
Parameters:
  Subnets:
    Type: String
    Description: comma separated subnet ids
  VpcId:
    Type: AWS::EC2::VPC::Id
Resources:
  Cluster:
    Type: AWS::ECS::Cluster
  TaskDefinition:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: api
      NetworkMode: awsvpc
      RequiresCompatibilities: [FARGATE]
      Cpu: '256'
      Memory: '512'
      ContainerDefinitions:
        - Name: api
          Image: nginx
  ServiceSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: tasks
      VpcId: !Ref VpcId
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 80
          ToPort: 80
          CidrIp: 0.0.0.0/0  # <- PUBLIC_INGRESS_ONLY_ON_LOAD_BALANCER
          # ^ SERVICE_INGRESS_ONLY_FROM_LOAD_BALANCER
  Service:
    Type: AWS::ECS::Service
    Properties:
      Cluster: !Ref Cluster
      LaunchType: FARGATE
      DesiredCount: 1
      TaskDefinition: !Ref TaskDefinition
      NetworkConfiguration:
        AwsvpcConfiguration:
          AssignPublicIp: ENABLED  # <- ECS_TASK_ENI_NO_PUBLIC_IP
          SecurityGroups:
            - !Ref ServiceSecurityGroup
          Subnets: !Split [',', !Ref Subnets]  # <- ECS_TASK_ENI_PRIVATE_SUBNETS
""",
    "ecs-deep.yml": """\
AWSTemplateFormatVersion: '2010-09-09'
Description: awsvpc and bridge services, written the way teams write them
Parameters:
  VpcId:
    Type: AWS::EC2::VPC::Id
  PublicSubnetIds:
    Type: List<AWS::EC2::Subnet::Id>
  PrivateSubnetIds:
    Type: List<AWS::EC2::Subnet::Id>
  SharedSecurityGroup:
    Type: AWS::EC2::SecurityGroup::Id
Resources:
  Cluster:
    Type: AWS::ECS::Cluster
  LoadBalancerSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: public HTTPS
      VpcId: !Ref VpcId
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 443
          ToPort: 443
          CidrIp: 0.0.0.0/0
  LoadBalancer:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      Subnets: !Ref PublicSubnetIds
      SecurityGroups:
        - !Ref LoadBalancerSecurityGroup
  ServiceSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: tasks
      VpcId: !Ref VpcId
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 8080
          ToPort: 8080
          SourceSecurityGroupId: !Ref LoadBalancerSecurityGroup
        - IpProtocol: tcp
          FromPort: 22
          ToPort: 22
          CidrIp: 10.0.0.0/8  # <- SERVICE_INGRESS_ONLY_FROM_LOAD_BALANCER
  AdminSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: admin
      VpcId: !Ref VpcId
  AdminIngress:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !Ref AdminSecurityGroup
      IpProtocol: tcp
      FromPort: 22
      ToPort: 22
      CidrIp: 203.0.113.0/24  # <- PUBLIC_INGRESS_ONLY_ON_LOAD_BALANCER
  TaskDefinition:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: api
      NetworkMode: awsvpc
      RequiresCompatibilities: [EC2]
      ContainerDefinitions:
        - Name: api
          Image: nginx
          Memory: 512
  Service:
    Type: AWS::ECS::Service
    Properties:
      Cluster: !Ref Cluster
      DesiredCount: 2
      TaskDefinition: !Ref TaskDefinition
      NetworkConfiguration:
        AwsvpcConfiguration:
          AssignPublicIp: ENABLED  # <- ECS_TASK_ENI_NO_PUBLIC_IP
          SecurityGroups:
            - !Ref ServiceSecurityGroup
          Subnets: !Ref PublicSubnetIds  # <- ECS_TASK_ENI_PRIVATE_SUBNETS
  BridgeTaskDefinition:
    Type: AWS::ECS::TaskDefinition
    Properties:  # <- ECS_TASK_NETWORK_MODE_AWSVPC
      Family: legacy
      ContainerDefinitions:
        - Name: legacy
          Image: nginx
          Memory: 256
          PortMappings:
            - ContainerPort: 80
              HostPort: 0
  BridgeService:
    Type: AWS::ECS::Service
    Properties:
      Cluster: !Ref Cluster
      DesiredCount: 1
      TaskDefinition: !Ref BridgeTaskDefinition
  NightlyRule:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: cron(0 3 * * ? *)
      Targets:
        - Id: nightly
          Arn: !GetAtt Cluster.Arn
          RoleArn: arn:aws:iam::123456789012:role/events
          EcsParameters:
            TaskDefinitionArn: !Ref TaskDefinition
            NetworkConfiguration:
              AwsVpcConfiguration:
                Subnets: !Split [',', !Join [',', !Ref PrivateSubnetIds]]
                # ^ ECS_TASK_ENI_PRIVATE_SUBNETS
                SecurityGroups:
                  - !Ref ServiceSecurityGroup
                  - !Ref SharedSecurityGroup  # <- SERVICE_SECURITY_GROUPS_IN_TEMPLATE
  PrivateSubnetA:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref VpcId
      CidrBlock: 10.0.8.0/24
      MapPublicIpOnLaunch: true
  WorkerSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: workers
      VpcId: !Ref VpcId
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 9000
          ToPort: 9000
          SourceSecurityGroupId: sg-0123456789abcdef0  # <- SERVICE_INGRESS_ONLY_FROM_LOAD_BALANCER
  WorkerService:
    Type: AWS::ECS::Service
    Properties:
      Cluster: !Ref Cluster
      TaskDefinition: !Ref TaskDefinition
      NetworkConfiguration:
        AwsvpcConfiguration:
          SecurityGroups:
            - !GetAtt WorkerSecurityGroup.GroupId
          Subnets:
            - !Ref PrivateSubnetA  # <- ECS_TASK_ENI_PRIVATE_SUBNETS
            - !Select [1, !Ref PrivateSubnetIds]
""",
    "ec2-capacity-deep.yml": """\
AWSTemplateFormatVersion: '2010-09-09'
Description: EC2 capacity in every shape
Parameters:
  SubnetId:
    Type: AWS::EC2::Subnet::Id
  PrivateSubnetIds:
    Type: List<AWS::EC2::Subnet::Id>
  WorkerInstanceType:
    Description: worker type
    Type: String
    Default: c5.xlarge
    AllowedValues:
      - c5.xlarge
      - p3.2xlarge
  BastionInstanceType:
    Description: bastion type, allowed default, no AllowedValues
    Type: String
    Default: t3.medium
  EksCluster:
    Type: String
Resources:
  WorkerLaunchTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:  # <- LAUNCH_TEMPLATE_IMDSV2_REQUIRED
      LaunchTemplateName: workers
      LaunchTemplateData:
        ImageId: ami-0abcdef1234567890
        InstanceType: t2.micro  # <- INSTANCE_TYPE_ALLOWED
        NetworkInterfaces:
          - DeviceIndex: 0
            AssociatePublicIpAddress: true
            SubnetId: !Ref SubnetId
  GoodLaunchTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        ImageId: ami-0abcdef1234567890
        InstanceType: c5.xlarge
        MetadataOptions:
          HttpTokens: required
  WorkerGroup:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MinSize: '1'
      MaxSize: '3'
      VPCZoneIdentifier: !Ref PrivateSubnetIds
      MixedInstancesPolicy:
        InstancesDistribution:
          OnDemandPercentageAboveBaseCapacity: 0
        LaunchTemplate:
          LaunchTemplateSpecification:
            LaunchTemplateId: !Ref WorkerLaunchTemplate
            # ^ AUTOSCALING_GROUP_IMDSV2_LAUNCH_TEMPLATE
            Version: !GetAtt WorkerLaunchTemplate.LatestVersionNumber
          Overrides:
            - InstanceType: c5.xlarge
            - InstanceRequirements:  # <- INSTANCE_TYPE_NO_OVERRIDES
                VCpuCount: {Min: 2}
                MemoryMiB: {Min: 4096}
  Bastion:
    Type: AWS::EC2::Instance
    Properties:  # <- EC2_INSTANCE_IMDSV2_LAUNCH_TEMPLATE
      ImageId: ami-0abcdef1234567890
      SubnetId: !Ref SubnetId
      InstanceType: !Ref BastionInstanceType  # <- INSTANCE_TYPE_ALLOWED
      LaunchTemplate:
        LaunchTemplateName: bastion
        Version: '1'
  LegacyLaunchConfiguration:
    Type: AWS::AutoScaling::LaunchConfiguration
    Properties:
      ImageId: ami-0abcdef1234567890
      InstanceType: !Ref WorkerInstanceType  # <- INSTANCE_TYPE_ALLOWED
      MetadataOptions:
        HttpEndpoint: enabled
        HttpTokens: optional  # <- LAUNCH_CONFIGURATION_IMDSV2_REQUIRED
  Fleet:
    Type: AWS::EC2::EC2Fleet
    Properties:  # <- EC2_FLEET_IMDSV2_LAUNCH_TEMPLATE
      TargetCapacitySpecification:
        TotalTargetCapacity: 2
        DefaultTargetCapacityType: spot
      LaunchTemplateConfigs:
        - LaunchTemplateSpecification:
            LaunchTemplateName: fleet
            Version: '1'
          Overrides:
            - InstanceType: c5.xlarge
  SpotFleet:
    Type: AWS::EC2::SpotFleet
    Properties:
      SpotFleetRequestConfigData:
        IamFleetRole: arn:aws:iam::123456789012:role/fleet
        TargetCapacity: 2
        LaunchSpecifications:  # <- SPOT_FLEET_IMDSV2_LAUNCH_TEMPLATE
          - ImageId: ami-0abcdef1234567890
            InstanceType: c5.xlarge
  Nodes:
    Type: AWS::EKS::Nodegroup
    Properties:  # <- EKS_NODEGROUP_IMDSV2_LAUNCH_TEMPLATE
      ClusterName: !Ref EksCluster
      NodeRole: arn:aws:iam::123456789012:role/nodes
      Subnets: !Ref PrivateSubnetIds
      InstanceTypes:
        - m5.large
        - m5.xlarge
  BatchCompute:
    Type: AWS::Batch::ComputeEnvironment
    Properties:  # <- BATCH_COMPUTE_ENVIRONMENT_IMDSV2_LAUNCH_TEMPLATE
      Type: MANAGED
      ComputeResources:
        Type: EC2
        MinvCpus: 0
        MaxvCpus: 64
        Subnets: !Ref PrivateSubnetIds
        InstanceRole: arn:aws:iam::123456789012:instance-profile/batch
        InstanceTypes:
          - optimal  # <- INSTANCE_TYPE_ALLOWED
""",
    "parent-stack.yml": """\
AWSTemplateFormatVersion: '2010-09-09'
Description: parent stack wiring its children
Resources:
  VpcStack:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://example.com/vpc.yml
  ServiceStack:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://example.com/service.yml
      Parameters:
        VpcId: !GetAtt VpcStack.Outputs.VpcId
        PrivateSubnet1CIDR: 10.180.24.0/21
        PrivateSubnetIds: !GetAtt VpcStack.Outputs.PublicSubnetIds
        # ^ PRIVATE_SUBNET_PARAMETER_WIRING
        EcsInstanceType: t2.large  # <- INSTANCE_TYPE_ALLOWED
""",
}


def expected_marks() -> Counter[tuple[str, int, str]]:
    marks: Counter[tuple[str, int, str]] = Counter()
    for name, text in TEMPLATES.items():
        marked = 0
        for number, line in enumerate(text.splitlines(), start=1):
            above = MARK_ABOVE.match(line)
            found = above or MARK.search(line)
            if not above:
                marked = number
            if found:
                for rule in found.group(1).split(","):
                    marks[(name, marked, rule.strip())] += 1
    return marks


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    folder = tmp_path_factory.mktemp("templates")
    paths = []
    for name, text in TEMPLATES.items():
        (folder / name).write_text(text, encoding="utf-8")
        paths.append(str(folder / name))
    return validate(paths, ValidateOptions(lint=False, use_cache=False))


def guard_findings(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.source is Source.GUARD and f.rule_id in POLICY_RULES]


def test_every_problem_is_one_finding_on_its_offending_line(report: Report) -> None:
    found = Counter((Path(f.file).name, f.line, f.rule_id) for f in guard_findings(report))
    assert found == expected_marks()


def test_every_reported_rule_is_pinned_deep_in_a_resource() -> None:
    pinned = {rule for _, _, rule in expected_marks()}
    assert pinned == POLICY_RULES and set(rule_index(default_rule_packs())) >= POLICY_RULES


def test_no_finding_is_about_the_same_node_twice(report: Report) -> None:
    subjects = Counter((f.file, f.rule_id, f.resource, f.property_path)
                       for f in guard_findings(report))
    assert [s for s, n in subjects.items() if n > 1] == []


def line_of(name: str, text: str) -> int:
    """The number of the one line of template ``name`` that contains ``text``."""
    [number] = [n for n, line in enumerate(TEMPLATES[name].splitlines(), start=1)
                if text in line]
    return number


def at(report: Report, name: str, text: str, rule: str) -> Finding:
    """The one finding of ``rule`` on the line of ``name`` containing ``text``."""
    line = line_of(name, text)
    [finding] = [f for f in guard_findings(report)
                 if (Path(f.file).name, f.line, f.rule_id) == (name, line, rule)]
    return finding


def test_every_finding_names_its_resource_and_property_path(report: Report) -> None:
    subjects = {
        ("fargate-subnets-split.yml", "!Split", "ECS_TASK_ENI_PRIVATE_SUBNETS"):
            ("Service", "Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets"),
        ("launch-template-without-metadata-options.yml", "Properties:",
         "LAUNCH_TEMPLATE_IMDSV2_REQUIRED"):
            ("LaunchTemplate", "Properties.LaunchTemplateData.MetadataOptions.HttpTokens"),
        ("bridge-mode-ecs-on-ec2.yml", "!Ref InstanceType", "INSTANCE_TYPE_ALLOWED"):
            ("LaunchConfiguration", "Properties.InstanceType"),
        ("ecs-deep.yml", "- !Ref SharedSecurityGroup", "SERVICE_SECURITY_GROUPS_IN_TEMPLATE"):
            ("NightlyRule", "Properties.Targets[0].EcsParameters.NetworkConfiguration"
                            ".AwsVpcConfiguration.SecurityGroups[1]"),
        ("ec2-capacity-deep.yml", "!Ref WorkerInstanceType", "INSTANCE_TYPE_ALLOWED"):
            ("LegacyLaunchConfiguration", "Properties.InstanceType"),
        ("ec2-capacity-deep.yml", "# <- EC2_FLEET", "EC2_FLEET_IMDSV2_LAUNCH_TEMPLATE"):
            ("Fleet", "Properties.LaunchTemplateConfigs[0].LaunchTemplateSpecification"
                      ".LaunchTemplateId"),
    }
    for (name, text, rule), subject in subjects.items():
        finding = at(report, name, text, rule)
        assert (finding.resource, finding.property_path) == subject, (name, rule)
    assert all(f.resource and f.property_path for f in guard_findings(report))


def test_messages_are_true_of_the_template(report: Report) -> None:
    public_ip = at(report, "fargate-subnets-split.yml", "AssignPublicIp: ENABLED",
                   "ECS_TASK_ENI_NO_PUBLIC_IP").message
    assert "gives every task a public IP" in public_ip and "case" not in public_ip
    subnets = at(report, "fargate-subnets-split.yml", "!Split", "ECS_TASK_ENI_PRIVATE_SUBNETS")
    assert "Public" not in subnets.message  # the parameter is named Subnets
    assert "no AllowedValues" in at(report, "bridge-mode-ecs-on-ec2.yml", "!Ref InstanceType",
                                    "INSTANCE_TYPE_ALLOWED").message
    assert "AllowedValues offer a type that is not on the allow-list" in at(
        report, "ec2-capacity-deep.yml", "!Ref WorkerInstanceType", "INSTANCE_TYPE_ALLOWED").message
    tokens = at(report, "ec2-capacity-deep.yml", "HttpTokens: optional",
                "LAUNCH_CONFIGURATION_IMDSV2_REQUIRED").message
    assert tokens.startswith("HttpTokens: optional leaves IMDSv1 on")
    mapped = at(report, "ecs-deep.yml", "- !Ref PrivateSubnetA", "ECS_TASK_ENI_PRIVATE_SUBNETS")
    assert "maps public IPs on launch" in mapped.message


def test_a_helper_called_with_a_message_reports_that_message(report: Report) -> None:
    source = at(report, "ecs-deep.yml", "SourceSecurityGroupId: sg-",
                "SERVICE_INGRESS_ONLY_FROM_LOAD_BALANCER")
    assert source.message.startswith("SourceSecurityGroupId must be !Ref")


def test_no_hint_assumes_a_nat_gateway() -> None:
    for meta in rule_index(default_rule_packs()).values():
        assert "the NAT gateway" not in (meta.hint or "")


# ---------------------------------------------------------------------------
# parse_report on cfn-guard's JSON


def unary(path: str, *, custom: str = "", error: str = "", remaining: str | None = None,
          value: Any = "x") -> dict[str, Any]:
    if remaining is None:
        check: dict[str, Any] = {"Resolved": {"value": {"path": path, "value": value},
                                              "comparison": ["Exists", True]}}
    else:
        check = {"UnResolved": {"value": {"traversed_to": {"path": path, "value": value},
                                          "remaining_query": remaining, "reason": "missing"},
                                "comparison": ["Exists", False]}}
    return {"Clause": {"Unary": {"check": check, "context": "",
                                 "messages": {"custom_message": custom,
                                              "error_message": error}}}}


def helper(name: str, checks: list[dict[str, Any]], custom: str | None = None) -> dict[str, Any]:
    return {"Rule": {"name": name, "metadata": {},
                     "messages": {"custom_message": custom, "error_message": None},
                     "checks": checks}}


def parse(*checks: dict[str, Any]) -> list[GuardViolation]:
    report = [{"name": "t.yml", "status": "FAIL",
               "not_compliant": [helper("RULE", list(checks))]}]
    return list(parse_report(report, ["t.yml"]))


SOURCE = "/Resources/Sg/Properties/SecurityGroupIngress/0/SourceSecurityGroupId"


def test_a_helper_called_with_a_message_carries_it_not_guards_error_text() -> None:
    raw = "Check was not compliant as property [Ref] is missing. [L:25,C:33]"
    [violation] = parse(helper("t3_sg_ref_form", [unary(SOURCE, error=raw, remaining="Ref")],
                               custom="SourceSecurityGroupId must be a reference"))
    assert violation.message == "SourceSecurityGroupId must be a reference"
    assert (violation.pointer, violation.missing) == (SOURCE, "")
    assert (violation.line, violation.column) == (26, 34)  # cfn-guard counts from 0


def test_a_callers_message_replaces_the_helpers_own() -> None:
    [violation] = parse(helper("t3_sg_ref_form", [unary(SOURCE, custom="generic words")],
                               custom="the caller's words"))
    assert violation.message == "the caller's words"


def test_an_or_is_one_finding_located_at_its_first_alternative() -> None:
    first = unary("/Resources/I/Properties", remaining="InstanceType", value={"A": 1})
    second = unary("/Resources/I/Properties", remaining="LaunchTemplate.LaunchTemplateId",
                   value={"A": 1}, custom="no InstanceType and no launch template")
    [violation] = parse({"Disjunctions": {"checks": [first, second]}})
    assert violation.message == "no InstanceType and no launch template"
    assert (violation.pointer, violation.missing) == ("/Resources/I/Properties", "InstanceType")


def test_two_clauses_failing_on_one_node_are_one_finding() -> None:
    node = "/Resources/S/Properties/NetworkConfiguration/AwsvpcConfiguration/Subnets"
    violations = parse(unary(node, custom="must be a Ref to a private list"),
                       unary(f"{node}/Fn::Split/1", custom="its name says Public"))
    assert [(v.pointer, v.message) for v in violations] == [
        (node, "must be a Ref to a private list")]


def test_a_property_missing_from_a_mapping_is_named() -> None:
    data = "/Resources/Lt/Properties/LaunchTemplateData"
    [violation] = parse(unary(data, custom="no HttpTokens",
                              remaining="MetadataOptions.HttpTokens", value={"ImageId": "x"}))
    assert (violation.pointer, violation.missing) == (data, "MetadataOptions.HttpTokens")


def test_a_missing_function_key_is_not_a_missing_property() -> None:
    subnets = "/Resources/S/Properties/Subnets"
    [violation] = parse(unary(subnets, custom="not a Ref", remaining="Ref",
                              value={"Fn::Split": [",", "a,b"]}))
    assert (violation.pointer, violation.missing) == (subnets, "")


def test_a_pointer_into_a_function_stops_at_it_but_keeps_an_if_branch() -> None:
    item = "/Resources/S/Properties/Subnets/0"
    tokens = "/Resources/Lt/Properties/LaunchTemplateData/MetadataOptions/HttpTokens"
    violations = parse(unary(f"{item}/Fn::Select/1/Ref", custom="not private"),
                       unary(f"{tokens}/Fn::If/2", custom="a branch is optional"))
    assert [v.pointer for v in violations] == [item, f"{tokens}/Fn::If/2"]


def test_each_item_of_a_list_is_its_own_problem() -> None:
    subnets = "/Resources/S/Properties/Subnets"
    violations = parse(*(unary(f"{subnets}/{i}", custom="named Public") for i in (0, 2)))
    assert [v.pointer for v in violations] == [f"{subnets}/0", f"{subnets}/2"]
    assert all(v.message == "named Public" for v in violations)


@pytest.mark.slow
def test_guard_and_cfn_lint_agree_on_the_line_and_subject_of_one_node(tmp_path: Path) -> None:
    text = TEMPLATES["fargate-subnets-split.yml"].replace("AssignPublicIp: ENABLED",
                                                          "AssignPublicIp: enabled")
    path = tmp_path / "lowercase.yml"
    path.write_text(text, encoding="utf-8")
    report = validate([str(path)], ValidateOptions(lint=True, use_cache=False))
    line = line_of("fargate-subnets-split.yml", "AssignPublicIp:")
    on_it = {f.source: f for f in report.findings if f.line == line}
    assert set(on_it) == {Source.GUARD, Source.LINT}  # E3030 and ECS_TASK_ENI_NO_PUBLIC_IP
    subjects = {(f.resource, f.property_path) for f in on_it.values()}
    assert subjects == {("Service", "Properties.NetworkConfiguration.AwsvpcConfiguration"
                                    ".AssignPublicIp")}
    assert "case-sensitive" in on_it[Source.GUARD].message
