"""CloudFormation operations for one parent stack and its nested stacks.

Status simplification, change sets (with nested stacks' own changes),
following events of the parent and every nested stack by ARN, and finding
the root cause of a failure. Every wait is bounded.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from blueprint.aws.session import unless_error
from blueprint.errors import BlueprintError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudformation.literals import CapabilityType
    from mypy_boto3_cloudformation.type_defs import (
        ChangeSetSummaryTypeDef,
        DescribeChangeSetOutputTypeDef,
        StackTypeDef,
    )

CAPABILITIES: list[CapabilityType] = [
    "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES_REASONS = ("didn't contain changes", "No updates are to be performed",
                      "no changes")
_CASCADE_MARKERS = ("Embedded stack", "Resource creation cancelled", "Resource update cancelled",
                    "The following resource(s) failed", "Resource creation Initiated")


class StackStateError(BlueprintError):
    """The stack is in a state that forbids the operation; the message says what to do."""

    exit_code = 1


class StackState(enum.Enum):
    """What a user (and a deploy) must know about a stack's status."""

    ABSENT = "absent"
    REVIEW = "review"  # made by a CREATE change set that has not run
    IN_PROGRESS = "in-progress"  # another operation is running
    COMPLETE = "complete"
    FAILED = "failed"  # the last operation failed; the stack is stable and can be updated
    ROLLED_BACK_CREATE = "rolled-back-create"  # its creation failed: delete, then create
    ROLLBACK_FAILED = "rollback-failed"  # stuck until its rollback is completed by hand
    DELETE_FAILED = "delete-failed"  # only another delete can move it

    @property
    def is_failure(self) -> bool:
        return self in _FAILURES


_FAILURES = frozenset({StackState.FAILED, StackState.ROLLED_BACK_CREATE,
                       StackState.ROLLBACK_FAILED, StackState.DELETE_FAILED})

# Every status CloudFormation documents, each mapped on purpose: a status it adds
# later is an error until it is added here, never silently "complete".
STATUS_STATES: dict[str, StackState] = {
    "CREATE_IN_PROGRESS": StackState.IN_PROGRESS,
    "CREATE_FAILED": StackState.FAILED,  # rollback disabled: can be updated
    "CREATE_COMPLETE": StackState.COMPLETE,
    "ROLLBACK_IN_PROGRESS": StackState.IN_PROGRESS,
    "ROLLBACK_FAILED": StackState.ROLLED_BACK_CREATE,
    "ROLLBACK_COMPLETE": StackState.ROLLED_BACK_CREATE,
    "DELETE_IN_PROGRESS": StackState.IN_PROGRESS,
    "DELETE_FAILED": StackState.DELETE_FAILED,
    "DELETE_COMPLETE": StackState.ABSENT,
    "UPDATE_IN_PROGRESS": StackState.IN_PROGRESS,
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": StackState.IN_PROGRESS,
    "UPDATE_COMPLETE": StackState.COMPLETE,
    "UPDATE_FAILED": StackState.FAILED,  # rollback disabled: can be updated
    "UPDATE_ROLLBACK_IN_PROGRESS": StackState.IN_PROGRESS,
    "UPDATE_ROLLBACK_FAILED": StackState.ROLLBACK_FAILED,
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": StackState.IN_PROGRESS,
    "UPDATE_ROLLBACK_COMPLETE": StackState.FAILED,
    "REVIEW_IN_PROGRESS": StackState.REVIEW,
    "IMPORT_IN_PROGRESS": StackState.IN_PROGRESS,
    "IMPORT_COMPLETE": StackState.COMPLETE,
    "IMPORT_ROLLBACK_IN_PROGRESS": StackState.IN_PROGRESS,
    "IMPORT_ROLLBACK_FAILED": StackState.ROLLBACK_FAILED,
    "IMPORT_ROLLBACK_COMPLETE": StackState.FAILED,
}


class UnknownStackStatus(BlueprintError):
    """CloudFormation answered a status this version of blueprint does not know."""


