"""What a deploy should do with the stack it finds: decisions only, no AWS calls.

``decide`` looks at the stack CloudFormation reports and the change sets waiting
on it and returns a ``StackDecision``; ``blueprint.deploy_flow`` carries it out
(deleting a stack, removing abandoned change sets, creating and executing one).
Keeping the two apart is what lets ``plan`` share the decision and still
promise never to delete anything.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from blueprint import cfn_yaml
from blueprint.aws.stacks import Change, ChangeSet, StackEvent, StackState, root_cause, simplify
from blueprint.errors import EXIT_DECLINED, EXIT_FINDINGS, BlueprintError
from blueprint.expander import CHILD_STACKS, Rendering

if TYPE_CHECKING:
    from mypy_boto3_cloudformation.type_defs import ChangeSetSummaryTypeDef, StackTypeDef

    from blueprint.environments import Environment

CHANGE_SET_PREFIX = "blueprint-"
# A change set younger than this may belong to a deploy still asking for
# confirmation; older ones were abandoned.
STALE_AFTER = timedelta(hours=1)
# Change sets in these execution states may still be executed by whoever made them.
_WAITING = ("AVAILABLE", "UNAVAILABLE")


class Declined(BlueprintError):
    """The user answered "no" at a confirmation; nothing was changed."""

    exit_code = EXIT_DECLINED


class Action(enum.Enum):
    CREATE = "create"  # create the stack through a CREATE change set
    UPDATE = "update"  # update the stack through an UPDATE change set
    RECREATE = "recreate"  # delete the stack (once the user agrees), then create it
    REFUSE = "refuse"  # leave everything as it is and say why


@dataclass(frozen=True)
class PendingChangeSet:
    """A change set on the stack that has not run (yet)."""

    name: str
    arn: str
    created: datetime | None
    description: str

    @property
    def made_by_blueprint(self) -> bool:
        return self.name.startswith(CHANGE_SET_PREFIX)

    def age(self, now: datetime) -> timedelta | None:
        return None if self.created is None else now - self.created

    def is_stale(self, now: datetime, stale_after: timedelta) -> bool:
        age = self.age(now)
        # No creation time: it might be fresh, so it is treated as fresh.
        return age is not None and age >= stale_after

    def describe(self, now: datetime) -> str:
        """Whose change set it is and how old, e.g. for a refusal."""
        if not self.made_by_blueprint:
            whose = "not made by blueprint"
        else:
            by = self.description.partition(" by ")[2]
            whose = f"of a blueprint deploy by {by}" if by else "of a blueprint deploy"
        age = self.age(now)
        when = "at an unknown time" if age is None or self.created is None else \
            f"{_duration(age)} ago ({self.created:%Y-%m-%d %H:%M:%S} UTC)"
        return f"change set {self.name} {whose}, created {when}"


@dataclass(frozen=True)
class StackDecision:
    action: Action
    stack: StackTypeDef | None = None  # the stack as found (None: there is none)
    reason: str = ""  # what the user must know: the refusal, or why a delete is asked for
    hint: str | None = None
    # Abandoned blueprint change sets a deploy removes before making its own.
    stale: tuple[PendingChangeSet, ...] = field(default=())

    @property
    def change_type(self) -> Literal["CREATE", "UPDATE"]:
        return "UPDATE" if self.action is Action.UPDATE else "CREATE"

    @property
    def creates_stack(self) -> bool:
        """True when the change set this run makes brings the stack into existence."""
        return self.action is Action.RECREATE or (
            self.action is Action.CREATE and self.stack is None)


def pending_change_sets(summaries: Sequence[ChangeSetSummaryTypeDef]) -> list[PendingChangeSet]:
    """The change sets that may still be executed; executed or obsolete ones are history."""
    return [PendingChangeSet(str(s.get("ChangeSetName", "")), str(s.get("ChangeSetId", "")),
                             s.get("CreationTime"), str(s.get("Description", "")))
            for s in summaries if s.get("ExecutionStatus") in _WAITING]


def decide(stack: StackTypeDef | None, summaries: Sequence[ChangeSetSummaryTypeDef],
           now: datetime, *, read_only: bool,
           stale_after: timedelta | None = None) -> StackDecision:
    """What a deploy (``read_only``: a plan) should do with ``stack`` and its change sets.

    A plan never deletes a stack or a change set, so where a deploy would ask to
    delete, a plan refuses or works alongside. A change set younger than
    ``stale_after`` (default ``STALE_AFTER``) may belong to a deploy still waiting.
    """
    stale_after = STALE_AFTER if stale_after is None else stale_after
    status = str(stack["StackStatus"]) if stack is not None else None
    state = simplify(status)
    if stack is None or state is StackState.ABSENT:
        return StackDecision(Action.CREATE)
    name = str(stack.get("StackName", ""))
    refusal = _refusal(name, str(status), state)
    if refusal is not None:
        return StackDecision(Action.REFUSE, stack, *refusal)
    pending = pending_change_sets(summaries)
    if state is StackState.REVIEW:
        return _decide_review(stack, pending, now, read_only=read_only, stale_after=stale_after)
    if state is StackState.ROLLED_BACK_CREATE:
        reason = (f"stack {name}: its first creation failed and was rolled back ({status}); "
                  "it must be deleted before it can be created again")
        if read_only:
            return StackDecision(Action.REFUSE, stack, reason,
                                 "`blueprint deploy` offers to delete and recreate it")
        return StackDecision(Action.RECREATE, stack, reason)
    ours = [p for p in pending if p.made_by_blueprint]
    fresh = [p for p in ours if not p.is_stale(now, stale_after)]
    if fresh:
        return _another_deploy(stack, fresh, now, stale_after)
    return StackDecision(Action.UPDATE, stack, stale=() if read_only else tuple(ours))


def _refusal(name: str, status: str, state: StackState) -> tuple[str, str] | None:
    """(reason, hint) for the states no deploy may touch."""
    if state is StackState.IN_PROGRESS:
        return (f"stack {name} is {status}: another operation is running, refusing to deploy "
                "concurrently", "wait for it to finish (`blueprint status`), then deploy again")
    if state is StackState.DELETE_FAILED:
        return (f"stack {name} is {status}: only another delete can move it",
                "fix the cause shown by `blueprint status`, then run `blueprint delete` again")
    if status == "UPDATE_ROLLBACK_FAILED":
        return (f"stack {name} is UPDATE_ROLLBACK_FAILED and cannot be updated",
                f"fix the cause shown by `blueprint status`, then run `aws cloudformation "
                f"continue-update-rollback --stack-name {name}` (add --resources-to-skip "
                f"for resources that cannot roll back), wait for UPDATE_ROLLBACK_COMPLETE "
                f"and deploy again")
    if state is StackState.ROLLBACK_FAILED:
        return (f"stack {name} is {status} and cannot be updated",
                "fix the cause shown by `blueprint status` in the CloudFormation console, "
                "then deploy again")
    return None


def _decide_review(stack: StackTypeDef, pending: list[PendingChangeSet], now: datetime, *,
                   read_only: bool, stale_after: timedelta) -> StackDecision:
    """A stack made by a CREATE change set that never ran: perhaps one still waiting."""
    fresh = [p for p in pending if not p.is_stale(now, stale_after)]
    if fresh:
        # Deleting the stack would take every change set on it along.
        return _another_deploy(stack, fresh, now, stale_after)
    if read_only:  # another CREATE change set can be made beside the abandoned ones
        return StackDecision(Action.CREATE, stack)
    name = str(stack.get("StackName", ""))
    left = "; ".join(p.describe(now) for p in pending) or "no change set is left on it"
    return StackDecision(Action.RECREATE, stack,
                         f"stack {name}: it was left in REVIEW_IN_PROGRESS by a change set "
                         f"that never ran ({left})")


def _another_deploy(stack: StackTypeDef, fresh: list[PendingChangeSet], now: datetime,
                    stale_after: timedelta) -> StackDecision:
    name = str(stack.get("StackName", ""))
    waiting = "; ".join(p.describe(now) for p in fresh)
    return StackDecision(
        Action.REFUSE, stack,
        f"stack {name} has a change set waiting for its confirmation ({waiting}): refusing "
        "to deploy concurrently",
        "let that deploy finish; if it was abandoned, delete the change set (or wait until "
        f"it is {_duration(stale_after)} old, when `blueprint deploy` removes it)")


def _duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


# ----------------------------------------------------------------------- the plan


@dataclass
class Plan:
    """A change set made by this run, and what it would do."""

    stack_name: str
    change_type: str  # CREATE | UPDATE
    change_set: ChangeSet
    no_changes: bool
    # This run's change set brought the stack into existence: discarding the
    # change set also removes the empty stack, if nothing else waits on it.
    owns_stack: bool = False


def parent_with_urls(rendering: Rendering, urls: dict[str, str]) -> str:
    """The checked parent template, pointing at the uploaded (checked) children."""
    parent = copy.deepcopy(rendering.templates["parent.yml"])
    for logical_id, template in CHILD_STACKS.items():
        parent["Resources"][logical_id]["Properties"]["TemplateURL"] = urls[template]
    return cfn_yaml.dump(parent)


def failure_message(status: str, events: list[StackEvent]) -> str:
    cause = root_cause(events)
    if cause is None:
        return f"deployment ended {status}; no failed resource event was reported"
    where = cause.stack_label if cause.depth else "parent stack"
    return (f"deployment ended {status}. Root cause, in {where}: {cause.logical_id} "
            f"({cause.resource_type}) {cause.status}: {cause.reason}")


def changes_rows(changes: list[Change]) -> list[tuple[str, str, str, str, str]]:
    return [(c.stack, c.action, c.logical_id, c.resource_type, c.replacement) for c in changes]


# -------------------------------------------------------- replacements that need consent

# Values of a change set's ResourceChange.Replacement that may destroy the resource.
_REPLACING = {"True": "will be replaced", "Conditional": "may be replaced"}


def _loud_types() -> frozenset[str]:
    # The offline diff's list, so `blueprint diff` and `deploy` shout about the same types.
    from blueprint.diff.model import LOUD_TYPES

    return LOUD_TYPES


def loud_replacements(changes: Sequence[Change]) -> list[Change]:
    """Changes, nested stacks' included, that replace a stateful or disruptive resource.

    CloudFormation's ``Replacement`` is the truth on AWS: "True" replaces it;
    "Conditional" replaces it when a value known only at execution changes, so
    it counts too.
    """
    loud = _loud_types()
    return [c for c in changes if c.resource_type in loud and c.replacement in _REPLACING]


def replacement_lines(replacements: Sequence[Change]) -> list[str]:
    """One line per replacement, e.g. "ClusterStack/ECSAutoScalingGroup
    (AWS::AutoScaling::AutoScalingGroup) will be replaced"."""
    return [f"{c.stack}/{c.logical_id} ({c.resource_type}) {_REPLACING[c.replacement]}"
            for c in replacements]


