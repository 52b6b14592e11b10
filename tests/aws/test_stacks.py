"""Status simplification and root-cause selection, on CloudFormation's own event shapes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import ClassVar

import pytest

from blueprint.aws.stacks import StackEvent, root_cause, simplify

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


@pytest.mark.parametrize(("status", "simple"), [
    (None, "absent"),
    ("DELETE_COMPLETE", "absent"),
    ("REVIEW_IN_PROGRESS", "review"),
    ("CREATE_IN_PROGRESS", "in-progress"),
    ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "in-progress"),
    ("UPDATE_ROLLBACK_IN_PROGRESS", "in-progress"),
    ("ROLLBACK_COMPLETE", "rolled-back-create"),
    ("ROLLBACK_FAILED", "rolled-back-create"),
    ("UPDATE_ROLLBACK_FAILED", "update-rollback-failed"),
    ("UPDATE_ROLLBACK_COMPLETE", "failed"),
    ("CREATE_FAILED", "failed"),
    ("CREATE_COMPLETE", "complete"),
    ("UPDATE_COMPLETE", "complete"),
    ("IMPORT_COMPLETE", "complete"),
])
def test_status_simplification(status: str | None, simple: str) -> None:
    assert simplify(status) == simple


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
