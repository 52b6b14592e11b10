"""What a deploy decides to do with the stack it finds: a pure function, tested as a table.

Each row is CloudFormation's own answer shapes (a DescribeStacks stack and
ListChangeSets summaries) at a fixed "now"; the decision is a value.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from blueprint.aws.stacks import Change, UnknownStackStatus
from blueprint.deployer import (
    STALE_AFTER,
    Action,
    Consent,
    StackDecision,
    certificate_problem,
    decide,
    loud_replacements,
    pin_problems,
    region_flag_problem,
    replacement_consent,
    replacement_lines,
    zone_count_problem,
)

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)
FRESH = NOW - timedelta(minutes=3)
STALE = NOW - STALE_AFTER - timedelta(minutes=1)
ARN = "arn:aws:cloudformation:us-east-1:123456789012:stack/api/1"


def stack(status: str) -> dict[str, Any]:
    return {"StackName": "api", "StackId": ARN, "StackStatus": status, "CreationTime": STALE}


def change_set(name: str, created: datetime | None, execution: str = "AVAILABLE",
               description: str = "") -> dict[str, Any]:
    summary: dict[str, Any] = {"ChangeSetName": name, "ChangeSetId": f"{ARN}/cs/{name}",
                               "StackId": ARN, "ExecutionStatus": execution,
                               "Description": description}
    if created is not None:
        summary["CreationTime"] = created
    return summary


OURS_FRESH = change_set("blueprint-20261201115700", FRESH,
                        description="blueprint deploy of api by arn:aws:iam::123:user/alice")
OURS_STALE = change_set("blueprint-20261201100000", STALE)
OURS_EXECUTED = change_set("blueprint-20261201115800", FRESH, execution="EXECUTE_COMPLETE")
FOREIGN_FRESH = change_set("hand-made", FRESH)
FOREIGN_STALE = change_set("hand-made-old", STALE)
OURS_UNDATED = change_set("blueprint-undated", None)

# (stack status or None, change sets, read_only, expected action, stale change sets removed)
TABLE: list[tuple[str | None, list[dict[str, Any]], bool, Action, list[str]]] = [
    (None, [], False, Action.CREATE, []),
    (None, [], True, Action.CREATE, []),
    ("CREATE_COMPLETE", [], False, Action.UPDATE, []),
    ("UPDATE_ROLLBACK_COMPLETE", [], False, Action.UPDATE, []),
    ("IMPORT_ROLLBACK_COMPLETE", [], True, Action.UPDATE, []),
    ("UPDATE_COMPLETE", [OURS_STALE, FOREIGN_STALE, OURS_EXECUTED], False, Action.UPDATE,
     ["blueprint-20261201100000"]),  # only blueprint's own abandoned ones
    ("UPDATE_COMPLETE", [OURS_STALE], True, Action.UPDATE, []),  # plan removes nothing
    ("UPDATE_COMPLETE", [FOREIGN_FRESH], False, Action.UPDATE, []),
    ("UPDATE_COMPLETE", [OURS_FRESH], False, Action.REFUSE, []),
    ("UPDATE_COMPLETE", [OURS_FRESH], True, Action.REFUSE, []),
    ("UPDATE_COMPLETE", [OURS_UNDATED], False, Action.REFUSE, []),  # no age: maybe fresh
    ("UPDATE_IN_PROGRESS", [], False, Action.REFUSE, []),
    ("IMPORT_IN_PROGRESS", [], True, Action.REFUSE, []),
    ("UPDATE_ROLLBACK_FAILED", [], False, Action.REFUSE, []),
    ("IMPORT_ROLLBACK_FAILED", [], False, Action.REFUSE, []),
    ("DELETE_FAILED", [], False, Action.REFUSE, []),
    ("ROLLBACK_COMPLETE", [], False, Action.RECREATE, []),
    ("ROLLBACK_FAILED", [], False, Action.RECREATE, []),
    ("ROLLBACK_COMPLETE", [], True, Action.REFUSE, []),  # plan never deletes a stack
    # A first deploy waiting at its prompt: its stack is REVIEW_IN_PROGRESS.
    ("REVIEW_IN_PROGRESS", [OURS_FRESH], False, Action.REFUSE, []),
    ("REVIEW_IN_PROGRESS", [OURS_FRESH], True, Action.REFUSE, []),
    ("REVIEW_IN_PROGRESS", [OURS_STALE, FOREIGN_FRESH], False, Action.REFUSE, []),
    ("REVIEW_IN_PROGRESS", [OURS_UNDATED], False, Action.REFUSE, []),
    ("REVIEW_IN_PROGRESS", [OURS_STALE, FOREIGN_STALE], False, Action.RECREATE, []),
    ("REVIEW_IN_PROGRESS", [], False, Action.RECREATE, []),
    ("REVIEW_IN_PROGRESS", [OURS_EXECUTED], False, Action.RECREATE, []),
    ("REVIEW_IN_PROGRESS", [OURS_STALE], True, Action.CREATE, []),  # beside it, deleting none
]


@pytest.mark.parametrize(("status", "summaries", "read_only", "action", "removed"), TABLE)
def test_decision(status: str | None, summaries: list[dict[str, Any]], read_only: bool,
                  action: Action, removed: list[str]) -> None:
    found = stack(status) if status is not None else None
    decision = decide(found, summaries, NOW, read_only=read_only)  # type: ignore[arg-type]
    assert decision.action is action, decision.reason
    assert [c.name for c in decision.stale] == removed
    if action in (Action.REFUSE, Action.RECREATE):
        assert decision.reason
    if read_only:
        assert decision.action is not Action.RECREATE and not decision.stale


def _decide(status: str, summaries: list[dict[str, Any]], *,
            read_only: bool = False) -> StackDecision:
    return decide(stack(status), summaries, NOW, read_only=read_only)  # type: ignore[arg-type]


def test_a_refusal_says_whose_change_set_waits_and_how_old() -> None:
    decision = _decide("REVIEW_IN_PROGRESS", [OURS_FRESH])
    assert "change set blueprint-20261201115700" in decision.reason
    assert "of a blueprint deploy by arn:aws:iam::123:user/alice" in decision.reason
    assert "created 3 min ago (2026-12-01 11:57:00 UTC)" in decision.reason
    assert "refusing" in decision.reason


def test_a_foreign_change_set_is_named_as_not_blueprints() -> None:
    decision = _decide("REVIEW_IN_PROGRESS", [FOREIGN_FRESH])
    assert "change set hand-made not made by blueprint, created 3 min ago" in decision.reason


def test_a_rolled_back_update_rollback_failed_stack_gets_recovery_instructions() -> None:
    decision = _decide("UPDATE_ROLLBACK_FAILED", [])
    assert decision.hint is not None
    assert "continue-update-rollback --stack-name api" in decision.hint


def test_an_unknown_status_is_refused_by_name_not_deployed_over() -> None:
    with pytest.raises(UnknownStackStatus, match="SOMETHING_NEW_COMPLETE"):
        _decide("SOMETHING_NEW_COMPLETE", [])


def test_only_a_stack_this_run_brings_into_existence_is_its_own() -> None:
    assert decide(None, [], NOW, read_only=False).creates_stack
    assert _decide("ROLLBACK_COMPLETE", []).creates_stack
    # A plan's CREATE change set beside an abandoned one does not make the stack its own.
    assert not _decide("REVIEW_IN_PROGRESS", [OURS_STALE], read_only=True).creates_stack
    assert not _decide("UPDATE_COMPLETE", []).creates_stack


# ------------------------------------------------------------ carrying decisions out


class _Ui:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def print(self, message: str) -> None:
        self.lines.append(message)

    def event(self, event: Any) -> None:
        self.lines.append(str(event))

    def changes(self, rows: list[tuple[str, str, str, str, str]], title: str) -> None:
        self.lines.append(title)


class _NoAws:
    """Any AWS call is a failure: these decisions must be carried out without one."""

    def cloudformation(self) -> Any:
        raise AssertionError("no AWS call expected")


def test_declining_to_recreate_is_exit_4_and_touches_nothing() -> None:
    from blueprint.deploy_flow import settle_stack
    from blueprint.deployer import Declined

    asked: list[str] = []

    def answer_no(question: str) -> bool:
        asked.append(question)
        return False

    with pytest.raises(Declined) as caught:
        settle_stack(_NoAws(), _decide("ROLLBACK_COMPLETE", []), ui=_Ui(),  # type: ignore[arg-type]
                     confirm_delete=answer_no)
    assert caught.value.exit_code == 4
    assert asked == ["Delete stack api and create it again?"]


def test_a_refusal_is_exit_1_without_asking_or_calling_aws() -> None:
    from blueprint.aws.stacks import StackStateError
    from blueprint.deploy_flow import settle_stack

    with pytest.raises(StackStateError, match="blueprint-20261201115700") as caught:
        settle_stack(_NoAws(), _decide("REVIEW_IN_PROGRESS", [OURS_FRESH]),  # type: ignore[arg-type]
                     ui=_Ui(), confirm_delete=pytest.fail)
    assert caught.value.exit_code == 1


class _Cfn:
    """CloudFormation as a discard sees it: one REVIEW_IN_PROGRESS stack and its change sets."""

    def __init__(self, change_sets: list[str]) -> None:
        self.change_sets = change_sets
        self.deleted_stacks: list[str] = []

    def delete_change_set(self, ChangeSetName: str) -> None:
        self.change_sets.remove(ChangeSetName)

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        return {"Stacks": [stack("REVIEW_IN_PROGRESS")]}

    def get_paginator(self, operation: str) -> Any:
        cfn = self

        class Pages:
            def paginate(self, StackName: str) -> list[dict[str, Any]]:
                return [{"Summaries": [change_set(name, FRESH) for name in cfn.change_sets]}]

        return Pages()

    def delete_stack(self, StackName: str) -> None:
        self.deleted_stacks.append(StackName)


class _Aws:
    def __init__(self, cfn: _Cfn) -> None:
        self.cfn = cfn

    def cloudformation(self) -> _Cfn:
        return self.cfn


@pytest.mark.parametrize(("owns_stack", "others", "stack_deleted"), [
    (True, [], True),  # the empty stack this run's CREATE change set made goes too
    (True, ["blueprint-of-another-run"], False),  # another run put its change set on it
    (False, [], False),  # a stack found already there is never this run's to delete
])
def test_discarding_removes_only_what_this_run_made(owns_stack: bool, others: list[str],
                                                    stack_deleted: bool) -> None:
    from blueprint.aws.stacks import ChangeSet
    from blueprint.deploy_flow import discard_change_set
    from blueprint.deployer import Plan

    cfn = _Cfn(["ours", *others])
    plan = Plan("api", "CREATE", ChangeSet("ours", ARN, "CREATE_COMPLETE", ""),
                no_changes=False, owns_stack=owns_stack)
    discard_change_set(_Aws(cfn), plan)  # type: ignore[arg-type]
    assert cfn.change_sets == others
    assert cfn.deleted_stacks == ([ARN] if stack_deleted else [])


# --------------------------------------------------- replacements that need their own consent

ASG = "AWS::AutoScaling::AutoScalingGroup"


def change(resource_type: str, replacement: str, stack: str = "ClusterStack",
           logical_id: str = "Thing", action: str = "Modify") -> Change:
    return Change(stack, action, logical_id, resource_type, replacement)


# (resource type, CloudFormation's Replacement, loud?)
LOUD_TABLE: list[tuple[str, str, bool]] = [
    (ASG, "True", True),
    (ASG, "Conditional", True),  # replaced when a value known only at execution changes
    (ASG, "False", False),
    (ASG, "-", False),  # Add/Remove have no Replacement
    ("AWS::ECS::CapacityProvider", "True", True),
    ("AWS::ECS::Cluster", "True", True),
    ("AWS::ECS::Service", "Conditional", True),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "True", True),
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "True", True),
    ("AWS::EC2::VPC", "True", True),
    ("AWS::EC2::Subnet", "Conditional", True),
    ("AWS::ECS::TaskDefinition", "True", False),  # a routine new revision
    ("AWS::EC2::SecurityGroupIngress", "True", False),
    ("AWS::CloudFormation::Stack", "Conditional", False),  # its own changes are listed
]


@pytest.mark.parametrize(("resource_type", "replacement", "loud"), LOUD_TABLE)
def test_which_replacements_are_loud(resource_type: str, replacement: str, loud: bool) -> None:
    found = loud_replacements([change(resource_type, replacement)])
    assert bool(found) is loud


def test_nested_stacks_replacements_are_named_with_their_stack() -> None:
    changes = [change("AWS::CloudFormation::Stack", "False", "(parent)", "ClusterStack"),
               change(ASG, "True", "ClusterStack", "ECSAutoScalingGroup"),
               change("AWS::ECS::CapacityProvider", "Conditional", "ClusterStack",
                      "CapacityProvider")]
    assert replacement_lines(loud_replacements(changes)) == [
        "ClusterStack/ECSAutoScalingGroup (AWS::AutoScaling::AutoScalingGroup) "
        "will be replaced",
        "ClusterStack/CapacityProvider (AWS::ECS::CapacityProvider) may be replaced",
    ]


# (a loud replacement?, --allow-replace, a terminal to ask at, consent)
CONSENT_TABLE: list[tuple[bool, bool, bool, Consent]] = [
    (False, False, False, Consent.GO),
    (False, False, True, Consent.GO),
    (True, True, False, Consent.GO),
    (True, True, True, Consent.GO),
    (True, False, True, Consent.ASK),  # asked again, whatever --yes said
    (True, False, False, Consent.REFUSE),  # a pipeline without --allow-replace
]


@pytest.mark.parametrize(("replaces", "allow_replace", "interactive", "consent"),
                         CONSENT_TABLE)
def test_replacement_consent(replaces: bool, allow_replace: bool, interactive: bool,
                             consent: Consent) -> None:
    replaced = [change(ASG, "True")] if replaces else []
    assert replacement_consent(replaced, allow_replace=allow_replace,
                               interactive=interactive) is consent


def test_refusing_a_replacement_is_a_refusal_not_a_decline() -> None:
    from blueprint.deployer import ReplaceRefused

    assert ReplaceRefused("x").exit_code == 1


CERT = "arn:{partition}:acm:{region}:123456789012:certificate/0b1c2d3e"

# (certificate ARN or None, deploy region, its partition, a problem expected containing)
CERTIFICATE_TABLE: list[tuple[str | None, str, str, str | None]] = [
    (None, "us-east-1", "aws", None),  # HTTP: no certificate
    (CERT.format(partition="aws", region="eu-west-1"), "eu-west-1", "aws", None),
    (CERT.format(partition="aws", region="us-east-1"), "eu-west-1", "aws",
     "is in us-east-1, the stack in eu-west-1"),
    (CERT.format(partition="aws", region="cn-north-1"), "cn-north-1", "aws-cn",
     "partition aws, the stack in aws-cn"),
    (CERT.format(partition="aws-cn", region="cn-north-1"), "cn-north-1", "aws-cn", None),
    ("not-an-arn", "us-east-1", "aws", "is not an ARN"),
]


@pytest.mark.parametrize(("arn", "region", "partition", "problem"), CERTIFICATE_TABLE)
def test_certificate_region(arn: str | None, region: str, partition: str,
                            problem: str | None) -> None:
    found = certificate_problem(arn, region, partition)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


# (availabilityZones, zones the account has, a problem expected?)
ZONES_TABLE: list[tuple[int, list[str], bool]] = [
    (2, ["us-west-1a", "us-west-1b"], False),
    (3, ["us-west-1a", "us-west-1b"], True),
    (3, ["a", "b", "c"], False),
    (3, ["a", "b", "c", "d", "e", "f"], False),
    (2, ["a"], True),
]


@pytest.mark.parametrize(("wanted", "zones", "problem"), ZONES_TABLE)
def test_zone_count(wanted: int, zones: list[str], problem: bool) -> None:
    found = zone_count_problem(wanted, zones, "us-west-1")
    assert (found is not None) is problem
    if found:
        assert f"availabilityZones is {wanted}" in found and f"only {len(zones)}" in found


# --------------------------------------------------------- an environment's account and region pins


def pinned_environment() -> Any:
    from blueprint.environments import Environment

    return Environment(name="prod", account="222222222222", region="eu-west-1",
                       stack_name="orders-prod", data={})


@pytest.mark.parametrize(("account", "region", "named"), [
    ("222222222222", "eu-west-1", []),
    ("123456789012", "eu-west-1", ["account 222222222222", "account 123456789012",
                                   "arn:aws:iam::123456789012:user/ci"]),
    ("222222222222", "us-east-1", ["region eu-west-1", "works in us-east-1"]),
    ("123456789012", "us-east-1", ["account 123456789012", "works in us-east-1"]),
])
def test_pins_name_both_sides_of_each_difference(account: str, region: str,
                                                 named: list[str]) -> None:
    problems = pin_problems(pinned_environment(), account=account, region=region,
                            caller="arn:aws:iam::123456789012:user/ci")
    text = "; ".join(problems)
    assert len(problems) == (account != "222222222222") + (region != "eu-west-1")
    for fragment in named:
        assert fragment in text


def test_region_flag_may_only_repeat_the_pin() -> None:
    environment = pinned_environment()
    assert region_flag_problem(environment, None) is None
    assert region_flag_problem(environment, "eu-west-1") is None
    problem = region_flag_problem(environment, "us-east-1")
    assert problem is not None and "eu-west-1" in problem and "--region is us-east-1" in problem
