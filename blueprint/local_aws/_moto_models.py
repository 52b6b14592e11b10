"""CloudFormation resource models added to moto by :mod:`blueprint.local_aws.fixes`.

This module imports moto at module level, so it is only imported lazily from
:func:`blueprint.local_aws.fixes.apply_fixes`, after ``moto.cloudformation.parsing``
(which imports every moto model).  moto builds its type -> model map from
``CloudFormationModel.__subclasses__()`` in definition order, so the classes here,
defined later, win for the CloudFormation types they declare.

Each class only translates CloudFormation properties (PascalCase) into the
arguments of the ECS backend's own API methods (the same calls the ECS HTTP API
makes), so the state seen through ``ecs.describe_*`` is what the ECS API
would have produced for the same request.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from moto.autoscaling.models import FakeAutoScalingGroup, autoscaling_backends
from moto.cloudformation.exceptions import ValidationError
from moto.core.common_models import CloudFormationModel
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_ip_addresses import ElasticAddress
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models.nat_gateways import NatGateway
from moto.ec2.models.route_tables import RouteTable
from moto.ecs.exceptions import EcsClientException
from moto.ecs.models import (
    Cluster,
    EC2ContainerServiceBackend,
    Service,
    TaskDefinition,
    ecs_backends,
)
from moto.elbv2.models import FakeLoadBalancer, elbv2_backends

__all__ = [
    "DELETION_OVERRIDES",
    "ECS_OVERRIDES",
    "UPDATE_OVERRIDES",
    "AutoScalingGroupModel",
    "EcsCapacityProviderModel",
    "EcsClusterCapacityProviderAssociationsModel",
    "EcsClusterModel",
    "EcsServiceModel",
    "EcsTaskDefinitionModel",
    "LoadBalancerModel",
    "delete_after_update",
    "update_phase",
]

logger = logging.getLogger(__name__)


def _ecs(account_id: str, region_name: str) -> EC2ContainerServiceBackend:
    backend: EC2ContainerServiceBackend = ecs_backends[account_id][region_name]
    return backend


def _camel(value: Any) -> Any:
    """PascalCase CloudFormation keys -> camelCase ECS API keys, recursively."""
    return remap_nested_keys(value, pascal_to_camelcase)


def _tags(props: dict[str, Any]) -> list[dict[str, str]] | None:
    tags = props.get("Tags")
    if not tags:
        return None
    return [{"key": t["Key"], "value": t["Value"]} for t in tags]


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _name_of(value: Any) -> str:
    """A Ref may resolve to a moto model (when moto resolves lazily) or a string."""
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name
    return str(value)


class _Declared:
    """What moto asks of every CloudFormation model class, declared as data.

    A mixin rather than a base class: moto only registers direct
    ``CloudFormationModel`` subclasses.
    """

    cfn_type: ClassVar[str]
    cfn_name_type: ClassVar[str] = ""
    cfn_attributes: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.cfn_name_type

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.cfn_type

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.cfn_attributes


# ---------------------------------------------------------------------------
# Cleanup phase (P15): replaced resources are deleted when the root update ends
# ---------------------------------------------------------------------------


class _UpdatePhase(threading.local):
    depth = 0
    cleanups: list[Callable[[], None]]

    def __init__(self) -> None:
        self.cleanups = []


_phase = _UpdatePhase()


@contextlib.contextmanager
def update_phase() -> Iterator[None]:
    """One stack update; nested stacks' updates run inside their parent's.

    CloudFormation deletes the resources an update replaced in the cleanup phase,
    once the root stack's update succeeded; after a failure it keeps them (the
    local endpoint does not roll back, so the new ones stay too).
    """
    _phase.depth += 1
    try:
        yield
    except BaseException:
        if _phase.depth == 1:
            _phase.cleanups.clear()
        raise
    finally:
        _phase.depth -= 1
    if _phase.depth == 0:
        cleanups, _phase.cleanups = _phase.cleanups, []
        for cleanup in cleanups:
            try:
                cleanup()
            except Exception as exc:  # as in AWS: a failed cleanup leaves the stack updated
                logger.warning("cleanup after update failed: %s", exc)


def delete_after_update(cleanup: Callable[[], None]) -> None:
    """Run ``cleanup`` in the cleanup phase (at once outside any update)."""
    if _phase.depth == 0:
        cleanup()
    else:
        _phase.cleanups.append(cleanup)


def custom_name_requires_replacing(name: str) -> ValidationError:
    """CloudFormation's refusal to replace a resource whose explicit name is unchanged."""
    return ValidationError(
        message="CloudFormation cannot update a stack when a custom-named resource requires "
        f"replacing. Rename {name} and update the stack again."
    )