def simplify(status: str | None) -> StackState:
    """A CloudFormation stack status (None: no stack) as what a user must know about it."""
    if status is None:
        return StackState.ABSENT
    try:
        return STATUS_STATES[status]
    except KeyError:
        raise UnknownStackStatus(
            f"stack status {status} is unknown to this version of blueprint: refusing to "
            "guess what it allows", hint="upgrade blueprint, or look at the stack in the "
            "CloudFormation console") from None


def is_terminal(status: str) -> bool:
    return not status.endswith("_IN_PROGRESS")


def is_success(status: str, action: str) -> bool:
    return status in {"create": ("CREATE_COMPLETE",), "update": ("UPDATE_COMPLETE",),
                      "delete": ("DELETE_COMPLETE",)}[action]


def describe_stack(cfn: CloudFormationClient, name: str) -> StackTypeDef | None:
    found = unless_error(("ValidationError",), lambda: cfn.describe_stacks(StackName=name),
                         message_contains="does not exist")
    if found is None or not found["Stacks"] \
            or found["Stacks"][0].get("StackStatus") == "DELETE_COMPLETE":
        return None
    return found["Stacks"][0]


def change_sets_of(cfn: CloudFormationClient, stack_id: str) -> list[ChangeSetSummaryTypeDef]:
    """Every change set of the stack (by id: some endpoints list other stacks' too)."""
    pages = unless_error(("ValidationError",), lambda: list(
        cfn.get_paginator("list_change_sets").paginate(StackName=stack_id)))
    return [summary for page in pages or [] for summary in page.get("Summaries", [])
            if summary.get("StackId", stack_id) == stack_id]


def nested_stack_ids(cfn: CloudFormationClient, stack_id: str) -> list[tuple[str, str]]:
    """(logical id, stack ARN) of every nested stack below ``stack_id``, depth first."""
    found: list[tuple[str, str]] = []
    pages = unless_error(("ValidationError",), lambda: list(
        cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id)))
    resources = [r for page in pages or [] for r in page.get("StackResourceSummaries", [])]
    for resource in resources:
        if resource.get("ResourceType") == "AWS::CloudFormation::Stack" \
                and resource.get("PhysicalResourceId"):
            child = str(resource["PhysicalResourceId"])
            found.append((str(resource["LogicalResourceId"]), child))
            found += nested_stack_ids(cfn, child)
    return found


def outputs_of(stack: StackTypeDef | None) -> dict[str, str]:
    outputs = stack.get("Outputs", []) if stack is not None else []
    return {str(o.get("OutputKey")): str(o.get("OutputValue", "")) for o in outputs}


# ------------------------------------------------------------------ change sets


@dataclass(frozen=True)
class Change:
    stack: str  # logical id path, e.g. "(parent)" or "ServiceStack"
    action: str
    logical_id: str
    resource_type: str
    replacement: str


@dataclass
class ChangeSet:
    arn: str
    stack_id: str
    status: str
    reason: str
    changes: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.status == "FAILED" and any(
            marker.lower() in self.reason.lower() for marker in NO_CHANGES_REASONS)


def wait_for_change_set(cfn: CloudFormationClient, arn: str, *, timeout: float = 600,
                        poll: float = 1.0) -> DescribeChangeSetOutputTypeDef:
    deadline = time.monotonic() + timeout
    while True:
        described = cfn.describe_change_set(ChangeSetName=arn)
        if described.get("Status") in ("CREATE_COMPLETE", "FAILED"):
            return described
        if str(described.get("Status", "")).startswith("DELETE"):
            raise BlueprintError(f"change set {arn} was deleted while blueprint waited for it",
                                 hint="another process removed it; run the command again")
        if time.monotonic() > deadline:
            raise BlueprintError(f"change set {arn} not ready after {timeout:g} s")
        time.sleep(poll)


