"""Environments on the cloud commands, end to end against the local endpoint.

The local endpoint's account id is fixed (moto's 123456789012), so an environment
pinned to another account is the wrong-profile incident: it must be refused
before anything exists (no bucket, no stack, no change set). What exists is
asserted through the AWS APIs, not through blueprint's own output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from blueprint.cli import main
from blueprint.local_aws.server import LocalAws

LOCAL_ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"

BASE = """\
blueprint: v1
name: shop
tags: {team: payments}
network: {availabilityZones: 2, natGateways: single}
cluster: {instanceType: t3.large, maxSize: 4}
service:
  name: web
  image: public.ecr.aws/docker/library/nginx:1.27
  desiredCount: 2
loadBalancer: {protocol: HTTP}
"""

TWO_LOCAL = BASE + f"""\
environments:
  dev:
    account: "{LOCAL_ACCOUNT}"
    region: us-east-1
    overrides:
      service: {{desiredCount: 1}}
  staging:
    account: "{LOCAL_ACCOUNT}"
    region: us-east-1
    overrides:
      service: {{desiredCount: 3}}
"""

DEV_AND_FOREIGN_PROD = BASE + f"""\
environments:
  dev:
    account: "{LOCAL_ACCOUNT}"
    region: us-east-1
  prod:
    account: "{OTHER_ACCOUNT}"
    region: us-east-1
    overrides:
      service: {{desiredCount: 4}}
