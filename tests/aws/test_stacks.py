"""Status simplification and root-cause selection, on CloudFormation's own event shapes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import ClassVar

import pytest

from blueprint.aws.stacks import (
    STATUS_STATES,
    StackEvent,
    StackState,
    UnknownStackStatus,
    root_cause,
    simplify,
)

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def event(label: str, depth: int, seconds: int, logical_id: str, status: str,
          reason: str = "") -> StackEvent:
    return StackEvent(label, depth, T0 + timedelta(seconds=seconds), logical_id,
                      "AWS::X::Y", status, reason, f"{label}-{seconds}-{logical_id}")


def test_root_cause_is_the_first_failure_in_the_deepest_stack_not_the_cascade() -> None:
    events = [
        event("(parent)", 0, 1, "ServiceStack", "CREATE_IN_PROGRESS"),
        event("ServiceStack", 1, 2, "PublicLoadBalancerListener", "CREATE_FAILED",
              "Certificate 'arn:aws:acm:...' not found"),
        event("ServiceStack", 1, 3, "Service", "CREATE_FAILED", "Resource creation cancelled"),
        event("(parent)", 0, 4, "ServiceStack", "CREATE_FAILED",
              "Embedded stack arn:aws:cloudformation:... was not successfully created: "
              "The following resource(s) failed to create: [PublicLoadBalancerListener]."),
        event("(parent)", 0, 5, "api", "ROLLBACK_IN_PROGRESS"),
    ]
    cause = root_cause(events)
    assert cause is not None
    assert (cause.stack_label, cause.logical_id) == ("ServiceStack",
                                                      "PublicLoadBalancerListener")


def test_root_cause_of_a_parent_only_failure() -> None:
    cause = root_cause([event("(parent)", 0, 1, "VpcStack", "CREATE_FAILED", "Access denied")])
    assert cause is not None and cause.reason == "Access denied"


def test_no_failure_no_root_cause() -> None:
    assert root_cause([event("(parent)", 0, 1, "api", "CREATE_COMPLETE")]) is None


@pytest.mark.parametrize(("status", "state"), [
    (None, StackState.ABSENT),
    ("DELETE_COMPLETE", StackState.ABSENT),
    ("REVIEW_IN_PROGRESS", StackState.REVIEW),
    ("CREATE_IN_PROGRESS", StackState.IN_PROGRESS),
    ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", StackState.IN_PROGRESS),
    ("UPDATE_ROLLBACK_IN_PROGRESS", StackState.IN_PROGRESS),
    ("IMPORT_ROLLBACK_IN_PROGRESS", StackState.IN_PROGRESS),
    ("ROLLBACK_COMPLETE", StackState.ROLLED_BACK_CREATE),
    ("ROLLBACK_FAILED", StackState.ROLLED_BACK_CREATE),
    ("UPDATE_ROLLBACK_FAILED", StackState.ROLLBACK_FAILED),
    ("IMPORT_ROLLBACK_FAILED", StackState.ROLLBACK_FAILED),
    ("UPDATE_ROLLBACK_COMPLETE", StackState.FAILED),
    ("IMPORT_ROLLBACK_COMPLETE", StackState.FAILED),
    ("CREATE_FAILED", StackState.FAILED),
    ("UPDATE_FAILED", StackState.FAILED),
    ("DELETE_FAILED", StackState.DELETE_FAILED),
    ("CREATE_COMPLETE", StackState.COMPLETE),
    ("UPDATE_COMPLETE", StackState.COMPLETE),
    ("IMPORT_COMPLETE", StackState.COMPLETE),
])
def test_status_simplification(status: str | None, state: StackState) -> None:
    assert simplify(status) is state


def test_every_rollback_complete_is_a_failure() -> None:
    rolled_back = [s for s in STATUS_STATES if s.endswith("ROLLBACK_COMPLETE")]
    assert len(rolled_back) == 3
    assert all(simplify(status).is_failure for status in rolled_back)


def test_every_status_cloudformation_documents_is_mapped() -> None:
    """botocore's model lists every status; one AWS adds shows up here on upgrade."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("cloudformation")
    documented = set(model.shape_for("StackStatus").enum)
    assert documented - set(STATUS_STATES) == set(), "map each new status on purpose"
    assert set(STATUS_STATES) - documented == set(), "a status CloudFormation does not have"


def test_an_unknown_status_is_an_error_that_names_it() -> None:
    with pytest.raises(UnknownStackStatus, match="STACKED_TO_THE_MOON_COMPLETE") as caught:
        simplify("STACKED_TO_THE_MOON_COMPLETE")
    assert caught.value.exit_code == 2


class _ChangeSets:
    """CloudFormation's DescribeChangeSet pages for a parent whose child has its own set."""

    PAGES: ClassVar[dict[tuple[str, str | None], dict[str, object]]] = {
        ("parent", None): {"Changes": [{"ResourceChange": {
            "Action": "Modify", "LogicalResourceId": "ServiceStack",
            "ResourceType": "AWS::CloudFormation::Stack", "Replacement": "False",
            "ChangeSetId": "child"}}], "NextToken": "2"},
        ("parent", "2"): {"Changes": [{"ResourceChange": {
            "Action": "Modify", "LogicalResourceId": "ClusterStack",
            "ResourceType": "AWS::CloudFormation::Stack", "Replacement": "False"}}]},
        ("child", None): {"Changes": [{"ResourceChange": {
            "Action": "Modify", "LogicalResourceId": "Service",
            "ResourceType": "AWS::ECS::Service", "Replacement": "Conditional"}}]},
    }

    def describe_change_set(self, ChangeSetName: str,
                            NextToken: str | None = None) -> dict[str, object]:
        return self.PAGES[(ChangeSetName, NextToken)]


def test_changes_include_the_nested_stacks_own_changes_across_pages() -> None:
    from blueprint.aws.stacks import describe_changes

    rows = [(c.stack, c.action, c.logical_id, c.replacement)
            for c in describe_changes(_ChangeSets(), "parent")]
    assert rows == [
        ("(parent)", "Modify", "ServiceStack", "False"),
        ("ServiceStack", "Modify", "Service", "Conditional"),
        ("(parent)", "Modify", "ClusterStack", "False"),
    ]
