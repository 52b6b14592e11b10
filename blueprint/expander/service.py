"""service.yml: the ECS service in private subnets behind a public load balancer."""

from __future__ import annotations

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
from blueprint.model import Blueprint, LoadBalancer, Service

SECTION = "service"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
_CONTAINER = "/Properties/ContainerDefinitions/0"


def build(bp: Blueprint) -> ChildStack:
    svc, lb = bp.service, bp.load_balancer
    return ChildStack(
        description="ECS service in awsvpc mode on EC2 capacity, in private subnets, "
                    "reachable from the internet only through a public load balancer",
        section=SECTION,
        parameters=(*_wired_parameters(), *_settings(svc, lb)),
        parts=(_task_definition(svc), _service(svc, lb), _service_security_group(), _target_group(),
               _load_balancer_security_group(lb), _load_balancer(), _listener(lb),
               _service_ingress(), _log_group(), *_https_redirect(lb), *_secrets_policy(svc),
               *_autoscaling(svc)),
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


def _number(name: str, field: str, value: Any, description: str) -> Parameter:
    return setting(name, field, value, {"Type": "Number", "Description": description})


def _string(name: str, field: str, value: Any, description: str) -> Parameter:
    return setting(name, field, value, {"Type": "String", "Description": description})


def _settings(svc: Service, lb: LoadBalancer) -> list[Parameter]:
    hc, deployment = svc.health_check, svc.deployment
    settings = [
        _string("ServiceName", "service.name", svc.name,
                "Name of the service, its task family and its container"),
        _string("ImageUrl", "service.image", svc.image, "Container image"),
        _number("ContainerCpu", "service.cpu", svc.cpu, "CPU units (1024 = one vCPU)"),
        _number("ContainerMemory", "service.memory", svc.memory, "Memory in MiB"),
        _number("ContainerPort", "service.port", svc.port, "Port the container listens on"),
        # Autoscaled, the count is not the blueprint's to set (see _service_properties).
        *([] if svc.autoscaling else [_number("DesiredCount", "service.desiredCount",
                                              svc.desired_count,
                                              "How many copies of the task to run")]),
        _string("HealthCheckPath", "service.healthCheck.path", hc.path,
                "Path the load balancer checks"),
        _number("HealthCheckIntervalSeconds", "service.healthCheck.intervalSeconds",
                hc.interval_seconds, "Seconds between health checks"),
        _number("HealthCheckTimeoutSeconds", "service.healthCheck.timeoutSeconds",
                hc.timeout_seconds, "Seconds to wait for a health check"),
        _number("HealthyThresholdCount", "service.healthCheck.healthyThreshold",
                hc.healthy_threshold, "Successes before healthy"),
        _number("UnhealthyThresholdCount", "service.healthCheck.unhealthyThreshold",
                hc.unhealthy_threshold, "Failures before unhealthy"),
        _number("DeploymentMaximumPercent", "service.deployment.maximumPercent",
                deployment.maximum_percent, "Most tasks during a deployment, in percent"),
        _number("DeploymentMinimumHealthyPercent", "service.deployment.minimumHealthyPercent",
                deployment.minimum_healthy_percent,
                "Fewest healthy tasks during a deployment, in percent"),
        _number("ListenerPort", "loadBalancer.port", lb.port, "Port of the public listener"),
        _string("IdleTimeoutSeconds", "loadBalancer.idleTimeoutSeconds",
                str(lb.idle_timeout_seconds), "Load balancer idle timeout in seconds"),
    ]
    if lb.https:
        settings.append(_string("CertificateArn", "loadBalancer.certificateArn",
                                lb.certificate_arn, "ACM certificate of the listener"))
    if svc.autoscaling:
        scaling = svc.autoscaling
        settings += [
            _number("MinCount", "service.autoscaling.minCount", scaling.min_count,
                    "Fewest tasks"),
            _number("MaxCount", "service.autoscaling.maxCount", scaling.max_count, "Most tasks"),
            _number("TargetCpuPercent", "service.autoscaling.targetCpuPercent",
                    scaling.target_cpu_percent, "Average CPU utilisation to hold"),
        ]
    return settings


def _container(svc: Service) -> dict[str, Any]:
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
    if svc.secrets:
        container["Secrets"] = [{"Name": k, "ValueFrom": v} for k, v in svc.secrets]
    return container


def _task_definition(svc: Service) -> Part:
    resource: dict[str, Any] = {"Type": "AWS::ECS::TaskDefinition", "Properties": {
        "Family": ref("ServiceName"),
        "Cpu": ref("ContainerCpu"),
        "Memory": ref("ContainerMemory"),
        "NetworkMode": "awsvpc",
        "RequiresCompatibilities": ["EC2"],
        "ExecutionRoleArn": ref("ECSTaskExecutionRole"),
        "ContainerDefinitions": [_container(svc)]}}
    details: list[tuple[str, str]] = []
    if svc.environment:
        details.append((f"{_CONTAINER}/Environment", "service.environment"))
    if svc.secrets:
        details.append((f"{_CONTAINER}/Secrets", "service.secrets"))
        # Tasks may start only once they are allowed to read their secrets.
        resource["DependsOn"] = ["TaskSecretsPolicy"]
    return Part("TaskDefinition", resource, "service", tuple(details))


def _service(svc: Service, lb: LoadBalancer) -> Part:
    # The target group must be attached to the load balancer first.
    listeners = ["PublicLoadBalancerListener", *(["HttpRedirectListener"] if lb.https else [])]
    return Part("Service", {"Type": "AWS::ECS::Service", "DependsOn": listeners,
                            "Properties": _service_properties(svc)}, "service")


def _service_properties(svc: Service) -> dict[str, Any]:
    # Autoscaled, the service has no DesiredCount: CloudFormation then leaves the
    # running count to Application Auto Scaling on every update (an absent count
    # is omitted from UpdateService); on create ECS starts one task and
    # registering the scalable target raises it to minCount.
    count = {} if svc.autoscaling else {"DesiredCount": ref("DesiredCount")}
    return {
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
            "MinimumHealthyPercent": ref("DeploymentMinimumHealthyPercent"),
            # A deployment that cannot reach a steady state (a task that never
            # starts, a wrong image tag) fails and rolls back instead of waiting
            # for CloudFormation's own timeout.
            "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}},
        **count,
        "TaskDefinition": ref("TaskDefinition"),
        "LoadBalancers": [{"ContainerName": ref("ServiceName"),
                           "ContainerPort": ref("ContainerPort"),
                           "TargetGroupArn": ref("ServiceTargetGroup")}]}


def _service_security_group() -> Part:
    return Part("ServiceSecurityGroup", {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "Security group for service", "VpcId": ref("VpcId")}}, "service")


