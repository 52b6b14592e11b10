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
from functools import partial
from typing import TYPE_CHECKING

from blueprint.aws.session import error_code, unless_error
from blueprint.errors import BlueprintError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudformation.literals import CapabilityType
    from mypy_boto3_cloudformation.type_defs import (
        ChangeSetSummaryTypeDef,
        DescribeChangeSetOutputTypeDef,
        StackEventTypeDef,
        StackResourceSummaryTypeDef,
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


def _resources(cfn: CloudFormationClient, stack_id: str) -> list[StackResourceSummaryTypeDef]:
    """Every resource of one stack, every page (none when the stack is gone)."""
    pages = unless_error(("ValidationError",), lambda: list(
        cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id)))
    return [r for page in pages or [] for r in page.get("StackResourceSummaries", [])]


def nested_stack_ids(cfn: CloudFormationClient, stack_id: str) -> list[tuple[str, str]]:
    """(logical id, stack ARN) of every nested stack below ``stack_id``, depth first."""
    found: list[tuple[str, str]] = []
    for resource in _resources(cfn, stack_id):
        if resource.get("ResourceType") == "AWS::CloudFormation::Stack" \
                and resource.get("PhysicalResourceId"):
            child = str(resource["PhysicalResourceId"])
            found.append((str(resource["LogicalResourceId"]), child))
            found += nested_stack_ids(cfn, child)
    return found


@dataclass(frozen=True)
class TreeResource:
    """One resource of a stack tree: the stack it is in, its logical and physical id."""

    stack_label: str  # "(parent)" or the nested stack's logical id
    logical_id: str
    physical_id: str


def resources_of_type(cfn: CloudFormationClient, stack_id: str,
                      resource_type: str) -> list[TreeResource]:
    """The resources of ``resource_type`` in the stack and its nested stacks that exist
    (a physical id is known)."""
    return [TreeResource(label, str(r.get("LogicalResourceId")), str(r["PhysicalResourceId"]))
            for label, arn in [("(parent)", stack_id), *nested_stack_ids(cfn, stack_id)]
            for r in _resources(cfn, arn)
            if r.get("ResourceType") == resource_type and r.get("PhysicalResourceId")]


@dataclass(frozen=True)
class StuckResource:
    """A resource a delete could not remove."""

    stack_label: str
    logical_id: str
    resource_type: str
    physical_id: str
    reason: str


def stuck_resources(cfn: CloudFormationClient, stack_id: str) -> list[StuckResource]:
    """The resources in DELETE_FAILED in the stack and its nested stacks."""
    stuck: list[StuckResource] = []
    for label, arn in [("(parent)", stack_id), *nested_stack_ids(cfn, stack_id)]:
        stuck += [StuckResource(label, str(r.get("LogicalResourceId")),
                                str(r.get("ResourceType")),
                                str(r.get("PhysicalResourceId") or ""),
                                str(r.get("ResourceStatusReason") or ""))
                  for r in _resources(cfn, arn) if r.get("ResourceStatus") == "DELETE_FAILED"]
    return stuck


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
    execution_status: str = ""  # AVAILABLE once CloudFormation can execute it

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
        poll = min(poll * 1.5, 5.0)  # large nested change sets take a while: ask less often


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
    physical_id: str = ""
    stack_id: str = ""

    @property
    def is_stack_itself(self) -> bool:
        """An event of the stack's own status, not of a resource in it."""
        return self.resource_type == _NESTED_STACK and bool(self.physical_id) \
            and self.physical_id == self.stack_id


_NESTED_STACK = "AWS::CloudFormation::Stack"


@dataclass(frozen=True)
class Watermark:
    """Where the events of the operation about to start begin, in the server's terms.

    ``event_id`` is the stack's newest event before the operation (None: the
    stack has none); ``timestamp`` its time on CloudFormation's clock. The local
    clock is never compared with the server's: skew would hide events.
    """

    event_id: str | None = None
    timestamp: datetime | None = None

    def is_before(self, event_id: str, timestamp: datetime) -> bool:
        """True for an event of an earlier operation."""
        if self.event_id is not None and event_id == self.event_id:
            return True
        return self.timestamp is not None and timestamp <= self.timestamp