# ---------------------------------------------------------------------------
# P2, P12: AWS::ECS::CapacityProvider
# ---------------------------------------------------------------------------


class EcsCapacityProviderModel(_Declared, CloudFormationModel):
    """``AWS::ECS::CapacityProvider`` -> ``ecs.create_capacity_provider``.

    ``Ref`` returns the capacity provider name (as in AWS).  A change of a
    create-only property (``Name``, ``ClusterName``,
    ``AutoScalingGroupProvider.AutoScalingGroupArn``) replaces it: a new provider
    (a new generated name unless ``Name`` is set), the old one deleted in the
    cleanup phase; other changes update it in place (P12).
    """

    def __init__(self, name: str, arn: str, properties: dict[str, Any] | None = None) -> None:
        self.name = name
        self.arn = arn
        self.properties: dict[str, Any] = properties or {}

    @property
    def physical_resource_id(self) -> str:
        return self.name

    cfn_type = "AWS::ECS::CapacityProvider"
    cfn_name_type = "Name"

    @staticmethod
    def _asg_details(props: dict[str, Any]) -> dict[str, Any]:
        details: dict[str, Any] = _camel(props.get("AutoScalingGroupProvider") or {})
        arn = details.get("autoScalingGroupArn")
        if arn is not None:
            details["autoScalingGroupArn"] = _name_of(arn)
        return details

    @classmethod
    def _create_only(cls, props: dict[str, Any]) -> tuple[Any, ...]:
        return (props.get("Name"), props.get("ClusterName"),
                cls._asg_details(props).get("autoScalingGroupArn"))

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> EcsCapacityProviderModel:
        props = cloudformation_json.get("Properties") or {}
        provider = _ecs(account_id, region_name).create_capacity_provider(
            resource_name, cls._asg_details(props), _tags(props)
        )
        return cls(provider.name, provider.capacity_provider_arn, props)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: EcsCapacityProviderModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EcsCapacityProviderModel:
        props = cloudformation_json.get("Properties") or {}
        if cls._create_only(props) == cls._create_only(original_resource.properties):
            _ecs(account_id, region_name).update_capacity_provider(
                original_resource.name, cls._asg_details(props))
            original_resource.properties = props
            return original_resource
        if props.get("Name") == original_resource.name:
            raise custom_name_requires_replacing(original_resource.name)
        replacement = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        delete_after_update(lambda: original_resource.delete(account_id, region_name))
        return replacement

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        backend = _ecs(account_id, region_name)
        if backend._get_provider(resource_name) is None:
            return
        provider = backend.delete_capacity_provider(resource_name)
        if getattr(provider, "update_status", None) == "DELETE_FAILED":  # P13
            raise EcsClientException(str(getattr(provider, "update_status_reason", "")))

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(self.name, {}, account_id, region_name)

    def is_created(self) -> bool:
        return True


# ---------------------------------------------------------------------------
# P3: AWS::ECS::ClusterCapacityProviderAssociations
# ---------------------------------------------------------------------------


class EcsClusterCapacityProviderAssociationsModel(_Declared, CloudFormationModel):
    """``AWS::ECS::ClusterCapacityProviderAssociations`` ->
    ``ecs.put_cluster_capacity_providers``; deletion clears the cluster's providers."""

    def __init__(self, cluster: str) -> None:
        self.cluster = cluster

    @property
    def physical_resource_id(self) -> str:
        return self.cluster

    cfn_type = "AWS::ECS::ClusterCapacityProviderAssociations"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> EcsClusterCapacityProviderAssociationsModel:
        props = cloudformation_json.get("Properties") or {}
        cluster = _name_of(props["Cluster"])
        providers = [_name_of(p) for p in props.get("CapacityProviders") or []]
        strategy = _camel(props.get("DefaultCapacityProviderStrategy") or [])
        for item in strategy:
            item["capacityProvider"] = _name_of(item["capacityProvider"])
        _ecs(account_id, region_name).put_cluster_capacity_providers(cluster, providers, strategy)
        return cls(cluster)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: EcsClusterCapacityProviderAssociationsModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EcsClusterCapacityProviderAssociationsModel:
        props = cloudformation_json.get("Properties") or {}
        if _name_of(props["Cluster"]) != original_resource.cluster:
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        backend = _ecs(account_id, region_name)
        cluster = backend.clusters.get(resource_name.rsplit("/", maxsplit=1)[-1])
        if cluster is not None:
            backend.put_cluster_capacity_providers(resource_name, [], [])

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(self.cluster, {}, account_id, region_name)

    def is_created(self) -> bool:
        return True


