"""ECS API rules moto does not enforce, patched into its ECS backend by
:mod:`blueprint.local_aws.fixes` (P13, P14).

Imported lazily, like :mod:`blueprint.local_aws._moto_models`: it imports moto at
module level.  The messages are ECS's own, as quoted in public reports of the
errors (cited beside each); the local endpoint reports them with the same error
codes, so a local deploy fails where ECS would.
"""

from __future__ import annotations

import re
from typing import Any

from moto.ecs.exceptions import EcsClientException, ECSException
from moto.ecs.models import CapacityProvider, Cluster, EC2ContainerServiceBackend

__all__ = [
    "ASG_ALREADY_USED",
    "ASSOCIATED",
    "INVALID_NAME",
    "IN_USE",
    "NAME_EXISTS",
    "USED_BY_SERVICE",
    "ResourceInUseException",
    "create_capacity_provider",
    "delete_capacity_provider",
    "describe_capacity_providers",
    "put_cluster_capacity_providers",
]

# PutClusterCapacityProviders: error code ResourceInUseException
# (github.com/pahud/cdk-fargate-patterns/issues/71; "You can only disassociate an
# existing capacity provider from a cluster if it's not being used by any existing
# tasks", docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html)
IN_USE = "The specified capacity provider is in use and cannot be removed."
# CreateCapacityProvider, "Invalid request provided: CreateCapacityProvider error: ..."
# through CloudFormation (github.com/aws/aws-cdk/pull/36584; aws-samples/aws-cdk-examples#626).
# The error code is not quoted there; ECS's other CreateCapacityProvider validation
# errors are ClientException.
INVALID_NAME = (
    "The specified capacity provider name is invalid. Up to 255 characters are allowed, "
    "including letters (upper and lowercase), numbers, underscores, and hyphens. The name "
    'cannot be prefixed with "aws", "ecs", or "fargate". Specify a valid name and try again.'
)
# ClientException (aws/containers-roadmap#632, #688)
NAME_EXISTS = (
    "The specified capacity provider already exists. To change the configuration of an "
    "existing capacity provider, update the capacity provider."
)
ASG_ALREADY_USED = (
    "The specified Auto Scaling group ARN is already being used by another capacity provider. "
    "Specify a unique Auto Scaling group ARN and try again."
)
# DeleteCapacityProvider succeeds with updateStatus DELETE_FAILED and this reason
# (hashicorp/terraform-provider-aws#48156, ekristen/aws-nuke#542).
ASSOCIATED = (
    "The capacity provider cannot be deleted because it is associated with cluster: {cluster}. "
    "Remove the capacity provider from the cluster and try again."
)
# Not quoted anywhere found; ECS documents the rule ("Prior to a capacity provider
# being deleted, the capacity provider must be removed from the capacity provider
# strategy from all services", API_DeleteCapacityProvider).
USED_BY_SERVICE = (
    "The capacity provider cannot be deleted because it is used in the capacity provider "
    "strategy of service: {service}. Update the service and try again."
)
_VALID_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_RESERVED_PREFIXES = ("aws", "ecs", "fargate")


class ResourceInUseException(ECSException):
    def __init__(self, message: str) -> None:
        super().__init__("ResourceInUseException", message)


def _short_name(name_or_arn: Any) -> str:
    """A capacity provider's name from its name or ARN (``...:capacity-provider/NAME``)."""
    return str(name_or_arn).rsplit("capacity-provider/", 1)[-1]


def _service_using(backend: EC2ContainerServiceBackend, cluster: Cluster | None,
                   provider: str) -> str | None:
    """The name of an active service whose strategy names ``provider`` (on ``cluster``
    if given), or of the cluster's task that runs on it; None when nothing uses it."""
    for service in backend.services.values():
        if service.status != "ACTIVE":
            continue
        if cluster is not None and service.cluster_name != cluster.name:
            continue
        strategy = getattr(service, "capacity_provider_strategy", None) or []
        if any(_short_name(item.get("capacityProvider")) == provider for item in strategy):
            return str(service.name)
    clusters = [cluster.name] if cluster is not None else list(backend.tasks)
    for cluster_name in clusters:
        for task in backend.tasks.get(cluster_name, {}).values():
            if (getattr(task, "capacity_provider_name", None) == provider
                    and getattr(task, "last_status", "") != "STOPPED"):
                return str(task.task_arn)
    return None


