"""service.yml: the ECS service in private subnets behind a public load balancer."""

from __future__ import annotations

import re
from typing import Any

from blueprint.expander._build import (
    ChildStack,
    Parameter,
    Part,
    get_att,
    log_group,
    ref,
    sub,
    wired,
)
from blueprint.model import Blueprint, LoadBalancer, Service

SECTION = "service"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
_CONTAINER = "/Properties/ContainerDefinitions/0"
DEREGISTRATION_DELAY_SECONDS = 30


def build(bp: Blueprint) -> ChildStack:
    svc, lb = bp.service, bp.load_balancer
    return ChildStack(
        description="ECS service in awsvpc mode on EC2 capacity, in private subnets, "
                    "reachable from the internet only through a public load balancer",
        section=SECTION,
        parameters=_wired_parameters(),
        parts=(_task_definition(svc), _service(svc, lb), _service_security_group(),
               _target_group(svc), _load_balancer_security_group(lb), _load_balancer(lb),
               _listener(lb), _service_ingress(svc), log_group("LogGroup", bp.logs, retain=True),
               _task_role(), *_https_redirect(lb), *_secrets_policy(svc), *_autoscaling(svc)),
        outputs=_outputs(lb),
    )


def _wired_parameters() -> tuple[Parameter, ...]:
    return (
        wired("VpcId", {"Type": "AWS::EC2::VPC::Id", "Description": "VPC of the service"}),
        wired("PublicSubnetIds", {"Type": "List<AWS::EC2::Subnet::Id>",
                                  "Description": "Public subnets for the load balancer"}),
        wired("PrivateSubnetIds", {"Type": "List<AWS::EC2::Subnet::Id>",
                                   "Description": "Private subnets for the tasks"}),
        wired("ClusterName", {"Type": "String", "Description": "ECS cluster of the service"}),
        wired("ECSTaskExecutionRole", {"Type": "String",
                                       "Description": "Role that starts the tasks"}),
        wired("CapacityProvider", {"Type": "String",
                                   "Description": "Capacity provider the service requests EC2 "
                                                  "capacity from"}),
    )


def _volume_name(path: str) -> str:
    return "writable" + re.sub(r"[^A-Za-z0-9_-]", "-", path)


def _container(svc: Service) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    container: dict[str, Any] = {
        "Name": svc.name,
        "Cpu": svc.cpu,
        "Memory": svc.memory,
        "Image": svc.image,
        # Not root, and the image's files cannot be changed (CT.ECS.PR.3, .6).
        "User": svc.user,
        "ReadonlyRootFilesystem": svc.read_only_root_filesystem,
        "PortMappings": [{"ContainerPort": svc.port, "HostPort": svc.port}],
        "LogConfiguration": {"LogDriver": "awslogs", "Options": {
            "mode": "non-blocking",
            "max-buffer-size": "25m",
            "awslogs-group": ref("LogGroup"),
            "awslogs-region": ref("AWS::Region"),
            "awslogs-stream-prefix": svc.name}},
    }
    details = [(f"{_CONTAINER}/Name", "service.name"), (f"{_CONTAINER}/Cpu", "service.cpu"),
               (f"{_CONTAINER}/Memory", "service.memory"), (f"{_CONTAINER}/Image", "service.image"),
               (f"{_CONTAINER}/User", "service.user"),
               (f"{_CONTAINER}/ReadonlyRootFilesystem", "service.readOnlyRootFilesystem"),
               (f"{_CONTAINER}/PortMappings", "service.port")]
    if svc.writable_paths:
        container["MountPoints"] = [
            {"SourceVolume": _volume_name(path), "ContainerPath": path, "ReadOnly": False}
            for path in svc.writable_paths]
        details.append((f"{_CONTAINER}/MountPoints", "service.writablePaths"))
    if svc.environment:
        container["Environment"] = [{"Name": k, "Value": v} for k, v in svc.environment]
        details.append((f"{_CONTAINER}/Environment", "service.environment"))
    if svc.secrets:
        container["Secrets"] = [{"Name": k, "ValueFrom": v} for k, v in svc.secrets]
        details.append((f"{_CONTAINER}/Secrets", "service.secrets"))
    return container, details


