"""A validated blueprint with every default filled in, as typed values.

Defaults come from the JSON Schema (its ``default`` keywords), so the schema
that editors show is the one source of truth for them: ``apply_defaults`` is
the one function that reads them, for the typed model and for the schema's
cross-field checks alike.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Network:
    cidr: str
    availability_zones: int
    nat_gateways: str  # "per-az" | "single"


@dataclass(frozen=True)
class Cluster:
    # The hosts' types in order of preference; several make a mixed-instances group.
    instance_types: tuple[str, ...]
    # The blueprint field the types come from (cluster.instanceType or .instanceTypes).
    instance_types_field: str
    desired_capacity: int  # accepted, not rendered: ECS managed scaling sizes the group
    max_size: int
    ami: str
    root_volume_gib: int
    container_insights: bool

    @property
    def ami_is_ssm_parameter(self) -> bool:
        return self.ami.startswith("/")

    @property
    def instance_type(self) -> str:
        """The launch template's type: the first choice."""
        return self.instance_types[0]


@dataclass(frozen=True)
class HealthCheck:
    path: str
    interval_seconds: int
    timeout_seconds: int
    healthy_threshold: int
    unhealthy_threshold: int


@dataclass(frozen=True)
class Deployment:
    maximum_percent: int
    minimum_healthy_percent: int


@dataclass(frozen=True)
class Autoscaling:
    min_count: int
    max_count: int
    target_cpu_percent: int


@dataclass(frozen=True)
class Service:
    name: str
    image: str
    port: int
    cpu: int
    memory: int
    desired_count: int
    environment: tuple[tuple[str, str], ...]
    secrets: tuple[tuple[str, str], ...]
    secrets_kms_key_arn: str | None
    user: str
    read_only_root_filesystem: bool
    writable_paths: tuple[str, ...]
    health_check: HealthCheck
    deployment: Deployment
    autoscaling: Autoscaling | None


@dataclass(frozen=True)
class LoadBalancer:
    protocol: str  # "HTTP" | "HTTPS"
    port: int
    certificate_arn: str | None
    idle_timeout_seconds: int
    ingress_cidrs: tuple[str, ...]
    deletion_protection: bool
    access_logs_bucket: str | None
    access_logs_prefix: str | None

    @property
    def https(self) -> bool:
        return self.protocol == "HTTPS"


@dataclass(frozen=True)
class Logs:
    retention_days: int
    kms_key_arn: str | None


@dataclass(frozen=True)
class Blueprint:
    name: str
    description: str | None
    tags: tuple[tuple[str, str], ...]
    network: Network
    cluster: Cluster
    service: Service
    load_balancer: LoadBalancer
    logs: Logs


def apply_defaults(schema: dict[str, Any], data: Any) -> Any:
    """A copy of ``data`` with the schema's defaults filled in, recursively.

    An object's ``if``/``then``/``else`` may hold defaults too (the listener
    port follows the protocol): the branch that applies to the object, once
    its own defaults are in, adds its defaults.
    """
    if not isinstance(data, dict) or schema.get("type") != "object":
        return copy.deepcopy(data)
    result = _fill(schema, {key: copy.deepcopy(value) for key, value in data.items()})
    if "if" in schema:
        branch = schema.get("then" if _holds(schema["if"], result) else "else")
        if isinstance(branch, dict):
            result = _fill(branch, result)
    return result


def _fill(schema: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    for key, subschema in schema.get("properties", {}).items():
        if key not in result and "default" in subschema:
            result[key] = copy.deepcopy(subschema["default"])
        if key in result:
            result[key] = apply_defaults(subschema, result[key])
    return result


def _holds(condition: dict[str, Any], data: dict[str, Any]) -> bool:
    import jsonschema  # deferred, as in blueprint.schema

    return bool(jsonschema.Draft7Validator(condition).is_valid(data))


def from_data(data: dict[str, Any], schema: dict[str, Any]) -> Blueprint:
    """Typed blueprint from data that already passed schema validation."""
    full = apply_defaults(schema, data)
    net, clu, svc, lb = full["network"], full["cluster"], full["service"], full["loadBalancer"]
    hc, dep, scaling = svc["healthCheck"], svc["deployment"], svc.get("autoscaling")
    access_logs, logs = lb.get("accessLogs") or {}, full["logs"]
    return Blueprint(
        name=full["name"],
        description=full.get("description"),
        tags=tuple(sorted(full.get("tags", {}).items())),
        network=Network(net["cidr"], net["availabilityZones"], net["natGateways"]),
        cluster=Cluster(
            *_instance_types(data.get("cluster") or {}, clu),
            desired_capacity=clu["desiredCapacity"],
            max_size=clu["maxSize"],
            ami=clu["ami"],
            root_volume_gib=clu["rootVolumeGiB"],
            container_insights=clu["containerInsights"],
        ),
        service=Service(
            name=svc["name"],
            image=svc["image"],
            port=svc["port"],
            cpu=svc["cpu"],
            memory=svc["memory"],
            desired_count=svc["desiredCount"],
            environment=tuple(sorted(svc["environment"].items())),
            secrets=tuple(sorted(svc["secrets"].items())),
            secrets_kms_key_arn=svc.get("secretsKmsKeyArn"),
            user=svc["user"],
            read_only_root_filesystem=svc["readOnlyRootFilesystem"],
            writable_paths=tuple(svc["writablePaths"]),
            health_check=HealthCheck(hc["path"], hc["intervalSeconds"], hc["timeoutSeconds"],
                                     hc["healthyThreshold"], hc["unhealthyThreshold"]),
            deployment=Deployment(dep["maximumPercent"], dep["minimumHealthyPercent"]),
            autoscaling=None if scaling is None else Autoscaling(
                scaling["minCount"], scaling["maxCount"], scaling["targetCpuPercent"]),
        ),
        load_balancer=LoadBalancer(
            protocol=lb["protocol"],
            port=lb["port"],
            certificate_arn=lb.get("certificateArn"),
            idle_timeout_seconds=lb["idleTimeoutSeconds"],
            ingress_cidrs=tuple(lb["ingressCidrs"]),
            deletion_protection=lb["deletionProtection"],
            access_logs_bucket=access_logs.get("bucket"),
            access_logs_prefix=access_logs.get("prefix"),
        ),
        logs=Logs(logs["retentionDays"], logs.get("kmsKeyArn")),
    )


def _instance_types(written: dict[str, Any], full: dict[str, Any]) -> tuple[tuple[str, ...], str]:
    """instanceType written alone means that one type; otherwise instanceTypes (or its default)."""
    if "instanceType" in written and "instanceTypes" not in written:
        return (full["instanceType"],), "cluster.instanceType"
    return tuple(full["instanceTypes"]), "cluster.instanceTypes"
