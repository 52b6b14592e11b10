"""The side of a deploy that acts: what ``deploy`` and ``plan`` share, step by step.

``prepare`` asks ``deployer.decide`` what the stack's state calls for, carries
that decision out, uploads the templates that were checked and leaves a
described change set; ``execute``, ``discard_change_set`` and ``delete_stack``
finish the job. Every AWS call goes through ``blueprint.aws``; the commands
only wire options and the console in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from blueprint.api import CheckedBlueprint
from blueprint.aws import artifacts, stacks
from blueprint.aws.session import Aws, error_code, error_message, partition_of, unless_error
from blueprint.aws.stacks import CAPABILITIES, ChangeSet, StackEvent, StackStateError
from blueprint.deployer import (
    CHANGE_SET_PREFIX,
    Action,
    Declined,
    PendingChangeSet,
    PinMismatch,
    Plan,
    StackDecision,
    TargetMismatch,
    certificate_problem,
    changes_rows,
    decide,
    loud_replacements,
    parent_with_urls,
    pin_problems,
    replacement_lines,
    zone_count_problem,
)
from blueprint.errors import BlueprintError, DeployFailed
from blueprint.expander import Rendering, stack_tags
from blueprint.model import Blueprint

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudformation.type_defs import StackTypeDef, TagTypeDef

    from blueprint.environments import Environment


class Ui(Protocol):
    """How progress is shown; the commands pass the console in."""

    def print(self, message: str) -> None: ...

    def event(self, event: StackEvent) -> None: ...

    def changes(self, rows: list[tuple[str, str, str, str, str]], title: str) -> None: ...


class GateRefused(BlueprintError):
    """The blueprint did not pass its checks, or is no longer the file that did."""

    exit_code = 1


def ensure_unchanged(checked: CheckedBlueprint) -> None:
    """Refuse when the file on disk is no longer the one that was checked.

    What is uploaded is the checked rendering either way; this keeps a user who
    saved an edit meanwhile from believing the edit was deployed.
    """
    try:
        now = Path(checked.path).read_bytes()
    except OSError as err:
        raise GateRefused(f"{checked.path} can no longer be read ({err.strerror or err}): "
                          "nothing was deployed") from err
    if now != checked.raw:
        raise GateRefused(f"{checked.path} changed after it was validated: nothing was deployed",
                          hint="run the command again once the file is saved")


def prepare(aws: Aws, checked: CheckedBlueprint, ui: Ui, *, bucket: str | None,
            confirm_delete: Callable[[str], bool], read_only: bool = False) -> Plan:
    """Everything up to a described change set: the stack's state, uploads, change set.

    ``read_only`` (for ``plan``) deletes no stack and no change set it did not make.
    """
    blueprint, rendering = _checked_parts(checked)
    environment = checked.environment
    choice = aws.region_choice
    ui.print(f"[yellow]{choice.describe()}[/yellow]" if choice.is_default
             else f"[dim]{choice.describe()}[/dim]")
    check_pins(aws, environment)  # before anything else is read, uploaded or changed
    name = environment.stack_name if environment is not None else blueprint.name
    cfn = aws.cloudformation()
    found = stacks.describe_stack(cfn, name)
    summaries = stacks.change_sets_of(cfn, str(found.get("StackId", ""))) if found else []
    decision = decide(found, summaries, datetime.now(timezone.utc), read_only=read_only)
    ensure_unchanged(checked)  # before the first change anywhere...
    check_target(aws, blueprint, ui)
    settle_stack(aws, decision, ui=ui, confirm_delete=confirm_delete)
    ensure_unchanged(checked)  # ...and again after a confirmation and a delete took their time
    owner, caller = aws.caller()
    parent_text = _upload(aws, rendering, ui, bucket=bucket, owner=owner)
    which = f" (environment {environment.name})" if environment is not None else ""
    plan = create_change_set(aws, name=name, decision=decision,
                             parent_text=parent_text, tags=stack_tags(blueprint),
                             description=f"blueprint deploy of {blueprint.name}{which} "
                                         f"by {caller}")
    if not plan.no_changes:
        _show_changes(plan, ui)
    return plan


def check_pins(aws: Aws, environment: Environment | None) -> None:
    """Refuse when the credentials' account (STS) or the region is not the environment's
    pin, naming both; a blueprint without environments has no pins."""
    if environment is None:
        return
    account, caller = aws.caller()
    problems = pin_problems(environment, account=account, region=aws.region, caller=caller)
    if problems:
        raise PinMismatch("; ".join(problems) + ": refused, nothing was changed",
                          hint=f"use credentials of account {environment.account} "
                               f"(e.g. --profile) for environment {environment.name}")


def check_target(aws: Aws, blueprint: Blueprint, ui: Ui) -> None:
    """Refuse, before anything is uploaded or deleted, what cannot work in this region:
    a certificate of another region, more availability zones than the account has."""
    region = aws.region
    problems = [certificate_problem(blueprint.load_balancer.certificate_arn, region,
                                    partition_of(region)[0])]
    zones = _available_zones(aws, ui)
    if zones is not None:
        problems.append(zone_count_problem(blueprint.network.availability_zones, zones, region))
    found = [p for p in problems if p]
    if found:
        raise TargetMismatch("; ".join(found) + ": nothing was uploaded or changed")


def _available_zones(aws: Aws, ui: Ui) -> list[str] | None:
    """The zones ``Fn::GetAZs`` can choose from (available, no opt-in); None if unknown."""
    import botocore.exceptions

    try:
        answer = aws.ec2().describe_availability_zones(Filters=[
            {"Name": "state", "Values": ["available"]},
            {"Name": "opt-in-status", "Values": ["opt-in-not-required"]},
            {"Name": "zone-type", "Values": ["availability-zone"]}])
    except botocore.exceptions.ClientError as err:
        # A deploy role may lack ec2:DescribeAvailabilityZones: CloudFormation still
        # checks, only later; say so rather than stop.
        ui.print(f"[yellow]could not count the availability zones of {aws.region} "
                 f"({error_code(err)}); not checked before upload[/yellow]")
        return None
    return [str(z["ZoneName"]) for z in answer.get("AvailabilityZones", [])
            if z.get("ZoneType", "availability-zone") == "availability-zone"]


def _checked_parts(checked: CheckedBlueprint) -> tuple[Blueprint, Rendering]:
    if checked.blueprint is None or checked.rendering is None:
        # The gate refuses such a result; fail closed should anything get here anyway.
        raise GateRefused(f"{checked.path} was not checked as a blueprint: nothing was deployed")
    return checked.blueprint, checked.rendering


def settle_stack(aws: Aws, decision: StackDecision, *, ui: Ui,
                 confirm_delete: Callable[[str], bool]) -> None:
    """Carry out what the decision asks before a change set is made."""
    if decision.action is Action.REFUSE:
        reason = decision.reason
        if decision.stack is not None and \
                str(decision.stack.get("StackStatus")) == "DELETE_FAILED":
            reason += stuck_summary(aws, str(decision.stack.get("StackId")))
        raise StackStateError(reason, hint=decision.hint)
    if decision.action is Action.RECREATE and decision.stack is not None:
        name = str(decision.stack.get("StackName"))
        ui.print(f"{decision.reason}.")
        if not confirm_delete(f"Delete stack {name} and create it again?"):
            raise Declined(f"stack {name} left as it is ({decision.stack['StackStatus']})")
        delete_stack(aws, str(decision.stack.get("StackId")), ui=ui)
    if decision.stale:
        remove_change_sets(aws, decision.stale, ui=ui)


def remove_change_sets(aws: Aws, change_sets: tuple[PendingChangeSet, ...], *, ui: Ui) -> None:
    """Remove abandoned change sets (one already gone is fine)."""
    cfn = aws.cloudformation()
    now = datetime.now(timezone.utc)
    for change_set in change_sets:
        unless_error(("ChangeSetNotFound", "ChangeSetNotFoundException"),
                     partial(cfn.delete_change_set, ChangeSetName=change_set.arn))
        ui.print(f"[dim]removed stale {change_set.describe(now)}[/dim]")


def _upload(aws: Aws, rendering: Rendering, ui: Ui, *, bucket: str | None, owner: str) -> str:
    """Upload the checked children; the checked parent pointing at them."""
    bucket = bucket or artifacts.default_bucket_name(owner, aws.region)
    created = artifacts.ensure_bucket(aws, bucket, owner)
    if created:
        ui.print(f"created artifact bucket {bucket} (encrypted, private, versioned); "
                 "waiting until S3 serves the uploads (versioning can take minutes to "
                 "propagate on a new bucket)")
    children = {name: text for name, text in rendering.texts.items() if name != "parent.yml"}
    urls = artifacts.upload_templates(aws, bucket, owner, children, fresh_bucket=created)
    ui.print(f"uploaded {len(urls)} nested templates to s3://{bucket}/")
    return parent_with_urls(rendering, urls)


def _show_changes(plan: Plan, ui: Ui) -> None:
    title = f"{plan.change_type} {plan.stack_name}: change set {plan.change_set.arn}"
    rows = changes_rows(plan.change_set.changes)
    if rows:
        ui.changes(rows, title)
    else:
        ui.print(f"{title}\n(CloudFormation listed no resource-level changes, but the "
                 "templates or parameters differ from the deployed stack)")
    replaced = loud_replacements(plan.change_set.changes)
    if replaced:
        lines = "\n".join(f"  {line}" for line in replacement_lines(replaced))
        ui.print(f"[bold red]REPLACEMENT of {len(replaced)} stateful or disruptive "
                 f"resource(s): the old one is deleted, its state and traffic with it[/bold red]"
                 f"\n{lines}\n[bold red]`blueprint deploy` asks before executing this "
                 f"(--yes does not cover it; --allow-replace does)[/bold red]")


def create_change_set(aws: Aws, *, name: str, decision: StackDecision, parent_text: str,
                      tags: list[dict[str, str]], description: str) -> Plan:
    cfn = aws.cloudformation()
    stack_tags: list[TagTypeDef] = [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
    existing = decision.stack if decision.action is Action.UPDATE else None
    change_set_name = CHANGE_SET_PREFIX + datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S%f")
    created = cfn.create_change_set(
        StackName=name, ChangeSetName=change_set_name, ChangeSetType=decision.change_type,
        TemplateBody=parent_text, Capabilities=CAPABILITIES, Tags=stack_tags,
        IncludeNestedStacks=True, Description=description[:1024])
    arn, stack_id = str(created["Id"]), str(created.get("StackId", ""))
    found_id = decision.stack.get("StackId") if decision.stack is not None else None
    plan = Plan(name, decision.change_type, ChangeSet(arn, stack_id, "", ""), no_changes=False,
                owns_stack=decision.change_type == "CREATE" and stack_id != found_id)
    try:
        described = stacks.wait_for_change_set(cfn, arn)
        change_set = ChangeSet(arn, stack_id or str(described.get("StackId")),
                               str(described.get("Status")),
                               str(described.get("StatusReason") or ""),
                               execution_status=str(described.get("ExecutionStatus") or ""))
        plan.change_set = change_set
        if change_set.status == "FAILED" and not change_set.empty:
            raise DeployFailed(f"CloudFormation rejected the change set: {change_set.reason}")
        if not change_set.empty:
            change_set.changes = list(stacks.describe_changes(cfn, arn))
        plan.no_changes = change_set.empty or (
            existing is not None and not change_set.changes
            and _deployed_template(cfn, name) == parent_text
            and _tags(existing.get("Tags", [])) == _tags(stack_tags))
    except BaseException:
        discard_change_set(aws, plan)  # nothing half-made stays behind, Ctrl-C included
        raise
    return plan


def _deployed_template(cfn: CloudFormationClient, name: str) -> str | None:
    found = unless_error(("ValidationError",), lambda: cfn.get_template(
        StackName=name, TemplateStage="Original"))
    body = found.get("TemplateBody") if found is not None else None
    return body if isinstance(body, str) else None


def _tags(tags: list[TagTypeDef]) -> list[tuple[str, str]]:
    return sorted((t["Key"], t["Value"]) for t in tags)


def discard_change_set(aws: Aws, plan: Plan) -> None:
    """Remove this run's change set; and the stack it made, if nothing else waits on it."""
    cfn = aws.cloudformation()
    unless_error(("ChangeSetNotFound", "ChangeSetNotFoundException", "ValidationError"),
                 lambda: cfn.delete_change_set(ChangeSetName=plan.change_set.arn))
    if not plan.owns_stack or not plan.change_set.stack_id:
        return
    # A CREATE change set leaves an empty REVIEW_IN_PROGRESS stack behind. Another
    # run may have put its own change set on it meanwhile: then the stack stays.
    stack = stacks.describe_stack(cfn, plan.change_set.stack_id)
    if stack is not None and stack["StackStatus"] == "REVIEW_IN_PROGRESS" \
            and not stacks.change_sets_of(cfn, plan.change_set.stack_id):
        cfn.delete_stack(StackName=plan.change_set.stack_id)