"""


@pytest.fixture
def endpoint(local_aws_server: LocalAws) -> str:
    local_aws_server.reset()
    return local_aws_server.endpoint_url


def client(endpoint: str, service: str, region: str = "us-east-1") -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=region)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, " ".join((out + err).split())  # rich wraps long lines


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "shop.blueprint.yml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def live_stacks(endpoint: str, region: str = "us-east-1") -> dict[str, str]:
    summaries = client(endpoint, "cloudformation", region).list_stacks()["StackSummaries"]
    return {s["StackName"]: s["StackStatus"] for s in summaries
            if s["StackStatus"] != "DELETE_COMPLETE"}


def assert_nothing_created(endpoint: str, *regions: str) -> None:
    assert client(endpoint, "s3").list_buckets()["Buckets"] == []
    for region in regions:
        cfn = client(endpoint, "cloudformation", region)
        # No stack, not even one in review: a change set would have made one.
        assert cfn.list_stacks()["StackSummaries"] == []


def service_of(endpoint: str, stack: str) -> dict[str, Any]:
    cfn = client(endpoint, "cloudformation")
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}
    (service,) = client(endpoint, "ecs").describe_services(
        cluster=outputs["ClusterName"], services=[outputs["ServiceName"]])["services"]
    return dict(service)


def test_a_pin_to_another_account_refuses_before_anything_is_created(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, DEV_AND_FOREIGN_PROD)
    for command in (["deploy", "--yes"], ["plan"]):
        code, out = cli(capsys, *command, path, "--env", "prod", "--endpoint-url", endpoint)
        assert code == 1, out
        assert OTHER_ACCOUNT in out and LOCAL_ACCOUNT in out, out
        assert "pinned to account" in out
        assert_nothing_created(endpoint, "us-east-1")


def test_delete_outputs_and_status_refuse_another_account(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, DEV_AND_FOREIGN_PROD)
    # A stack of that name in the account in use: the wrong profile must not touch it.
    cfn = client(endpoint, "cloudformation")
    cfn.create_stack(StackName="shop-prod", TemplateBody=_PLACEHOLDER)
    for command in (["delete", "--yes"], ["outputs"], ["status"]):
        code, out = cli(capsys, *command, path, "--env", "prod", "--endpoint-url", endpoint)
        assert code == 1, (command, out)
        assert OTHER_ACCOUNT in out and LOCAL_ACCOUNT in out, out
    assert live_stacks(endpoint) == {"shop-prod": "CREATE_COMPLETE"}


def test_a_region_other_than_the_pin_refuses(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, DEV_AND_FOREIGN_PROD)
    for command in (["deploy", "--yes"], ["plan"], ["delete", "--yes"], ["status"]):
        code, out = cli(capsys, *command, path, "--env", "dev", "--region", "eu-west-1",
                        "--endpoint-url", endpoint)
        assert code == 1, (command, out)
        assert "pinned to region us-east-1" in out and "eu-west-1" in out, out
    assert_nothing_created(endpoint, "us-east-1", "eu-west-1")


def test_the_pinned_region_wins_over_the_environment_variables(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    path = write(tmp_path, DEV_AND_FOREIGN_PROD)
    code, out = cli(capsys, "plan", path, "--env", "dev", "--endpoint-url", endpoint)
    assert code == 0, out
    assert "region us-east-1 (pinned by environment dev)" in out
    # plan leaves nothing behind but the artifact bucket, in the pinned region
    assert live_stacks(endpoint, "eu-west-1") == {}
    (bucket,) = client(endpoint, "s3").list_buckets()["Buckets"]
    assert bucket["Name"].endswith("-us-east-1")


def test_two_environments_side_by_side_then_one_deleted(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, TWO_LOCAL)
    for env in ("dev", "staging"):
        code, out = cli(capsys, "deploy", path, "--env", env, "--endpoint-url", endpoint,
                        "--yes")
        assert code == 0, out
        assert f"shop-{env}: CREATE_COMPLETE" in out
        assert f"region us-east-1 (pinned by environment {env})" in out
    assert live_stacks(endpoint).keys() >= {"shop-dev", "shop-staging"}
    assert service_of(endpoint, "shop-dev")["desiredCount"] == 1
    assert service_of(endpoint, "shop-staging")["desiredCount"] == 3
    cfn = client(endpoint, "cloudformation")
    tags = {t["Key"]: t["Value"]
            for t in cfn.describe_stacks(StackName="shop-staging")["Stacks"][0]["Tags"]}
    assert tags["environment"] == "staging" and tags["team"] == "payments"

    code, out = cli(capsys, "outputs", path, "--env", "dev", "--endpoint-url", endpoint,
                    "--json")
    assert code == 0, out
    code, out = cli(capsys, "delete", path, "--env", "staging", "--endpoint-url", endpoint,
                    "--yes")
    assert code == 0, out
    assert "shop-staging: deleted" in out

    remaining = live_stacks(endpoint)
    assert "shop-staging" not in remaining
    assert remaining["shop-dev"] == "CREATE_COMPLETE"
    assert service_of(endpoint, "shop-dev")["status"] == "ACTIVE"
    code, out = cli(capsys, "status", path, "--env", "dev", "--endpoint-url", endpoint)
    assert code == 0 and "CREATE_COMPLETE" in out, out
    code, out = cli(capsys, "status", path, "--env", "staging", "--endpoint-url", endpoint)
    assert code == 0 and "shop-staging: not deployed" in out, out


@pytest.mark.parametrize("command", [["plan"], ["deploy", "--yes"], ["outputs"], ["status"],
                                     ["delete", "--yes"]])
def test_cloud_commands_without_env_exit_2_listing_the_environments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    path = write(tmp_path, DEV_AND_FOREIGN_PROD)
    # No endpoint is reached: the refusal comes before any AWS call.
    code, out = cli(capsys, *command, path, "--endpoint-url", "http://127.0.0.1:9")
    assert code == 2, out
    assert "has environments dev, prod" in out and "--env" in out
    code, out = cli(capsys, *command, path, "--env", "prdo", "--endpoint-url",
                    "http://127.0.0.1:9")
    assert code == 2, out
    assert "did you mean 'prod'" in out


def test_delete_turns_off_load_balancer_deletion_protection_first(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from blueprint import deploy_flow

    path = write(tmp_path, TWO_LOCAL)
    code, out = cli(capsys, "deploy", path, "--env", "dev", "--endpoint-url", endpoint, "--yes")
    assert code == 0, out
    elbv2 = client(endpoint, "elbv2")
    (load_balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    arn = load_balancer["LoadBalancerArn"]
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
        {"Key": "deletion_protection.enabled", "Value": "true"}])

    def protection() -> str:
        attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
        return str(next(a["Value"] for a in attributes
                        if a["Key"] == "deletion_protection.enabled"))

    from blueprint.commands import delete

    monkeypatch.setattr(delete, "confirm", lambda question, *, assume_yes: False)
    code, out = cli(capsys, "delete", path, "--env", "dev", "--endpoint-url", endpoint)
    assert code == 4, out
    assert protection() == "true", "declining must leave the protection as it was"
    monkeypatch.undo()

    # Protection is also set through the API, so the test does not depend on the template.
    seen_at_delete: list[str] = []
    real_delete = deploy_flow.delete_stack

    def recording_delete(*args: Any, **kwargs: Any) -> str:
        seen_at_delete.append(protection())
        return real_delete(*args, **kwargs)

    monkeypatch.setattr(deploy_flow, "delete_stack", recording_delete)
    code, out = cli(capsys, "delete", path, "--env", "dev", "--endpoint-url", endpoint, "--yes")
    assert code == 0, out
    assert seen_at_delete == ["false"]
    assert "turned off deletion protection of load balancer ServiceStack/" in out
    assert arn in out
    assert live_stacks(endpoint) == {}


_PLACEHOLDER = """
Resources:
  Placeholder:
    Type: AWS::Logs::LogGroup
"""
