"""Following a stack's events as CloudFormation serves them: newest first, in pages, on its
own clock. Shown with botocore's Stubber, which answers exactly the calls listed (an
unlisted call fails the test), since the local endpoint serves one page and one clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from blueprint.aws.stacks import EventFollower, Watermark, change_sets_of

PARENT = "arn:aws:cloudformation:us-east-1:123456789012:stack/api/1"
CHILD = "arn:aws:cloudformation:us-east-1:123456789012:stack/api-ClusterStack-X/2"
# The server's clock, an hour behind this machine's: local-clock filtering hides it all.
SERVER = datetime.now(timezone.utc) - timedelta(hours=1)


def event(number: int, logical_id: str = "api", *, stack: str = PARENT,
          resource_type: str = "AWS::CloudFormation::Stack", physical_id: str | None = None,
          status: str = "UPDATE_IN_PROGRESS") -> dict[str, Any]:
    return {"StackId": stack, "EventId": f"e{number}", "StackName": "api",
            "LogicalResourceId": logical_id, "ResourceType": resource_type,
            "PhysicalResourceId": stack if physical_id is None else physical_id,
            "Timestamp": SERVER + timedelta(seconds=number), "ResourceStatus": status}


@pytest.fixture
def cfn() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("cloudformation", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def events_page(stack: str, events: list[dict[str, Any]], token: str | None = None,
                next_token: str | None = None) -> tuple[str, dict[str, Any], dict[str, Any]]:
    response: dict[str, Any] = {"StackEvents": list(reversed(events))}  # newest first
    if next_token:
        response["NextToken"] = next_token
    params: dict[str, Any] = {"StackName": stack}
    if token:
        params["NextToken"] = token
    return "describe_stack_events", response, params


# (event id, its time, watermark, of an earlier operation?)
WATERMARK_TABLE: list[tuple[str, int, Watermark, bool]] = [
    ("e5", 5, Watermark(), False),  # a new stack: every event is this operation's
    ("e5", 5, Watermark("e5", SERVER + timedelta(seconds=5)), True),
    ("e4", 4, Watermark("e5", SERVER + timedelta(seconds=5)), True),
    ("e6", 6, Watermark("e5", SERVER + timedelta(seconds=5)), False),
    # A nested stack's old event, older than the parent's newest one.
    ("n1", 3, Watermark("e5", SERVER + timedelta(seconds=5)), True),
]


@pytest.mark.parametrize(("event_id", "second", "watermark", "before"), WATERMARK_TABLE)
def test_watermark(event_id: str, second: int, watermark: Watermark, before: bool) -> None:
    assert watermark.is_before(event_id, SERVER + timedelta(seconds=second)) is before


def test_events_across_pages_down_to_the_watermark_on_the_servers_clock(
        cfn: tuple[Any, Stubber]) -> None:
    client, stub = cfn
    old = [event(n) for n in range(1, 4)]
    stub.add_response(*events_page(PARENT, old, next_token="t"))  # mark: the newest only
    follower = EventFollower(client, PARENT)
    assert follower.mark() == Watermark("e3", SERVER + timedelta(seconds=3))

    new = [event(n, f"R{n}", resource_type="AWS::EC2::VPC", physical_id=f"vpc-{n}")
           for n in range(4, 9)]
    # Two pages of this operation's events; the second ends in the watermark.
    stub.add_response(*events_page(PARENT, new[2:], next_token="p2"))
    stub.add_response(*events_page(PARENT, [*old, *new[:2]], token="p2", next_token="p3"))
    shown = follower.poll(discover=False)
    assert [e.event_id for e in shown] == ["e4", "e5", "e6", "e7", "e8"]

    # Nothing new: one page, stopped at the first event already shown.
    stub.add_response(*events_page(PARENT, [*old, *new], next_token="more"))
    assert follower.poll(discover=False) == []


def test_a_nested_stack_is_followed_from_its_event_without_listing_resources(
        cfn: tuple[Any, Stubber]) -> None:
    client, stub = cfn
    follower = EventFollower(client, PARENT)
    follower.watermark = Watermark("e0", SERVER)
    stub.add_response(*events_page(PARENT, [event(1, "ClusterStack", physical_id=CHILD)]))
    stub.add_response(*events_page(CHILD, [
        event(0, "old", stack=CHILD, status="UPDATE_COMPLETE"),  # an earlier operation's
        event(2, "api-ClusterStack-X", stack=CHILD)]))
    shown = follower.poll()  # no ListStackResources answer is stubbed: none may be made
    assert [(e.stack_label, e.event_id) for e in shown] == [("(parent)", "e1"),
                                                            ("ClusterStack", "e2")]
    assert follower.listings == 0
    assert follower.stacks[CHILD] == ("ClusterStack", 1)


def test_resources_are_listed_only_when_the_parents_own_status_changed(
        cfn: tuple[Any, Stubber]) -> None:
    client, stub = cfn
    follower = EventFollower(client, PARENT)
    follower.watermark = Watermark("e0", SERVER)
    stub.add_response(*events_page(PARENT, [event(1)]))  # the parent's own status event
    stub.add_response("list_stack_resources", {"StackResourceSummaries": []},
                      {"StackName": PARENT})
    follower.poll()
    resource_event = event(2, "Bucket", resource_type="AWS::S3::Bucket", physical_id="b")
    for _ in range(3):  # polls with a resource event or none: no listing
        stub.add_response(*events_page(PARENT, [event(1), resource_event]))
        follower.poll()
    assert follower.listings == 1


def test_change_sets_are_read_across_pages(cfn: tuple[Any, Stubber]) -> None:
    client, stub = cfn

    def summary(name: str) -> dict[str, Any]:
        return {"StackId": PARENT, "ChangeSetName": name, "ChangeSetId": f"{PARENT}/{name}",
                "ExecutionStatus": "AVAILABLE"}

    stub.add_response("list_change_sets", {"Summaries": [summary("a")], "NextToken": "2"},
                      {"StackName": PARENT})
    stub.add_response("list_change_sets", {"Summaries": [summary("b")]},
                      {"StackName": PARENT, "NextToken": "2"})
    assert [s["ChangeSetName"] for s in change_sets_of(client, PARENT)] == ["a", "b"]


def test_throttling_slows_the_follow_down_instead_of_ending_it(
        cfn: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch) -> None:
    from blueprint.aws.stacks import wait_for_stack

    client, stub = cfn
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    stack = {"StackName": "api", "StackId": PARENT, "CreationTime": SERVER}
    stub.add_client_error("describe_stacks", "Throttling", http_status_code=400)
    stub.add_client_error("describe_stacks", "Throttling", http_status_code=400)
    stub.add_response("describe_stacks", {"Stacks": [{**stack,
                                                      "StackStatus": "UPDATE_COMPLETE"}]})
    stub.add_response(*events_page(PARENT, []))
    follower = EventFollower(client, PARENT)
    status = wait_for_stack(client, PARENT, on_events=lambda events: None, follower=follower,
                            poll=2.0)
    assert status == "UPDATE_COMPLETE"
    assert slept == [4.0, 8.0]