def execute(aws: Aws, plan: Plan, *, ui: Ui, timeout: float = 3600,
            poll: float = 2.0) -> tuple[str, list[StackEvent]]:
    import botocore.exceptions

    cfn = aws.cloudformation()
    stack_id = plan.change_set.stack_id or plan.stack_name
    _ensure_executable(cfn, plan)
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


def _ensure_executable(cfn: CloudFormationClient, plan: Plan) -> None:
    """CloudFormation executes a change set only while it is AVAILABLE."""
    status = plan.change_set.execution_status
    if status in ("", "AVAILABLE"):
        return
    described = cfn.describe_change_set(ChangeSetName=plan.change_set.arn)
    status = str(described.get("ExecutionStatus") or "")
    if status not in ("", "AVAILABLE"):
        raise DeployFailed(f"change set {plan.change_set.arn} cannot be executed: its "
                           f"execution status is {status}",
                           hint=str(described.get("StatusReason") or "") or None)


def delete_stack(aws: Aws, stack_id: str, *, ui: Ui, timeout: float = 3600,
                 poll: float = 2.0) -> str:
    cfn = aws.cloudformation()
    follower = _new_events_of(cfn, stack_id)
    follower.discover()  # nested stacks are found before they start to go
    cfn.delete_stack(StackName=stack_id)
    status, events = _follow(cfn, stack_id, follower, ui=ui, timeout=timeout, poll=poll)
    if status == "DELETE_FAILED":
        cause = stacks.root_cause(events)
        detail = f" ({cause.logical_id}: {cause.reason})" if cause else ""
        raise DeployFailed(f"delete of {stack_id} ended DELETE_FAILED{detail}"
                           + stuck_summary(aws, stack_id), hint=DELETE_FAILED_REMEDY)
    if status != "DELETE_COMPLETE":
        cause = stacks.root_cause(events)
        detail = f": {cause.logical_id} {cause.reason}" if cause else ""
        raise DeployFailed(f"delete of {stack_id} ended {status}{detail}")
    return status