def _task_definition(svc: Service) -> Part:
    container, details = _container(svc)
    properties: dict[str, Any] = {
        "Family": svc.name,
        "Cpu": str(svc.cpu),
        "Memory": str(svc.memory),
        "NetworkMode": "awsvpc",
        "RequiresCompatibilities": ["EC2"],
        "ExecutionRoleArn": ref("ECSTaskExecutionRole"),
        # The application's own role, apart from the one that starts it: the
        # code gets no permission to pull images or read the task's secrets.
        "TaskRoleArn": get_att("TaskRole", "Arn"),
        "ContainerDefinitions": [container]}
    if svc.writable_paths:
        # Task-scoped Docker volumes: they start with the image's content and
        # permissions at that path, and go away with the task.
        properties["Volumes"] = [
            {"Name": _volume_name(path),
             "DockerVolumeConfiguration": {"Scope": "task", "Driver": "local"}}
            for path in svc.writable_paths]
        details.append(("/Properties/Volumes", "service.writablePaths"))
    details += [("/Properties/Family", "service.name"), ("/Properties/Cpu", "service.cpu"),
                ("/Properties/Memory", "service.memory")]
    resource: dict[str, Any] = {"Type": "AWS::ECS::TaskDefinition", "Properties": properties}
    if svc.secrets:
        # Tasks may start only once they are allowed to read their secrets.
        resource["DependsOn"] = ["TaskSecretsPolicy"]
    return Part("TaskDefinition", resource, "service", tuple(details))


def _task_role() -> Part:
    return Part("TaskRole", {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["sts:AssumeRole"],
            "Principal": {"Service": ["ecs-tasks.amazonaws.com"]},
            "Condition": {
                "ArnLike": {"aws:SourceArn": sub(
                    "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*")},
                "StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}}]},
        "Path": "/"}}, "service")


def _service(svc: Service, lb: LoadBalancer) -> Part:
    # The target group must be attached to the load balancer first.
    listeners = ["PublicLoadBalancerListener", *(["HttpRedirectListener"] if lb.https else [])]
    count = () if svc.autoscaling else (("/Properties/DesiredCount", "service.desiredCount"),)
    return Part("Service", {"Type": "AWS::ECS::Service", "DependsOn": listeners,
                            "Properties": _service_properties(svc)}, "service",
                (("/Properties/ServiceName", "service.name"),
                 ("/Properties/DeploymentConfiguration/MaximumPercent",
                  "service.deployment.maximumPercent"),
                 ("/Properties/DeploymentConfiguration/MinimumHealthyPercent",
                  "service.deployment.minimumHealthyPercent"), *count))


def _service_properties(svc: Service) -> dict[str, Any]:
    # Autoscaled, the service has no DesiredCount: CloudFormation then leaves the
    # running count to Application Auto Scaling on every update (an absent count
    # is omitted from UpdateService); on create ECS starts one task and
    # registering the scalable target raises it to minCount.
    count = {} if svc.autoscaling else {"DesiredCount": svc.desired_count}
    return {
        "ServiceName": svc.name,
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
            "MaximumPercent": svc.deployment.maximum_percent,
            "MinimumHealthyPercent": svc.deployment.minimum_healthy_percent,
            # A deployment that cannot reach a steady state (a task that never
            # starts, a wrong image tag) fails and rolls back instead of waiting
            # for CloudFormation's own timeout.
            "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}},
        **count,
        "TaskDefinition": ref("TaskDefinition"),
        "LoadBalancers": [{"ContainerName": svc.name,
                           "ContainerPort": svc.port,
                           "TargetGroupArn": ref("ServiceTargetGroup")}]}


def _service_security_group() -> Part:
    return Part("ServiceSecurityGroup", {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "Security group for service", "VpcId": ref("VpcId")}}, "service")


def _target_group(svc: Service) -> Part:
    hc = svc.health_check
    return Part("ServiceTargetGroup", {
        "Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "HealthCheckIntervalSeconds": hc.interval_seconds,
            "HealthCheckPath": hc.path,
            "HealthCheckProtocol": "HTTP",
            "HealthCheckTimeoutSeconds": hc.timeout_seconds,
            "HealthyThresholdCount": hc.healthy_threshold,
            "TargetType": "ip",
            "Port": svc.port,
            "Protocol": "HTTP",
            "UnhealthyThresholdCount": hc.unhealthy_threshold,
            "VpcId": ref("VpcId"),
            # Time for requests in flight to finish when a task is replaced (the
            # seed's 0 cut them on every deploy); ECS stops the task after it.
            "TargetGroupAttributes": [
                {"Key": "deregistration_delay.timeout_seconds",
                 "Value": str(DEREGISTRATION_DELAY_SECONDS)}]}},
        "service.healthCheck", (("/Properties/Port", "service.port"),))