def describe_changes(cfn: CloudFormationClient, arn: str, stack_label: str = "(parent)",
                     depth: int = 0) -> Iterator[Change]:
    """Every resource change, following nested stacks' own change sets."""
    token = ""
    while True:
        page = (cfn.describe_change_set(ChangeSetName=arn, NextToken=token) if token
                else cfn.describe_change_set(ChangeSetName=arn))
        for entry in page.get("Changes", []):
            change = entry.get("ResourceChange", {})
            yield Change(stack_label, str(change.get("Action", "")),
                         str(change.get("LogicalResourceId", "")),
                         str(change.get("ResourceType", "")),
                         str(change.get("Replacement") or "-"))
            nested = change.get("ChangeSetId")
            if nested and depth < 5 and change.get("ResourceType") == \
                    "AWS::CloudFormation::Stack":
                yield from describe_changes(cfn, nested, str(change.get("LogicalResourceId")),
                                            depth + 1)
        token = page.get("NextToken", "")
        if not token:
            return


# ----------------------------------------------------------------------- events


@dataclass(frozen=True)
class StackEvent:
    stack_label: str
    depth: int
    timestamp: datetime
    logical_id: str
    resource_type: str
    status: str
    reason: str
    event_id: str


class EventFollower:
    """New events of a stack and of every nested stack (by ARN, so they survive rollback)."""

    def __init__(self, cfn: CloudFormationClient, stack_id: str,
                 since: datetime | None = None) -> None:
        self.cfn = cfn
        self.stack_id = stack_id
        self.since = since
        self.seen: set[str] = set()
        self.stacks: dict[str, tuple[str, int]] = {stack_id: ("(parent)", 0)}

    def poll(self, *, discover: bool = True) -> list[StackEvent]:
        """New events; ``discover`` also looks for nested stacks created since the last poll."""
        if discover:
            self.discover()
        fresh: list[StackEvent] = []
        for arn, (label, depth) in list(self.stacks.items()):
            fresh += self._events(arn, label, depth)
        fresh.sort(key=lambda e: e.timestamp)
        return fresh

    def discover(self) -> None:
        for label, arn in nested_stack_ids(self.cfn, self.stack_id):
            self.stacks.setdefault(arn, (label, 1))

    def _events(self, arn: str, label: str, depth: int) -> list[StackEvent]:
        # A nested stack deleted during rollback has no events to read any more.
        found = unless_error(("ValidationError",),
                             lambda: self.cfn.describe_stack_events(StackName=arn))
        events = []
        for item in found.get("StackEvents", []) if found is not None else []:
            event_id = str(item.get("EventId"))
            if event_id in self.seen:
                continue
            self.seen.add(event_id)
            timestamp = item["Timestamp"]
            if self.since is not None and timestamp < self.since:
                continue
            events.append(StackEvent(label, depth, timestamp,
                                     str(item.get("LogicalResourceId")),
                                     str(item.get("ResourceType")),
                                     str(item.get("ResourceStatus")),
                                     str(item.get("ResourceStatusReason") or ""), event_id))
        return events


def root_cause(events: list[StackEvent]) -> StackEvent | None:
    """The first failed event in the deepest nested stack, skipping cascade noise."""
    failed = [e for e in events if e.status.endswith("FAILED")]
    if not failed:
        return None
    meaningful = [e for e in failed if not any(m in e.reason for m in _CASCADE_MARKERS)]
    candidates = meaningful or failed
    deepest = max(e.depth for e in candidates)
    return min((e for e in candidates if e.depth == deepest), key=lambda e: e.timestamp)


def wait_for_stack(cfn: CloudFormationClient, stack_id: str, *,
                   on_events: Callable[[list[StackEvent]], None], follower: EventFollower,
                   timeout: float = 3600, poll: float = 2.0) -> str:
    """Follow events until the stack reaches a terminal status; return that status."""
    deadline = time.monotonic() + timeout
    while True:
        stack = describe_stack(cfn, stack_id)
        status = "DELETE_COMPLETE" if stack is None else str(stack["StackStatus"])
        # Nested stacks only appear while creating or updating; listing the resources
        # of a stack being deleted gains nothing (and makes some endpoints rebuild them).
        on_events(follower.poll(discover=not status.startswith("DELETE")))
        if is_terminal(status):
            return status
        if time.monotonic() > deadline:
            raise BlueprintError(f"stack still {status} after {timeout:g} s",
                                 hint="follow it with `blueprint status`")
        time.sleep(poll)