# ---------------------------------------------------------------------------
# P4: AWS::ECS::TaskDefinition and AWS::ECS::Service with their full properties
# ---------------------------------------------------------------------------

_TASKDEF_FIELDS = {
    # CloudFormation property -> register_task_definition keyword
    "NetworkMode": "network_mode",
    "RequiresCompatibilities": "requires_compatibilities",
    "ExecutionRoleArn": "execution_role_arn",
    "TaskRoleArn": "task_role_arn",
    "PidMode": "pid_mode",
    "IpcMode": "ipc_mode",
}
_TASKDEF_NESTED_FIELDS = {
    "Volumes": "volumes",
    "PlacementConstraints": "placement_constraints",
    "ProxyConfiguration": "proxy_configuration",
    "InferenceAccelerators": "inference_accelerators",
    "RuntimePlatform": "runtime_platform",
    "EphemeralStorage": "ephemeral_storage",
}


def _taskdef_kwargs(resource_name: str, props: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "family": props.get("Family") or resource_name,
        "container_definitions": _camel(props.get("ContainerDefinitions") or []),
        "cpu": _str_or_none(props.get("Cpu")),
        "memory": _str_or_none(props.get("Memory")),
        "tags": _tags(props),
    }
    for cfn_key, kw in _TASKDEF_FIELDS.items():
        if props.get(cfn_key) is not None:
            kwargs[kw] = props[cfn_key]
    for cfn_key, kw in _TASKDEF_NESTED_FIELDS.items():
        if props.get(cfn_key) is not None:
            kwargs[kw] = _camel(props[cfn_key])
    return kwargs


class EcsTaskDefinitionModel(_Declared, CloudFormationModel):
    """``AWS::ECS::TaskDefinition`` -> ``ecs.register_task_definition`` with all of
    NetworkMode, Cpu, Memory, RequiresCompatibilities, ExecutionRoleArn, TaskRoleArn,
    Volumes, ... (moto's own handler passes only Family, ContainerDefinitions,
    Volumes and Memory, so every task definition became ``bridge``).

    ``Ref`` returns the task definition ARN. An update with changed properties
    registers a new revision and deregisters the old one (a replacement, as in AWS).
    """

    cfn_type = "AWS::ECS::TaskDefinition"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> TaskDefinition:
        props = cloudformation_json.get("Properties") or {}
        task_def = _ecs(account_id, region_name).register_task_definition(
            **_taskdef_kwargs(resource_name, props)
        )
        # Remember the input so an update can tell whether anything changed.
        task_def._blueprint_cfn_properties = props  # type: ignore[attr-defined]
        return task_def

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: TaskDefinition,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> TaskDefinition:
        props = cloudformation_json.get("Properties") or {}
        if getattr(original_resource, "_blueprint_cfn_properties", None) == props:
            return original_resource
        new = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        _ecs(account_id, region_name).deregister_task_definition(original_resource.arn)
        return new

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        backend = _ecs(account_id, region_name)
        try:
            task_def = backend.describe_task_definition(resource_name)
        except Exception:  # already gone
            return
        if task_def.status == "ACTIVE":
            backend.deregister_task_definition(resource_name)

    def is_created(self) -> bool:
        return True