LOAD_BALANCER_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
DELETION_PROTECTION = "deletion_protection.enabled"


def release_deletion_protection(aws: Aws, stack_id: str, *, ui: Ui) -> list[str]:
    """Turn off deletion protection on the load balancers of the stack tree (CloudFormation
    cannot delete a protected one); the ARNs of those it turned off."""
    elbv2 = aws.client("elbv2")
    released: list[str] = []
    for found in stacks.resources_of_type(aws.cloudformation(), stack_id, LOAD_BALANCER_TYPE):
        answer = unless_error(("LoadBalancerNotFound",), partial(
            elbv2.describe_load_balancer_attributes, LoadBalancerArn=found.physical_id))
        attributes = {str(a.get("Key")): str(a.get("Value")) for a in
                      (answer or {}).get("Attributes", [])}
        if attributes.get(DELETION_PROTECTION, "false").lower() != "true":
            continue
        elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=found.physical_id,
            Attributes=[{"Key": DELETION_PROTECTION, "Value": "false"}])
        released.append(found.physical_id)
        ui.print(f"turned off deletion protection of load balancer "
                 f"{found.stack_label}/{found.logical_id} ({found.physical_id}) "
                 f"so that it can be deleted")
    return released


DELETE_FAILED_REMEDY = (
    "delete or release what holds each resource listed (e.g. an ENI still attached, a "
    "non-empty bucket, instances protected from scale-in), then run `blueprint delete` "
    "again; to give up on a resource, `aws cloudformation delete-stack --stack-name "
    "STACK --retain-resources LOGICAL_ID` and remove it by hand")