def put_cluster_capacity_providers(
    self: EC2ContainerServiceBackend,
    cluster_name: str,
    capacity_providers: list[str] | None,
    default_capacity_provider_strategy: list[dict[str, Any]] | None,
) -> Cluster:
    """moto's PutClusterCapacityProviders, refusing to remove a provider in use."""
    from blueprint.local_aws.fixes import original

    cluster = self._get_cluster(cluster_name)
    if capacity_providers is not None:
        kept = {_short_name(p) for p in capacity_providers}
        for removed in {_short_name(p) for p in cluster.capacity_providers or []} - kept:
            if _service_using(self, cluster, removed) is not None:
                raise ResourceInUseException(IN_USE)
    put = original(EC2ContainerServiceBackend, "put_cluster_capacity_providers")
    result: Cluster = put(self, cluster_name, capacity_providers,
                          default_capacity_provider_strategy)
    return result


def delete_capacity_provider(self: EC2ContainerServiceBackend, name_or_arn: str
                             ) -> CapacityProvider:
    """moto's DeleteCapacityProvider; one still associated with an active cluster or
    used by a service stays ACTIVE with updateStatus DELETE_FAILED, as in ECS."""
    from blueprint.local_aws.fixes import original

    provider = self._get_provider(name_or_arn)
    if provider is None:
        raise EcsClientException("The specified capacity provider does not exist. "
                                 "Specify a valid name or ARN and try again.")
    associated = [c.name for c in self.clusters.values() if c.status == "ACTIVE" and
                  provider.name in {_short_name(p) for p in c.capacity_providers or []}]
    user = _service_using(self, None, provider.name)
    reason = (ASSOCIATED.format(cluster=associated[0]) if associated
              else None if user is None else USED_BY_SERVICE.format(service=user))
    if reason is not None:
        provider.update_status = "DELETE_FAILED"
        provider.update_status_reason = reason  # type: ignore[attr-defined]
        return provider
    deleted: CapacityProvider = original(EC2ContainerServiceBackend, "delete_capacity_provider")(
        self, name_or_arn)
    return deleted


def create_capacity_provider(
    self: EC2ContainerServiceBackend,
    name: str,
    asg_details: dict[str, Any],
    tags: list[dict[str, str]] | None,
) -> CapacityProvider:
    """moto's CreateCapacityProvider, with ECS's checks of the name (pattern, reserved
    prefixes in any case, uniqueness) and of the Auto Scaling group (one provider each)."""
    from blueprint.local_aws.fixes import original

    if not _VALID_NAME.match(name or "") or name.lower().startswith(_RESERVED_PREFIXES):
        raise EcsClientException(INVALID_NAME)
    if name in self.capacity_providers:
        raise EcsClientException(NAME_EXISTS)
    group = (asg_details or {}).get("autoScalingGroupArn")
    if group is not None and any(
        p.auto_scaling_group_provider.get("autoScalingGroupArn") == group
        for p in self.capacity_providers.values()
    ):
        raise EcsClientException(ASG_ALREADY_USED)
    created: CapacityProvider = original(EC2ContainerServiceBackend, "create_capacity_provider")(
        self, name, asg_details, tags)
    return created


def describe_capacity_providers(
    self: EC2ContainerServiceBackend, names: list[str] | None
) -> tuple[list[CapacityProvider], list[Any]]:
    """moto's DescribeCapacityProviders; without names it lists them all, as ECS does
    (moto fails with HTTP 500)."""
    from blueprint.local_aws.fixes import original

    describe = original(EC2ContainerServiceBackend, "describe_capacity_providers")
    if names is None:
        return list(self.capacity_providers.values()), []
    found: tuple[list[CapacityProvider], list[Any]] = describe(self, names)
    return found