class Consent(enum.Enum):
    GO = "go"  # nothing to consent to, or --allow-replace gave it
    ASK = "ask"  # a person at a terminal is asked, whatever --yes says
    REFUSE = "refuse"  # nobody to ask and no --allow-replace: refuse, exit 1


def replacement_consent(replacements: Sequence[Change], *, allow_replace: bool,
                        interactive: bool) -> Consent:
    """Whether a deploy may execute a change set that replaces ``replacements``.

    ``--yes`` does not count: it answers the routine question, not this one.
    """
    if not replacements or allow_replace:
        return Consent.GO
    return Consent.ASK if interactive else Consent.REFUSE


class ReplaceRefused(BlueprintError):
    """A change set replaces stateful resources and nobody consented (a pipeline
    without ``--allow-replace``): a refusal, like a stack state that forbids a
    deploy, not a decline."""

    exit_code = EXIT_FINDINGS


# ----------------------------------------------- checks of the target before any upload


class TargetMismatch(BlueprintError):
    """The blueprint cannot work in the region it is deployed to; nothing was uploaded."""

    exit_code = EXIT_FINDINGS


def certificate_problem(certificate_arn: str | None, region: str,
                        partition: str) -> str | None:
    """Why an HTTPS listener could not use the certificate in ``region``, or None.

    An ALB uses ACM certificates of its own region only; the ARN says where one is
    (``arn:PARTITION:acm:REGION:ACCOUNT:certificate/ID``).
    """
    if not certificate_arn:
        return None
    parts = certificate_arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return f"certificate {certificate_arn} is not an ARN"
    arn_partition, service, arn_region = parts[1], parts[2], parts[3]
    if arn_partition != partition:
        return (f"certificate {certificate_arn} is in partition {arn_partition}, "
                f"the stack in {partition} ({region})")
    if service == "acm" and arn_region != region:
        return (f"certificate {certificate_arn} is in {arn_region}, the stack in {region}: "
                f"a load balancer can only use an ACM certificate of its own region "
                f"(request or import it in {region})")
    return None