def _service_settings(props: dict[str, Any]) -> dict[str, Any]:
    """Service settings shared by create and update, as ECS API (camelCase) values."""
    settings: dict[str, Any] = {}
    network = props.get("NetworkConfiguration")
    if network:
        settings["network_configuration"] = _camel(network)
    if props.get("LoadBalancers") is not None:
        settings["load_balancers"] = _camel(props["LoadBalancers"])
    strategy = props.get("CapacityProviderStrategy")
    if strategy is not None:
        settings["capacity_provider_strategy"] = [
            {**_camel(item), "capacityProvider": _name_of(item["CapacityProvider"])}
            for item in strategy
        ]
    if props.get("PlacementStrategies") is not None:
        settings["placement_strategy"] = _camel(props["PlacementStrategies"])
    if props.get("PlacementConstraints") is not None:
        settings["placement_constraints"] = _camel(props["PlacementConstraints"])
    if props.get("DeploymentConfiguration") is not None:
        settings["deployment_configuration"] = _camel(props["DeploymentConfiguration"])
    if props.get("HealthCheckGracePeriodSeconds") is not None:
        settings["health_check_grace_period_seconds"] = int(props["HealthCheckGracePeriodSeconds"])
    if props.get("EnableECSManagedTags") is not None:
        settings["enable_ecs_managed_tags"] = props["EnableECSManagedTags"]
    if props.get("EnableExecuteCommand") is not None:
        settings["enable_execute_command"] = props["EnableExecuteCommand"]
    return settings


def _settle(backend: EC2ContainerServiceBackend, service: Service) -> None:
    """Report the service as steady: CloudFormation only finishes creating or
    updating an ECS service once it is stable (runningCount == desiredCount)."""
    cluster = backend._get_cluster(service.cluster_name)
    backend.update_cluster_resources(cluster, -service.running_count, "RUNNING")
    backend.update_cluster_resources(cluster, -service.pending_count, "PENDING")
    service.running_count = service.desired_count
    service.pending_count = 0
    backend.update_cluster_resources(cluster, service.running_count, "RUNNING")
    for deployment in service.deployments:
        deployment["desiredCount"] = service.desired_count
        deployment["runningCount"] = service.desired_count
        deployment["pendingCount"] = 0
        deployment["rolloutState"] = "COMPLETED"
        deployment["rolloutStateReason"] = f"ECS deployment {deployment['id']} completed."
        deployment["taskDefinition"] = service.task_definition
        if getattr(service, "network_configuration", None):
            deployment["networkConfiguration"] = service.network_configuration
        strategy = getattr(service, "capacity_provider_strategy", None)
        if strategy:
            deployment["capacityProviderStrategy"] = strategy


class EcsServiceModel(_Declared, CloudFormationModel):
    """``AWS::ECS::Service`` -> ``ecs.create_service`` / ``ecs.update_service`` with
    NetworkConfiguration, LoadBalancers, CapacityProviderStrategy, PlacementStrategies,
    DeploymentConfiguration, ... (moto's own handler passes only the name, cluster,
    task definition and DesiredCount, on create and on update).

    ``Ref`` returns the service ARN; ``GetAtt Name`` is supported.
    A change of ServiceName or Cluster replaces the service, as in AWS.
    """

    cfn_type = "AWS::ECS::Service"
    cfn_name_type = "ServiceName"
    cfn_attributes = frozenset({"Name"})

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Service:
        props = cloudformation_json.get("Properties") or {}
        backend = _ecs(account_id, region_name)
        settings = _service_settings(props)
        task_definition = props.get("TaskDefinition")
        launch_type = props.get("LaunchType")
        service = backend.create_service(
            _name_of(props.get("Cluster", "default")),
            resource_name,
            int(props.get("DesiredCount", 1)),
            task_definition_str=None if task_definition is None else str(task_definition),
            load_balancers=settings.pop("load_balancers", None),
            scheduling_strategy=props.get("SchedulingStrategy"),
            tags=_tags(props),
            deployment_controller=_camel(props.get("DeploymentController")),
            launch_type=launch_type or "EC2",
            service_registries=_camel(props.get("ServiceRegistries")),
            platform_version=props.get("PlatformVersion"),
            propagate_tags=props.get("PropagateTags") or "NONE",
            network_configuration=settings.pop("network_configuration", None),
            role_arn=props.get("Role"),
        )
        if launch_type is None and "capacity_provider_strategy" in settings:
            # With a capacity provider strategy the service has no launch type.
            service.launch_type = None
            for deployment in service.deployments:
                deployment["launchType"] = None
        for attr, value in settings.items():
            setattr(service, attr, value)
        _settle(backend, service)
        return service

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Service,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Service:
        props = cloudformation_json.get("Properties") or {}
        backend = _ecs(account_id, region_name)
        cluster = _name_of(props.get("Cluster", "default")).split("/")[-1]
        if cluster != original_resource.cluster_name or (
            props.get("ServiceName") is not None and props["ServiceName"] != original_resource.name
        ):
            backend.delete_service(
                original_resource.cluster_name, original_resource.name, force=True
            )
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
        update: dict[str, Any] = {
            "cluster": cluster,
            "service": original_resource.name,
            "task_definition": _str_or_none(props.get("TaskDefinition")),
            "desired_count": int(props.get("DesiredCount", original_resource.desired_count)),
        }
        update.update(_service_settings(props))
        service = backend.update_service(update)
        _settle(backend, service)
        return service

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        backend = _ecs(account_id, region_name)
        for service in list(backend.services.values()):
            if resource_name in (service.arn, service.name) and service.status == "ACTIVE":
                backend.delete_service(service.cluster_name, service.name, force=True)

    def is_created(self) -> bool:
        return True