def _target_group() -> Part:
    return Part("ServiceTargetGroup", {
        "Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
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
        "service.healthCheck")


def _load_balancer_security_group(lb: LoadBalancer) -> Part:
    rules: list[dict[str, Any]] = [
        {"CidrIp": cidr, "IpProtocol": "tcp", "FromPort": ref("ListenerPort"),
         "ToPort": ref("ListenerPort"), "Description": "Clients of the public listener"}
        for cidr in lb.ingress_cidrs]
    if lb.https:
        rules += [{"CidrIp": cidr, "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                   "Description": "HTTP, redirected to HTTPS"} for cidr in lb.ingress_cidrs]
    return Part("PublicLoadBalancerSG", {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "Access to the public facing load balancer",
        "VpcId": ref("VpcId"),
        "SecurityGroupIngress": rules}}, "loadBalancer.ingressCidrs")


def _load_balancer() -> Part:
    return Part("PublicLoadBalancer", {
        "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            "Scheme": "internet-facing",
            "LoadBalancerAttributes": [
                {"Key": "idle_timeout.timeout_seconds", "Value": ref("IdleTimeoutSeconds")}],
            "Subnets": ref("PublicSubnetIds"),
            "SecurityGroups": [ref("PublicLoadBalancerSG")]}}, "loadBalancer")


def _listener(lb: LoadBalancer) -> Part:
    # Forward through TargetGroupArn: equivalent to the seed's ForwardConfig
    # with one group, and understood by every tool.
    properties: dict[str, Any] = {
        "DefaultActions": [{"Type": "forward", "TargetGroupArn": ref("ServiceTargetGroup")}],
        "LoadBalancerArn": ref("PublicLoadBalancer"),
        "Port": ref("ListenerPort"),
        "Protocol": "HTTPS" if lb.https else "HTTP"}
    if lb.https:
        properties["Certificates"] = [{"CertificateArn": ref("CertificateArn")}]
        properties["SslPolicy"] = TLS_POLICY
    return Part("PublicLoadBalancerListener", {
        "Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": properties},
        "loadBalancer")


def _service_ingress() -> Part:
    # Only the load balancer reaches the tasks, and only on the container port.
    return Part("ServiceIngressfromLoadBalancer", {
        "Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
            "Description": "Ingress from the public ALB",
            "GroupId": ref("ServiceSecurityGroup"),
            "IpProtocol": "tcp",
            "FromPort": ref("ContainerPort"),
            "ToPort": ref("ContainerPort"),
            "SourceSecurityGroupId": ref("PublicLoadBalancerSG")}}, "service.port")


def _log_group() -> Part:
    return Part("LogGroup", {"Type": "AWS::Logs::LogGroup"}, "service")


def _https_redirect(lb: LoadBalancer) -> list[Part]:
    if not lb.https:
        return []
    return [Part("HttpRedirectListener", {
        "Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "DefaultActions": [{"Type": "redirect", "RedirectConfig": {
                "Protocol": "HTTPS", "Port": sub("${ListenerPort}"), "StatusCode": "HTTP_301"}}],
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
        "MinCapacity": ref("MinCount"),
        "MaxCapacity": ref("MaxCount"),
        "ResourceId": sub("service/${ClusterName}/${Service.Name}"),
        "ScalableDimension": "ecs:service:DesiredCount",
        "ServiceNamespace": "ecs"}}
    policy = {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
        "PolicyName": sub("${ServiceName}-cpu-target-tracking"),
        "PolicyType": "TargetTrackingScaling",
        "ScalingTargetId": ref("ScalableTarget"),
        "TargetTrackingScalingPolicyConfiguration": {
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            "TargetValue": ref("TargetCpuPercent"),
            "ScaleInCooldown": 60,
            "ScaleOutCooldown": 60}}}
    return [Part("ScalableTarget", target, "service.autoscaling"),
            Part("CpuScalingPolicy", policy, "service.autoscaling")]


def _outputs(lb: LoadBalancer) -> dict[str, Any]:
    scheme, default_port = ("https", 443) if lb.https else ("http", 80)
    url = f"{scheme}://${{PublicLoadBalancer.DNSName}}"
    if lb.port != default_port:
        url += ":${ListenerPort}"
    return {
        "ServiceUrl": {"Description": "Public URL of the service", "Value": sub(url)},
        "LoadBalancerDnsName": {"Description": "DNS name of the load balancer",
                                "Value": get_att("PublicLoadBalancer", "DNSName")},
        "ServiceName": {"Description": "Name of the ECS service",
                        "Value": get_att("Service", "Name")},
    }
