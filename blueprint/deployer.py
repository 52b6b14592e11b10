"""Deploying one blueprint: stack-state handling, change set, execute, follow, report.

The console is passed in; this module decides, the commands only wire
options. Every AWS call goes through ``blueprint.aws``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from blueprint import cfn_yaml
from blueprint.aws import stacks
from blueprint.aws.session import Aws, error_code, error_message
from blueprint.aws.stacks import CAPABILITIES, Change, ChangeSet, StackEvent, StackStateError
from blueprint.errors import DeployFailed
from blueprint.expander import CHILD_STACKS, Rendering

CHANGE_SET_PREFIX = "blueprint-"
# A blueprint change set younger than this may belong to a deploy still asking for
# confirmation; older ones were abandoned.
STALE_AFTER = timedelta(hours=1)


@dataclass
class Plan:
    stack_name: str
    change_type: str  # CREATE | UPDATE
    change_set: ChangeSet
    no_changes: bool


def parent_with_urls(rendering: Rendering, urls: dict[str, str]) -> str:
    parent = copy.deepcopy(rendering.templates["parent.yml"])
    for logical_id, template in CHILD_STACKS.items():
        parent["Resources"][logical_id]["Properties"]["TemplateURL"] = urls[template]
    return cfn_yaml.dump(parent)


def check_stack_state(aws: Aws, name: str, *, confirm_delete: Any, ui: Any,
                      read_only: bool = False) -> dict[str, Any] | None:
    """The existing stack to update, or None to create; clears states that block a deploy.

    ``read_only`` reports those states instead of clearing them.
    """
    cfn = aws.client("cloudformation")
    stack = stacks.describe_stack(cfn, name)
    if stack is None:
        return None
    status = str(stack["StackStatus"])
    kind = stacks.simplify(status)
    if kind == "in-progress":
        raise StackStateError(
            f"stack {name} is {status}: another operation is running, refusing to deploy "
            "concurrently", hint="wait for it to finish (`blueprint status`), then deploy again")
    if kind == "update-rollback-failed":
        raise StackStateError(
            f"stack {name} is UPDATE_ROLLBACK_FAILED and cannot be updated",
            hint=(f"fix the cause shown by `blueprint status`, then run `aws cloudformation "
                  f"continue-update-rollback --stack-name {name}` (add --resources-to-skip "
                  f"for resources that cannot roll back), wait for UPDATE_ROLLBACK_COMPLETE "
                  f"and deploy again"))
    if kind in ("rolled-back-create", "review"):
        reason = ("its first creation failed and was rolled back (ROLLBACK_COMPLETE); it must "
                  "be deleted before it can be created again" if kind == "rolled-back-create"
                  else "it was left in REVIEW_IN_PROGRESS by a change set that never ran")
        if read_only:
            if kind == "review":
                return None  # a CREATE change set can still be made and shown
            raise StackStateError(f"stack {name}: {reason}",
                                  hint="`blueprint deploy` offers to delete and recreate it")
        ui.print(f"Stack {name}: {reason}.")
        if not confirm_delete(f"Delete stack {name} and create it again?"):
            raise StackStateError(f"stack {name} left as it is ({status})")
        delete_stack(aws, str(stack["StackId"]), ui=ui)
        return None
    if not read_only:
        cleanup_stale_change_sets(aws, str(stack["StackId"]), ui=ui)
    return stack


def cleanup_stale_change_sets(aws: Aws, stack_id: str, *, ui: Any) -> None:
    cfn = aws.client("cloudformation")
    try:
        summaries = cfn.list_change_sets(StackName=stack_id).get("Summaries", [])
    except Exception as err:
        if error_code(err) == "ValidationError":
            return
        raise
    now = datetime.now(timezone.utc)
    for summary in summaries:
        name = str(summary.get("ChangeSetName", ""))
        # Only change sets still waiting to be executed; executed or obsolete ones are history.
        if not name.startswith(CHANGE_SET_PREFIX) \
                or summary.get("ExecutionStatus") not in ("AVAILABLE", "UNAVAILABLE"):
            continue
        created = summary.get("CreationTime")
        if isinstance(created, datetime) and now - created < STALE_AFTER:
            raise StackStateError(
                f"another blueprint deploy is reviewing change set {name} on this stack "
                f"(created {created:%H:%M:%S} UTC): refusing to deploy concurrently",
                hint="let it finish, or delete that change set if its deploy was abandoned")
        cfn.delete_change_set(ChangeSetName=summary["ChangeSetId"])
        ui.print(f"[dim]removed stale change set {name}[/dim]")


def create_change_set(aws: Aws, *, name: str, existing: dict[str, Any] | None,
                      parent_text: str, tags: list[dict[str, str]],
                      description: str) -> Plan:
    cfn = aws.client("cloudformation")
    change_type = "UPDATE" if existing else "CREATE"
    change_set_name = CHANGE_SET_PREFIX + datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S%f")
    created = cfn.create_change_set(
        StackName=name, ChangeSetName=change_set_name, ChangeSetType=change_type,
        TemplateBody=parent_text, Capabilities=CAPABILITIES, Tags=tags,
        IncludeNestedStacks=True, Description=description[:1024])
    arn = str(created["Id"])
    plan = Plan(name, change_type, ChangeSet(arn, str(created.get("StackId", "")), "", ""),
                no_changes=False)
    try:
        described = stacks.wait_for_change_set(cfn, arn)
        change_set = ChangeSet(arn, plan.change_set.stack_id or str(described.get("StackId")),
                               str(described.get("Status")),
                               str(described.get("StatusReason") or ""))
        plan.change_set = change_set
        if change_set.status == "FAILED" and not change_set.empty:
            raise DeployFailed(f"CloudFormation rejected the change set: {change_set.reason}")
        if not change_set.empty:
            change_set.changes = list(stacks.describe_changes(cfn, arn))
        plan.no_changes = change_set.empty or (
            existing is not None and not change_set.changes
            and _deployed_template(aws, name) == parent_text
            and _tags(existing) == _tags({"Tags": tags}))
    except BaseException:
        discard_change_set(aws, plan)  # nothing half-made stays behind, Ctrl-C included
        raise
    return plan


def _deployed_template(aws: Aws, name: str) -> str | None:
    try:
        body = aws.client("cloudformation").get_template(
            StackName=name, TemplateStage="Original")["TemplateBody"]
    except Exception as err:
        if error_code(err) == "ValidationError":
            return None
        raise
    return body if isinstance(body, str) else None


def _tags(stack: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((t["Key"], t["Value"]) for t in stack.get("Tags") or [])


def discard_change_set(aws: Aws, plan: Plan) -> None:
    cfn = aws.client("cloudformation")
    try:
        cfn.delete_change_set(ChangeSetName=plan.change_set.arn)
    except Exception as err:  # already gone is fine; anything else the user must know
        if error_code(err) not in ("ChangeSetNotFound", "ValidationError"):
            raise
    if plan.change_type == "CREATE":
        # A CREATE change set leaves an empty REVIEW_IN_PROGRESS stack behind.
        stack = stacks.describe_stack(cfn, plan.stack_name)
        if stack is not None and stack["StackStatus"] == "REVIEW_IN_PROGRESS":
            cfn.delete_stack(StackName=stack["StackId"])


def execute(aws: Aws, plan: Plan, *, ui: Any, timeout: float = 3600,
            poll: float = 2.0) -> tuple[str, list[StackEvent]]:
    import botocore.exceptions

    cfn = aws.client("cloudformation")
    stack_id = plan.change_set.stack_id or plan.stack_name
    follower = _new_events_of(cfn, stack_id)
    try:
        cfn.execute_change_set(ChangeSetName=plan.change_set.arn)
    except botocore.exceptions.ClientError as err:
        # Some endpoints (the local one among them) fail a resource synchronously,
        # inside ExecuteChangeSet, instead of reporting a FAILED event.
        try:
            cause = stacks.root_cause(follower.poll())
        except botocore.exceptions.ClientError:
            cause = None  # the stack may be unreadable after such a failure
        detail = f"{error_code(err)}: {error_message(err)}"
        if cause is not None:
            detail = f"{cause.logical_id} ({cause.resource_type}): {cause.reason or detail}"
        raise DeployFailed(f"CloudFormation could not execute the change set. "
                           f"Root cause: {detail}") from err
    return _follow(cfn, stack_id, follower, ui=ui, timeout=timeout, poll=poll)


def delete_stack(aws: Aws, stack_id: str, *, ui: Any, timeout: float = 3600,
                 poll: float = 2.0) -> str:
    cfn = aws.client("cloudformation")
    follower = _new_events_of(cfn, stack_id)
    follower.discover()  # nested stacks are found before they start to go
    cfn.delete_stack(StackName=stack_id)
    status, events = _follow(cfn, stack_id, follower, ui=ui, timeout=timeout, poll=poll)
    if status != "DELETE_COMPLETE":
        cause = stacks.root_cause(events)
        detail = f": {cause.logical_id} {cause.reason}" if cause else ""
        raise DeployFailed(f"delete of {stack_id} ended {status}{detail}")
    return status


def _new_events_of(cfn: Any, stack_id: str) -> stacks.EventFollower:
    """A follower of events from now on (with a few seconds' slack for clock skew)."""
    now = datetime.now(timezone.utc)
    return stacks.EventFollower(cfn, stack_id,
                                since=datetime.fromtimestamp(now.timestamp() - 5, tz=timezone.utc))


def _follow(cfn: Any, stack_id: str, follower: stacks.EventFollower, *, ui: Any,
            timeout: float, poll: float) -> tuple[str, list[StackEvent]]:
    """Show events until a terminal status; that status and every event shown."""
    seen: list[StackEvent] = []

    def show(events: list[StackEvent]) -> None:
        seen.extend(events)
        for event in events:
            ui.event(event)

    status = stacks.wait_for_stack(cfn, stack_id, on_events=show, follower=follower,
                                   timeout=timeout, poll=poll)
    return status, seen


def failure_message(status: str, events: list[StackEvent]) -> str:
    cause = stacks.root_cause(events)
    if cause is None:
        return f"deployment ended {status}; no failed resource event was reported"
    where = cause.stack_label if cause.depth else "parent stack"
    return (f"deployment ended {status}. Root cause, in {where}: {cause.logical_id} "
            f"({cause.resource_type}) {cause.status}: {cause.reason}")


def changes_rows(changes: list[Change]) -> list[tuple[str, str, str, str, str]]:
    return [(c.stack, c.action, c.logical_id, c.resource_type, c.replacement) for c in changes]