class EcsClusterModel(_Declared, CloudFormationModel):
    """``AWS::ECS::Cluster`` -> ``ecs.create_cluster`` with ClusterSettings,
    Configuration, CapacityProviders and DefaultCapacityProviderStrategy (moto's own
    handler passes only the name), ``ecs.update_cluster`` on update and
    ``ecs.delete_cluster`` on deletion (moto never deletes it).
    """

    cfn_type = "AWS::ECS::Cluster"
    cfn_name_type = "ClusterName"
    cfn_attributes = frozenset({"Arn"})

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Cluster:
        props = cloudformation_json.get("Properties") or {}
        return _ecs(account_id, region_name).create_cluster(
            cluster_name=resource_name,
            tags=_tags(props),
            cluster_settings=_camel(props.get("ClusterSettings")),
            configuration=_camel(props.get("Configuration")),
            capacity_providers=props.get("CapacityProviders"),
            default_capacity_provider_strategy=_camel(props.get("DefaultCapacityProviderStrategy")),
        )

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Cluster,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Cluster:
        props = cloudformation_json.get("Properties") or {}
        backend = _ecs(account_id, region_name)
        # Only an explicit new ClusterName replaces it (a generated name is kept).
        if props.get("ClusterName") not in (None, original_resource.name):
            backend.delete_cluster(original_resource.arn)
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
        return backend.update_cluster(
            original_resource.name,
            _camel(props.get("ClusterSettings")),
            _camel(props.get("Configuration")),
            None,
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        backend = _ecs(account_id, region_name)
        if resource_name.rsplit("/", maxsplit=1)[-1] in backend.clusters:
            backend.delete_cluster(resource_name)

    def is_created(self) -> bool:
        return True


# ---------------------------------------------------------------------------
# P10: EC2 resources that moto creates from a template but never deletes
# ---------------------------------------------------------------------------


class _DelegatingDelete:
    """Create/update/attributes as moto's model ``_base``; add the missing deletion.

    (Mixed into direct ``CloudFormationModel`` subclasses: moto only registers
    direct subclasses.)
    """

    _base: ClassVar[Any]

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return str(cls._base.cloudformation_name_type())

    @classmethod
    def cloudformation_type(cls) -> str:
        return str(cls._base.cloudformation_type())

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return bool(cls._base.has_cfn_attr(attr))

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        return cls._base.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        update = cls._base.update_from_cloudformation_json
        if getattr(update, "__isabstractmethod__", False):
            return original_resource
        return update(
            original_resource=original_resource,
            new_resource_name=new_resource_name,
            cloudformation_json=cloudformation_json,
            account_id=account_id,
            region_name=region_name,
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        cls._delete(ec2_backends[account_id][region_name], resource_name)

    @staticmethod
    def _delete(ec2: Any, physical_id: str) -> None:
        raise NotImplementedError

    def is_created(self) -> bool:
        return True


class Ec2RouteTableModel(_DelegatingDelete, CloudFormationModel):
    """``AWS::EC2::RouteTable``: deletion -> ``ec2.delete_route_table``."""

    _base = RouteTable

    @staticmethod
    def _delete(ec2: Any, physical_id: str) -> None:
        if physical_id in ec2.route_tables:
            ec2.delete_route_table(physical_id)


class Ec2NatGatewayModel(_DelegatingDelete, CloudFormationModel):
    """``AWS::EC2::NatGateway``: deletion -> ``ec2.delete_nat_gateway``."""

    _base = NatGateway

    @staticmethod
    def _delete(ec2: Any, physical_id: str) -> None:
        if physical_id in ec2.nat_gateways:
            ec2.delete_nat_gateway(physical_id)


class Ec2EipModel(_DelegatingDelete, CloudFormationModel):
    """``AWS::EC2::EIP``: deletion -> ``ec2.release_address`` (Ref is the public IP)."""

    _base = ElasticAddress

    @staticmethod
    def _delete(ec2: Any, physical_id: str) -> None:
        if ec2.address_by_ip([physical_id], fail_if_not_found=False):
            ec2.release_address(address=physical_id)


class Ec2InternetGatewayModel(_DelegatingDelete, CloudFormationModel):
    """``AWS::EC2::InternetGateway``: deletion detaches it (moto keeps the
    VPCGatewayAttachment forever) and -> ``ec2.delete_internet_gateway``."""

    _base = InternetGateway

    @staticmethod
    def _delete(ec2: Any, physical_id: str) -> None:
        igw = ec2.internet_gateways.get(physical_id)
        if igw is None:
            return
        if igw.vpc is not None:
            ec2.detach_internet_gateway(physical_id, igw.vpc.id)
        ec2.delete_internet_gateway(physical_id)


# ---------------------------------------------------------------------------
# P16: AWS::AutoScaling::AutoScalingGroup updated in place unless replaced
# ---------------------------------------------------------------------------

#: properties whose change makes ``AutoScalingReplacingUpdate: WillReplace`` replace the group
_REPLACING_UPDATE_TRIGGERS = ("LaunchConfigurationName", "LaunchTemplate", "MixedInstancesPolicy",
                              "VPCZoneIdentifier", "PlacementGroup")


def _will_replace(resource_json: dict[str, Any]) -> bool:
    policy = (resource_json.get("UpdatePolicy") or {}).get("AutoScalingReplacingUpdate") or {}
    return str(policy.get("WillReplace", "false")).lower() == "true"


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


class AutoScalingGroupModel(CloudFormationModel):
    """``AWS::AutoScaling::AutoScalingGroup``: moto deletes and recreates the group
    (under a new generated name) on every update.  In AWS an update changes it in
    place (an ``AutoScalingInstanceRefresh`` or rolling policy then replaces
    *instances*, which is not simulated); the group itself is replaced only when
    ``AutoScalingGroupName`` changes, or when ``AutoScalingReplacingUpdate:
    WillReplace`` is set and its launch template, launch configuration, mixed
    instances policy, subnets or placement group change.  A replaced group is
    deleted in the cleanup phase.
    """

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return str(FakeAutoScalingGroup.cloudformation_name_type())

    @classmethod
    def cloudformation_type(cls) -> str:
        return str(FakeAutoScalingGroup.cloudformation_type())

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return bool(FakeAutoScalingGroup.has_cfn_attr(attr))

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> FakeAutoScalingGroup:
        group = FakeAutoScalingGroup.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        group._blueprint_cfn_properties = cloudformation_json.get("Properties") or {}  # type: ignore[attr-defined]
        return group

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: FakeAutoScalingGroup,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> FakeAutoScalingGroup:
        props = cloudformation_json.get("Properties") or {}
        before = getattr(original_resource, "_blueprint_cfn_properties", {})
        explicit_name = props.get("AutoScalingGroupName")
        renamed = explicit_name not in (None, original_resource.name)
        replacing = _will_replace(cloudformation_json) and any(
            props.get(key) != before.get(key) for key in _REPLACING_UPDATE_TRIGGERS)
        if not (renamed or replacing):
            return cls._update_in_place(original_resource, props, account_id, region_name)
        if explicit_name == original_resource.name:
            raise custom_name_requires_replacing(original_resource.name)
        replacement = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name)
        delete_after_update(lambda: cls.delete_from_cloudformation_json(
            original_resource.name, {}, account_id, region_name))
        return replacement

    @staticmethod
    def _update_in_place(group: FakeAutoScalingGroup, props: dict[str, Any],
                         account_id: str, region_name: str) -> FakeAutoScalingGroup:
        subnets = props.get("VPCZoneIdentifier")
        protected = props.get("NewInstancesProtectedFromScaleIn")
        updated = autoscaling_backends[account_id][region_name].update_auto_scaling_group(
            name=group.name,
            availability_zones=props.get("AvailabilityZones") or [],
            # absent: the group keeps its current desired capacity, as in AWS
            desired_capacity=_int_or_none(props.get("DesiredCapacity")),
            max_size=_int_or_none(props.get("MaxSize")),
            min_size=_int_or_none(props.get("MinSize")),
            launch_config_name=props.get("LaunchConfigurationName"),  # type: ignore[arg-type]
            launch_template=props.get("LaunchTemplate") or {},
            vpc_zone_identifier=",".join(subnets) if subnets else None,  # type: ignore[arg-type]
            health_check_period=_int_or_none(props.get("HealthCheckGracePeriod")),  # type: ignore[arg-type]
            health_check_type=props.get("HealthCheckType"),  # type: ignore[arg-type]
            new_instances_protected_from_scale_in=(
                None if protected is None else str(protected).lower() == "true"),
            mixed_instances_policy=props.get("MixedInstancesPolicy") or None,
        )
        updated._blueprint_cfn_properties = props  # type: ignore[attr-defined]
        return updated

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        FakeAutoScalingGroup.delete_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name)

    def is_created(self) -> bool:
        return True