class EventFollower:
    """New events of a stack and of every nested stack (by ARN, so they survive rollback).

    ``mark()`` before the operation sets the watermark; each ``poll()`` then reads
    each stack's events newest first, page by page, only down to the first event
    already seen or older than the watermark: usually one page. Nested stacks are
    found from their resource events (whose physical id is the nested stack's
    ARN), and by listing resources only when a stack's own status changed.
    """

    def __init__(self, cfn: CloudFormationClient, stack_id: str, *,
                 max_pages: int | None = None) -> None:
        self.cfn = cfn
        self.stack_id = stack_id
        # Without a watermark (``status``: the latest failure), how far back to read.
        self.max_pages = max_pages
        self.watermark = Watermark()
        self.seen: set[str] = set()
        self.stacks: dict[str, tuple[str, int]] = {stack_id: ("(parent)", 0)}
        self.listings = 0  # ListStackResources walks, to keep polling cheap

    def mark(self) -> Watermark:
        """Take the newest event now on the stack as the start of the operation."""
        page = unless_error(("ValidationError",),
                            lambda: self.cfn.describe_stack_events(StackName=self.stack_id))
        newest = page["StackEvents"][:1] if page is not None else []
        self.watermark = Watermark(str(newest[0].get("EventId")), newest[0]["Timestamp"]) \
            if newest else Watermark()
        return self.watermark

    def poll(self, *, discover: bool = True) -> list[StackEvent]:
        """New events, nested stacks that appeared in them followed too; ``discover``
        also lists the parent's resources when its own status changed."""
        fresh: list[StackEvent] = []
        pending = list(self.stacks.items())
        while pending:
            arn, (label, depth) = pending.pop(0)
            events, status_changed = self._events(arn, label, depth)
            fresh += events
            found = self._nested_in(events, depth)
            if discover and status_changed and arn == self.stack_id:
                found += self._listed()
            for child, child_label, child_depth in found:
                if child not in self.stacks:
                    self.stacks[child] = (child_label, child_depth)
                    pending.append((child, (child_label, child_depth)))
        fresh.sort(key=lambda e: e.timestamp)
        return fresh

    def discover(self) -> None:
        """Follow every nested stack there is now (one recursive listing)."""
        for arn, label, depth in self._listed():
            self.stacks.setdefault(arn, (label, depth))

    def _listed(self) -> list[tuple[str, str, int]]:
        self.listings += 1
        return [(arn, label, 1) for label, arn in nested_stack_ids(self.cfn, self.stack_id)]

    def _nested_in(self, events: list[StackEvent], depth: int) -> list[tuple[str, str, int]]:
        return [(e.physical_id, e.logical_id, depth + 1) for e in events
                if e.resource_type == _NESTED_STACK and e.physical_id.startswith("arn:")
                and e.physical_id not in self.stacks and not e.is_stack_itself]

    def _events(self, arn: str, label: str, depth: int) -> tuple[list[StackEvent], bool]:
        """This operation's unseen events of one stack; and whether its own status changed."""
        events: list[StackEvent] = []
        for item in self._newest_first(arn):
            event_id = str(item.get("EventId"))
            if event_id in self.seen or self.watermark.is_before(event_id, item["Timestamp"]):
                break  # newest first: everything below was seen or is older
            events.append(StackEvent(label, depth, item["Timestamp"],
                                     str(item.get("LogicalResourceId")),
                                     str(item.get("ResourceType")),
                                     str(item.get("ResourceStatus")),
                                     str(item.get("ResourceStatusReason") or ""), event_id,
                                     str(item.get("PhysicalResourceId") or ""),
                                     str(item.get("StackId") or arn)))
        self.seen.update(e.event_id for e in events)
        return events, any(e.is_stack_itself for e in events)

    def _newest_first(self, arn: str) -> Iterator[StackEventTypeDef]:
        token: str | None = None
        pages = 0
        while self.max_pages is None or pages < self.max_pages:
            pages += 1
            # A nested stack deleted during rollback has no events to read any more.
            page = unless_error(("ValidationError",), partial(
                self.cfn.describe_stack_events, StackName=arn, **(
                    {"NextToken": token} if token else {})))
            if page is None:
                return
            yield from page.get("StackEvents", [])
            token = page.get("NextToken")
            if not token:
                return


def root_cause(events: list[StackEvent]) -> StackEvent | None:
    """The first failed event in the deepest nested stack, skipping cascade noise."""
    failed = [e for e in events if e.status.endswith("FAILED")]
    if not failed:
        return None
    meaningful = [e for e in failed if not any(m in e.reason for m in _CASCADE_MARKERS)]
    candidates = meaningful or failed
    deepest = max(e.depth for e in candidates)
    return min((e for e in candidates if e.depth == deepest), key=lambda e: e.timestamp)


THROTTLED = ("Throttling", "ThrottlingException", "RequestLimitExceeded",
             "TooManyRequestsException")
_MAX_POLL = 30.0


def wait_for_stack(cfn: CloudFormationClient, stack_id: str, *,
                   on_events: Callable[[list[StackEvent]], None], follower: EventFollower,
                   timeout: float = 3600, poll: float = 2.0) -> str:
    """Follow events until the stack reaches a terminal status; return that status.

    Throttling that outlasts botocore's retries (many deploys in one account)
    slows the polling down instead of ending the follow while CloudFormation goes on.
    """
    import botocore.exceptions

    deadline = time.monotonic() + timeout
    interval = poll
    while True:
        try:
            status = _status_and_events(cfn, stack_id, on_events, follower)
            interval = poll
        except botocore.exceptions.ClientError as err:
            if error_code(err) not in THROTTLED:
                raise
            status, interval = "", min(_MAX_POLL, max(interval, 1.0) * 2)
        if status and is_terminal(status):
            return status
        if time.monotonic() > deadline:
            raise BlueprintError(f"stack still {status or 'in progress'} after {timeout:g} s",
                                 hint="follow it with `blueprint status`")
        time.sleep(interval)


def _status_and_events(cfn: CloudFormationClient, stack_id: str,
                       on_events: Callable[[list[StackEvent]], None],
                       follower: EventFollower) -> str:
    stack = describe_stack(cfn, stack_id)
    status = "DELETE_COMPLETE" if stack is None else str(stack["StackStatus"])
    # Nested stacks only appear while creating or updating; listing the resources
    # of a stack being deleted gains nothing (and makes some endpoints rebuild them).
    on_events(follower.poll(discover=not status.startswith("DELETE")))
    return status
