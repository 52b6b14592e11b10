"""CloudFormation operations for one parent stack and its nested stacks.

Status simplification, change sets (with nested stacks' own changes),
following events of the parent and every nested stack by ARN, and finding
the root cause of a failure. Every wait is bounded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from blueprint.aws.session import error_code, error_message
from blueprint.errors import BlueprintError

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES_REASONS = ("didn't contain changes", "No updates are to be performed",
                      "no changes")
_CASCADE_MARKERS = ("Embedded stack", "Resource creation cancelled", "Resource update cancelled",
                    "The following resource(s) failed", "Resource creation Initiated")


class StackStateError(BlueprintError):
    """The stack is in a state that forbids the operation; the message says what to do."""

    exit_code = 1


def simplify(status: str | None) -> str:
    """CloudFormation's ~25 stack statuses as what a user must know about them."""
    if status is None:
        return "absent"
    if status == "REVIEW_IN_PROGRESS":
        return "review"
    if status.endswith("_IN_PROGRESS"):
        return "in-progress"
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
        return "rolled-back-create"
    if status == "UPDATE_ROLLBACK_FAILED":
        return "update-rollback-failed"
    if status.endswith("_FAILED") or status.startswith(("ROLLBACK", "UPDATE_ROLLBACK")):
        return "failed"
    if status == "DELETE_COMPLETE":
        return "absent"
    return "complete"


def is_terminal(status: str) -> bool:
    return not status.endswith("_IN_PROGRESS")


def is_success(status: str, action: str) -> bool:
    return status in {"create": ("CREATE_COMPLETE",), "update": ("UPDATE_COMPLETE",),
                      "delete": ("DELETE_COMPLETE",)}[action]


def describe_stack(cfn: Any, name: str) -> dict[str, Any] | None:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except Exception as err:
        if error_code(err) == "ValidationError" and "does not exist" in error_message(err):
            return None
        raise
    if not stacks or stacks[0].get("StackStatus") == "DELETE_COMPLETE":
        return None
    stack: dict[str, Any] = stacks[0]
    return stack


def nested_stack_ids(cfn: Any, stack_id: str) -> list[tuple[str, str]]:
    """(logical id, stack ARN) of every nested stack below ``stack_id``, depth first."""
    found: list[tuple[str, str]] = []
    try:
        pages = cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id)
        resources = [r for page in pages for r in page.get("StackResourceSummaries", [])]
    except Exception as err:
        if error_code(err) == "ValidationError":
            return found
        raise
    for resource in resources:
        if resource.get("ResourceType") == "AWS::CloudFormation::Stack" \
                and resource.get("PhysicalResourceId"):
            child = str(resource["PhysicalResourceId"])
            found.append((str(resource["LogicalResourceId"]), child))
            found += nested_stack_ids(cfn, child)
    return found


def outputs_of(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: str(o.get("OutputValue", "")) for o in stack.get("Outputs") or []}


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


def wait_for_change_set(cfn: Any, arn: str, *, timeout: float = 600,
                        poll: float = 1.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = cfn.describe_change_set(ChangeSetName=arn)
        if described.get("Status") in ("CREATE_COMPLETE", "FAILED"):
            return described
        if str(described.get("Status", "")).startswith("DELETE"):
            raise BlueprintError(f"change set {arn} was deleted while blueprint waited for it",
                                 hint="another process removed it; run the command again")
        if time.monotonic() > deadline:
            raise BlueprintError(f"change set {arn} not ready after {timeout:g} s")
        time.sleep(poll)


def describe_changes(cfn: Any, arn: str, stack_label: str = "(parent)",
                     depth: int = 0) -> Iterator[Change]:
    """Every resource change, following nested stacks' own change sets."""
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"ChangeSetName": arn}
        if token:
            kwargs["NextToken"] = token
        page = cfn.describe_change_set(**kwargs)
        for entry in page.get("Changes", []):
            change = entry.get("ResourceChange") or {}
            yield Change(stack_label, str(change.get("Action", "")),
                         str(change.get("LogicalResourceId", "")),
                         str(change.get("ResourceType", "")),
                         str(change.get("Replacement") or "-"))
            nested = change.get("ChangeSetId")
            if nested and depth < 5 and change.get("ResourceType") == \
                    "AWS::CloudFormation::Stack":
                yield from describe_changes(cfn, nested, str(change.get("LogicalResourceId")),
                                            depth + 1)
        token = page.get("NextToken")
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

    def __init__(self, cfn: Any, stack_id: str, since: datetime | None = None) -> None:
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
        try:
            raw = self.cfn.describe_stack_events(StackName=arn).get("StackEvents", [])
        except Exception as err:
            if error_code(err) == "ValidationError":
                return []  # a nested stack deleted during rollback
            raise
        events = []
        for item in raw:
            event_id = str(item.get("EventId"))
            if event_id in self.seen:
                continue
            timestamp = item.get("Timestamp")
            if self.since is not None and isinstance(timestamp, datetime) \
                    and timestamp < self.since:
                self.seen.add(event_id)
                continue
            self.seen.add(event_id)
            events.append(StackEvent(label, depth, timestamp, str(item.get("LogicalResourceId")),
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


def wait_for_stack(cfn: Any, stack_id: str, *, on_events: Callable[[list[StackEvent]], None],
                   follower: EventFollower, timeout: float = 3600,
                   poll: float = 2.0) -> str:
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