# ---------------------------------------------------------------------------
# P18: AWS::ElasticLoadBalancingV2::LoadBalancer applies its LoadBalancerAttributes
# ---------------------------------------------------------------------------


def _attribute_value(value: Any) -> str:
    """An attribute value as ELBv2 stores it (YAML may give ``true`` as a bool)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_balancer_attributes(props: dict[str, Any]) -> dict[str, str]:
    """The template's ``LoadBalancerAttributes`` as ``{key: value}``."""
    return {str(attribute["Key"]): _attribute_value(attribute.get("Value"))
            for attribute in props.get("LoadBalancerAttributes") or []}


class LoadBalancerModel(CloudFormationModel):
    """``AWS::ElasticLoadBalancingV2::LoadBalancer``: moto ignores
    ``LoadBalancerAttributes`` (so deletion protection, idle timeout, ... keep their
    defaults) and cannot update the resource.  Here the attributes are applied
    through the backend's ``modify_load_balancer_attributes`` (which validates the
    keys, as the API does) on create and on update; other properties stay as
    created, as in moto.
    """

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return str(FakeLoadBalancer.cloudformation_name_type())

    @classmethod
    def cloudformation_type(cls) -> str:
        return str(FakeLoadBalancer.cloudformation_type())

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return bool(FakeLoadBalancer.has_cfn_attr(attr))

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> FakeLoadBalancer:
        balancer = FakeLoadBalancer.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs)
        cls._apply_attributes(balancer, cloudformation_json, account_id, region_name)
        return balancer

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: FakeLoadBalancer,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> FakeLoadBalancer:
        cls._apply_attributes(original_resource, cloudformation_json, account_id, region_name)
        return original_resource

    @staticmethod
    def _apply_attributes(balancer: FakeLoadBalancer, cloudformation_json: dict[str, Any],
                          account_id: str, region_name: str) -> None:
        attributes = load_balancer_attributes(cloudformation_json.get("Properties") or {})
        if attributes:
            elbv2_backends[account_id][region_name].modify_load_balancer_attributes(
                balancer.arn, attributes)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        elbv2_backends[account_id][region_name].delete_load_balancer(resource_name)

    def is_created(self) -> bool:
        return True


ECS_OVERRIDES: tuple[type[CloudFormationModel], ...] = (
    EcsCapacityProviderModel,
    EcsClusterCapacityProviderAssociationsModel,
    EcsTaskDefinitionModel,
    EcsServiceModel,
    EcsClusterModel,
)
DELETION_OVERRIDES: tuple[type[CloudFormationModel], ...] = (
    Ec2RouteTableModel,
    Ec2NatGatewayModel,
    Ec2EipModel,
    Ec2InternetGatewayModel,
)
UPDATE_OVERRIDES: tuple[type[CloudFormationModel], ...] = (AutoScalingGroupModel,
                                                           LoadBalancerModel)
