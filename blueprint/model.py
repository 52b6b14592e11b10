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
    instance_type: str
    desired_capacity: int  # accepted, not rendered: ECS managed scaling sizes the group
    max_size: int
    ami: str
    root_volume_gib: int
    container_insights: bool

    @property
    def ami_is_ssm_parameter(self) -> bool:
        return self.ami.startswith("/")


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

    @property
    def https(self) -> bool:
        return self.protocol == "HTTPS"


@dataclass(frozen=True)
class Blueprint:
    name: str
    description: str | None
    tags: tuple[tuple[str, str], ...]
    network: Network
    cluster: Cluster
    service: Service
    load_balancer: LoadBalancer


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
    return Blueprint(
        name=full["name"],
        description=full.get("description"),
        tags=tuple(sorted(full.get("tags", {}).items())),
        network=Network(net["cidr"], net["availabilityZones"], net["natGateways"]),
        cluster=Cluster(
            instance_type=clu["instanceType"],
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
        ),
    )
