"""What a diff says: per stack and resource, added / modified / removed / replaced, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Action(str, Enum):
    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"
    REPLACED = "replaced"


# Replacing one of these loses state or interrupts traffic: shown loudly, and what
# `--fail-on-replace` fails on. A task definition's replacement is a routine new revision.
LOUD_TYPES = frozenset({
    "AWS::ECS::Cluster",
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::ECS::CapacityProvider",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::ECS::Service",
})

PARENT = "parent"


@dataclass(frozen=True)
class ResourceChange:
    """One resource's change.

    ``forced_by``: the properties (``/``-separated paths) whose change forces a
    replacement; ``changed``: every top-level property or attribute that changes;
    ``reasons``: one sentence each, for people; ``will_fail``: the replacement keeps
    an explicit name, which CloudFormation refuses; ``rolls_instances``: an update
    policy replaces the group's instances in place (minutes to hours);
    ``may_replace``: a conditionally create-only property changes; ``fields``: the
    blueprint fields whose edit changes it directly (none when it changes only because a
    resource it refers to does).
    """

    stack: str
    logical_id: str
    resource_type: str
    action: Action
    changed: tuple[str, ...] = ()
    forced_by: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    will_fail: bool = False
    rolls_instances: bool = False
    may_replace: bool = False
    fields: tuple[str, ...] = ()

    @property
    def loud(self) -> bool:
        """A replacement of a stateful or disruptive resource."""
        return self.action is Action.REPLACED and self.resource_type in LOUD_TYPES


@dataclass(frozen=True)
class DeployTimeValue:
    """A property whose value CloudFormation looks up when it deploys (an SSM parameter, a
    dynamic reference): it can change with no edit to the blueprint."""

    stack: str
    logical_id: str
    path: str
    source: str


@dataclass(frozen=True)
class StackDiff:
    """Every change, stacks in deploy order (parent first), resources in template order."""

    stacks: tuple[str, ...]
    changes: tuple[ResourceChange, ...]
    warnings: tuple[str, ...] = ()
    deploy_time: tuple[DeployTimeValue, ...] = field(default=())

    def of_stack(self, stack: str) -> list[ResourceChange]:
        return [c for c in self.changes if c.stack == stack]

    def find(self, stack: str, logical_id: str) -> ResourceChange | None:
        return next((c for c in self.changes
                     if c.stack == stack and c.logical_id == logical_id), None)

    @property
    def replacements(self) -> list[ResourceChange]:
        return [c for c in self.changes if c.action is Action.REPLACED]

    @property
    def blocking(self) -> list[ResourceChange]:
        """What ``--fail-on-replace`` fails on: loud replacements and replacements that
        cannot succeed."""
        return [c for c in self.changes if c.loud or c.will_fail]

    def counts(self) -> dict[str, int]:
        return {action.value: sum(1 for c in self.changes if c.action is action)
                for action in Action}