def _load_balancer_security_group(lb: LoadBalancer) -> Part:
    rules: list[dict[str, Any]] = [
        {"CidrIp": cidr, "IpProtocol": "tcp", "FromPort": lb.port,
         "ToPort": lb.port, "Description": "Clients of the public listener"}
        for cidr in lb.ingress_cidrs]
    if lb.https:
        rules += [{"CidrIp": cidr, "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                   "Description": "HTTP, redirected to HTTPS"} for cidr in lb.ingress_cidrs]
    ports = tuple((f"/Properties/SecurityGroupIngress/{index}/{key}", "loadBalancer.port")
                  for index in range(len(lb.ingress_cidrs)) for key in ("FromPort", "ToPort"))
    return Part("PublicLoadBalancerSG", {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "Access to the public facing load balancer",
        "VpcId": ref("VpcId"),
        "SecurityGroupIngress": rules}}, "loadBalancer.ingressCidrs", ports)


def _load_balancer(lb: LoadBalancer) -> Part:
    # The choices first: a control that finds no attribute it wants names
    # every attribute, the first one being where its finding is shown.
    attributes = [{"Key": "access_logs.s3.enabled",
                   "Value": _flag(lb.access_logs_bucket is not None)}]
    if lb.access_logs_bucket:
        attributes.append({"Key": "access_logs.s3.bucket", "Value": lb.access_logs_bucket})
    if lb.access_logs_prefix:
        attributes.append({"Key": "access_logs.s3.prefix", "Value": lb.access_logs_prefix})
    details = [(f"/Properties/LoadBalancerAttributes/{index}", "loadBalancer.accessLogs")
               for index in range(len(attributes))]
    details += [(f"/Properties/LoadBalancerAttributes/{len(attributes)}",
                 "loadBalancer.deletionProtection"),
                (f"/Properties/LoadBalancerAttributes/{len(attributes) + 1}",
                 "loadBalancer.idleTimeoutSeconds")]
    attributes += [
        {"Key": "deletion_protection.enabled", "Value": _flag(lb.deletion_protection)},
        {"Key": "idle_timeout.timeout_seconds", "Value": str(lb.idle_timeout_seconds)},
        # Requests with malformed headers and ambiguous framing are dropped
        # rather than passed on (CT.ELASTICLOADBALANCING.PR.3, .4).
        {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
        {"Key": "routing.http.desync_mitigation_mode", "Value": "defensive"}]
    return Part("PublicLoadBalancer", {
        "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            # Said explicitly: the Control Tower rules skip a load balancer
            # whose Type is left to its default.
            "Type": "application",
            "Scheme": "internet-facing",
            "LoadBalancerAttributes": attributes,
            "Subnets": ref("PublicSubnetIds"),
            "SecurityGroups": [ref("PublicLoadBalancerSG")]}}, "loadBalancer", tuple(details))


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _listener(lb: LoadBalancer) -> Part:
    # Forward through TargetGroupArn: equivalent to the seed's ForwardConfig
    # with one group, and understood by every tool.
    properties: dict[str, Any] = {
        "DefaultActions": [{"Type": "forward", "TargetGroupArn": ref("ServiceTargetGroup")}],
        "LoadBalancerArn": ref("PublicLoadBalancer"),
        "Port": lb.port,
        "Protocol": "HTTPS" if lb.https else "HTTP"}
    details = [("/Properties/Port", "loadBalancer.port"),
               ("/Properties/Protocol", "loadBalancer.protocol")]
    if lb.https:
        properties["Certificates"] = [{"CertificateArn": lb.certificate_arn}]
        properties["SslPolicy"] = TLS_POLICY
        details.append(("/Properties/Certificates", "loadBalancer.certificateArn"))
    return Part("PublicLoadBalancerListener", {
        "Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": properties},
        "loadBalancer", tuple(details))


def _service_ingress(svc: Service) -> Part:
    # Only the load balancer reaches the tasks, and only on the container port.
    return Part("ServiceIngressfromLoadBalancer", {
        "Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
            "Description": "Ingress from the public ALB",
            "GroupId": ref("ServiceSecurityGroup"),
            "IpProtocol": "tcp",
            "FromPort": svc.port,
            "ToPort": svc.port,
            "SourceSecurityGroupId": ref("PublicLoadBalancerSG")}}, "service.port")