def zone_count_problem(wanted: int, zones: Sequence[str], region: str) -> str | None:
    """Why ``availabilityZones: wanted`` cannot work with the zones the account has."""
    if len(zones) >= wanted:
        return None
    have = ", ".join(sorted(zones)) or "none"
    return (f"network.availabilityZones is {wanted}, but {region} has only {len(zones)} "
            f"available zone(s) for this account ({have}): CloudFormation would fail on "
            f"Fn::Select; use availabilityZones: {max(len(zones), 2)} or another region")


class PinMismatch(TargetMismatch):
    """The credentials' account or the region is not the one the environment is pinned to:
    the classic wrong-profile incident, refused before anything is read or changed."""


def region_flag_problem(environment: Environment, region_flag: str | None) -> str | None:
    """Why ``--region`` cannot be used with the environment: it may only agree with the pin."""
    if region_flag is None or region_flag == environment.region:
        return None
    return (f"environment {environment.name} is pinned to region {environment.region}, "
            f"but --region is {region_flag}: a pin cannot be overridden (drop --region, "
            f"or change the pin in the blueprint)")


def pin_problems(environment: Environment, *, account: str, region: str,
                 caller: str) -> list[str]:
    """How the account of the credentials in use (``caller``, their ARN) and the region
    the command works in differ from the environment's pins (none: they agree)."""
    problems = []
    if account != environment.account:
        who = f" ({caller})" if caller else ""
        problems.append(f"environment {environment.name} is pinned to account "
                        f"{environment.account}, but the credentials in use{who} are of "
                        f"account {account}")
    if region != environment.region:
        problems.append(f"environment {environment.name} is pinned to region "
                        f"{environment.region}, but the command works in {region}")
    return problems