def stuck_summary(aws: Aws, stack_id: str) -> str:
    """"; still there: ..." naming what a failed delete left, or "" when nothing is."""
    stuck = stacks.stuck_resources(aws.cloudformation(), stack_id)
    if not stuck:
        return ""
    return "; still there: " + "; ".join(
        f"{s.stack_label}/{s.logical_id} ({s.resource_type} {s.physical_id})"
        + (f": {s.reason}" if s.reason else "") for s in stuck)


def current_stack(aws: Aws, name: str) -> StackTypeDef | None:
    return stacks.describe_stack(aws.cloudformation(), name)


def _new_events_of(cfn: CloudFormationClient, stack_id: str) -> stacks.EventFollower:
    """A follower of the events after the stack's newest one now (the server's, not
    the local clock: skew would hide events)."""
    follower = stacks.EventFollower(cfn, stack_id)
    follower.mark()
    return follower


def _follow(cfn: CloudFormationClient, stack_id: str, follower: stacks.EventFollower, *,
            ui: Ui, timeout: float, poll: float) -> tuple[str, list[StackEvent]]:
    """Show events until a terminal status; that status and every event shown."""
    seen: list[StackEvent] = []

    def show(events: list[StackEvent]) -> None:
        seen.extend(events)
        for event in events:
            ui.event(event)

    status = stacks.wait_for_stack(cfn, stack_id, on_events=show, follower=follower,
                                   timeout=timeout, poll=poll)
    return status, seen