def _https_redirect(lb: LoadBalancer) -> list[Part]:
    if not lb.https:
        return []
    return [Part("HttpRedirectListener", {
        "Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "DefaultActions": [{"Type": "redirect", "RedirectConfig": {
                "Protocol": "HTTPS", "Port": str(lb.port), "StatusCode": "HTTP_301"}}],
            "LoadBalancerArn": ref("PublicLoadBalancer"),
            "Port": 80,
            "Protocol": "HTTP"}}, "loadBalancer.protocol")]


def _secrets_policy(svc: Service) -> list[Part]:
    if not svc.secrets:
        return []
    arns = [arn for _, arn in svc.secrets]
    statements = _secret_statements(arns)
    details: tuple[tuple[str, str], ...] = ()
    if svc.secrets_kms_key_arn:
        details = ((f"/Properties/PolicyDocument/Statement/{len(statements)}",
                    "service.secretsKmsKeyArn"),)
        statements.append(_decrypt_statement(svc.secrets_kms_key_arn, arns))
    return [Part("TaskSecretsPolicy", {"Type": "AWS::IAM::Policy", "Properties": {
        "PolicyName": "read-task-secrets",
        "Roles": [ref("ECSTaskExecutionRole")],
        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}},
        "service.secrets", details)]


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


def _decrypt_statement(key_arn: str, arns: list[str]) -> dict[str, Any]:
    """Decrypt with the secrets' customer managed key, only on behalf of the services
    that hold them, in the stack's region (never a direct kms:Decrypt by the role)."""
    services = sorted({"ssm" if ":ssm:" in arn else "secretsmanager" for arn in arns})
    return {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": [
                sub(f"{service}.${{AWS::Region}}.${{AWS::URLSuffix}}") for service in services]}}}


def _autoscaling(svc: Service) -> list[Part]:
    if not svc.autoscaling:
        return []
    target = {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
        "MinCapacity": svc.autoscaling.min_count,
        "MaxCapacity": svc.autoscaling.max_count,
        "ResourceId": sub("service/${ClusterName}/${Service.Name}"),
        "ScalableDimension": "ecs:service:DesiredCount",
        "ServiceNamespace": "ecs"}}
    policy = {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
        "PolicyName": f"{svc.name}-cpu-target-tracking",
        "PolicyType": "TargetTrackingScaling",
        "ScalingTargetId": ref("ScalableTarget"),
        "TargetTrackingScalingPolicyConfiguration": {
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            "TargetValue": svc.autoscaling.target_cpu_percent,
            "ScaleInCooldown": 60,
            "ScaleOutCooldown": 60}}}
    return [Part("ScalableTarget", target, "service.autoscaling",
                 (("/Properties/MinCapacity", "service.autoscaling.minCount"),
                  ("/Properties/MaxCapacity", "service.autoscaling.maxCount"))),
            Part("CpuScalingPolicy", policy, "service.autoscaling",
                 (("/Properties/TargetTrackingScalingPolicyConfiguration/TargetValue",
                   "service.autoscaling.targetCpuPercent"),))]


def _outputs(lb: LoadBalancer) -> dict[str, Any]:
    scheme, default_port = ("https", 443) if lb.https else ("http", 80)
    url = f"{scheme}://${{PublicLoadBalancer.DNSName}}"
    if lb.port != default_port:
        url += f":{lb.port}"
    return {
        "ServiceUrl": {"Description": "Public URL of the service", "Value": sub(url)},
        "LoadBalancerDnsName": {"Description": "DNS name of the load balancer",
                                "Value": get_att("PublicLoadBalancer", "DNSName")},
        "ServiceName": {"Description": "Name of the ECS service",
                        "Value": get_att("Service", "Name")},
    }
