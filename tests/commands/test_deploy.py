"""End to end: the cloud commands against a moto server on 127.0.0.1 started by the tests.

The deployed state is asserted through the ECS, EC2 and ELBv2 APIs, not
through blueprint's own output.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from blueprint.cli import main
from blueprint.local_aws.server import LocalAws

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEED = (EXAMPLES / "seed.blueprint.yml").read_text(encoding="utf-8")
STACK = "api-environment"


@pytest.fixture
def endpoint(local_aws_server: LocalAws) -> str:
    local_aws_server.reset()
    return local_aws_server.endpoint_url


def pending_change_sets(endpoint: str) -> list[str]:
    """Change sets still waiting to be executed (executed ones are history)."""
    summaries = client(endpoint, "cloudformation").list_change_sets(StackName=STACK)["Summaries"]
    return [s["ChangeSetName"] for s in summaries
            if s.get("ExecutionStatus") in ("AVAILABLE", "UNAVAILABLE")]


def client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


def blueprint_file(tmp_path: Path, text: str = SEED, name: str = "env.blueprint.yml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def stack_outputs(endpoint: str) -> dict[str, str]:
    stack = client(endpoint, "cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def nested_stack(endpoint: str, logical_id: str) -> str:
    cfn = client(endpoint, "cloudformation")
    resources = cfn.describe_stack_resources(StackName=STACK)["StackResources"]
    return next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == logical_id)


def ecs_service(endpoint: str) -> dict[str, Any]:
    ecs = client(endpoint, "ecs")
    cluster = stack_outputs(endpoint)["ClusterName"]
    services = ecs.describe_services(cluster=cluster, services=["web"])["services"]
    assert len(services) == 1
    return dict(services[0])


def test_full_cycle(tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = blueprint_file(tmp_path)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    code, out = cli(capsys, "deploy", path, "--endpoint-url", endpoint, "--yes")
    timings["deploy"] = time.perf_counter() - started
    assert code == 0, out
    assert "CREATE_COMPLETE" in out
    url = stack_outputs(endpoint)["ServiceUrl"]
    assert url.startswith("http://") and url in out

    _assert_deployed_state(endpoint)

    code, out = cli(capsys, "deploy", path, "--endpoint-url", endpoint, "--yes")
    assert code == 0, out
    assert "No changes" in out
    cfn = client(endpoint, "cloudformation")
    assert pending_change_sets(endpoint) == []

    scaled = blueprint_file(tmp_path, SEED.replace("desiredCount: 2", "desiredCount: 3"))
    code, out = cli(capsys, "plan", scaled, "--endpoint-url", endpoint)
    assert code == 0, out
    assert "Modify" in out and "ServiceStack" in out
    assert ecs_service(endpoint)["desiredCount"] == 2, "plan must not change anything"
    assert pending_change_sets(endpoint) == []

    code, out = cli(capsys, "deploy", scaled, "--endpoint-url", endpoint, "--yes")
    assert code == 0, out
    assert "UPDATE_COMPLETE" in out
    assert ecs_service(endpoint)["desiredCount"] == 3

    code, out = cli(capsys, "outputs", scaled, "--endpoint-url", endpoint, "--json")
    assert code == 0, out
    assert f'"ServiceUrl": "{url}"' in out

    code, out = cli(capsys, "status", scaled, "--endpoint-url", endpoint)
    assert code == 0, out
    assert "UPDATE_COMPLETE" in out and "ServiceStack" in out

    started = time.perf_counter()
    code, out = cli(capsys, "delete", scaled, "--endpoint-url", endpoint, "--yes")
    timings["delete"] = time.perf_counter() - started
    assert code == 0, out
    remaining = [s for s in cfn.list_stacks()["StackSummaries"]
                 if s["StackStatus"] != "DELETE_COMPLETE"]
    assert remaining == []
    print(f"\nlocal endpoint wall time: deploy {timings['deploy']:.2f} s, "
          f"delete {timings['delete']:.2f} s")


def _assert_deployed_state(endpoint: str) -> None:
    ec2, elbv2, ecs = (client(endpoint, s) for s in ("ec2", "elbv2", "ecs"))
    service = ecs_service(endpoint)
    task_definition = ecs.describe_task_definition(
        taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert task_definition["networkMode"] == "awsvpc"

    awsvpc = service["networkConfiguration"]["awsvpcConfiguration"]
    assert awsvpc["assignPublicIp"] == "DISABLED"

    vpc_outputs = {o["OutputKey"]: o["OutputValue"] for o in client(
        endpoint, "cloudformation").describe_stacks(
        StackName=nested_stack(endpoint, "VpcStack"))["Stacks"][0]["Outputs"]}
    private = set(vpc_outputs["PrivateSubnetIds"].split(","))
    public = set(vpc_outputs["PublicSubnetIds"].split(","))
    assert set(awsvpc["subnets"]) == private and not private & public
    subnets = ec2.describe_subnets(SubnetIds=sorted(private))["Subnets"]
    assert {s["VpcId"] for s in subnets} == {vpc_outputs["VpcId"]}

    load_balancers = elbv2.describe_load_balancers()["LoadBalancers"]
    assert len(load_balancers) == 1
    load_balancer = load_balancers[0]
    assert load_balancer["Scheme"] == "internet-facing"
    alb_groups = set(load_balancer["SecurityGroups"])

    (service_group,) = awsvpc["securityGroups"]
    group = ec2.describe_security_groups(GroupIds=[service_group])["SecurityGroups"][0]
    assert group["IpPermissions"], "the service must admit the load balancer"
    for permission in group["IpPermissions"]:
        assert permission["IpRanges"] == [] and permission.get("Ipv6Ranges", []) == []
        assert {p["GroupId"] for p in permission["UserIdGroupPairs"]} <= alb_groups
        assert permission["IpProtocol"] == "tcp"
        assert permission["FromPort"] == permission["ToPort"] == 80

    templates = ec2.describe_launch_templates()["LaunchTemplates"]
    assert templates
    for template in templates:
        versions = ec2.describe_launch_template_versions(
            LaunchTemplateId=template["LaunchTemplateId"])["LaunchTemplateVersions"]
        for version in versions:
            options = version["LaunchTemplateData"]["MetadataOptions"]
            assert options["HttpTokens"] == "required"


def test_a_failing_resource_prints_its_root_cause(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The certificate does not exist in ACM, so the HTTPS listener cannot be created.
    path = str(EXAMPLES / "orders-https.blueprint.yml")
    code, out = cli(capsys, "deploy", path, "--endpoint-url", endpoint, "--yes")
    assert code == 1, out
    assert "Root cause" in out and "certificate" in out.lower()


def test_concurrent_deploy_is_refused(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import botocore.exceptions

    cfn = client(endpoint, "cloudformation")
    # On the local endpoint a resource that fails leaves its stack CREATE_IN_PROGRESS:
    # exactly what another deploy still running looks like.
    with pytest.raises(botocore.exceptions.ClientError):
        cfn.create_stack(StackName=STACK, TemplateBody=_STUCK_TEMPLATE)
    assert cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"].endswith(
        "_IN_PROGRESS")
    code, out = cli(capsys, "deploy", blueprint_file(tmp_path), "--endpoint-url", endpoint,
                    "--yes")
    assert code == 1, out
    assert "in progress" in out.lower() or "IN_PROGRESS" in out
    assert "refusing" in out


def test_rolled_back_stack_is_deleted_then_created(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from blueprint.aws import stacks

    cfn = client(endpoint, "cloudformation")
    cfn.create_stack(StackName=STACK, TemplateBody=_EMPTY_TEMPLATE)
    real = stacks.describe_stack
    calls = {"n": 0}

    def first_seen_rolled_back(cfn_client: Any, name: str) -> dict[str, Any] | None:
        # moto has no rollback, so the first look reports the state AWS would.
        found = real(cfn_client, name)
        calls["n"] += 1
        if calls["n"] == 1 and found is not None:
            return {**found, "StackStatus": "ROLLBACK_COMPLETE"}
        return found

    monkeypatch.setattr(stacks, "describe_stack", first_seen_rolled_back)
    code, out = cli(capsys, "deploy", blueprint_file(tmp_path), "--endpoint-url", endpoint,
                    "--yes")
    assert code == 0, out
    assert "ROLLBACK_COMPLETE" in out and "CREATE_COMPLETE" in out
    assert "Service URL" in out


def test_update_rollback_failed_gives_recovery_instructions(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from blueprint.aws import stacks

    cfn = client(endpoint, "cloudformation")
    cfn.create_stack(StackName=STACK, TemplateBody=_EMPTY_TEMPLATE)
    real = stacks.describe_stack
    monkeypatch.setattr(stacks, "describe_stack", lambda c, n: {
        **(real(c, n) or {}), "StackStatus": "UPDATE_ROLLBACK_FAILED"})
    code, out = cli(capsys, "deploy", blueprint_file(tmp_path), "--endpoint-url", endpoint,
                    "--yes")
    assert code == 1, out
    assert f"continue-update-rollback --stack-name {STACK}" in out


def test_unreachable_endpoint_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], local_aws_server: LocalAws
) -> None:
    code, out = cli(capsys, "status", blueprint_file(tmp_path), "--endpoint-url",
                    "http://127.0.0.1:9")
    assert code == 2, out
    assert "cannot reach http://127.0.0.1:9" in out


def test_missing_credentials_are_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_SECURITY_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, out = cli(capsys, "status", blueprint_file(tmp_path), "--region", "us-east-1")
    assert code == 2, out
    assert "no AWS credentials found" in out


def test_deploy_refuses_a_blueprint_that_fails_validation(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = blueprint_file(tmp_path, SEED.replace("instanceType: c5.xlarge",
                                                "instanceType: p3.2xlarge"))
    code, out = cli(capsys, "deploy", bad, "--endpoint-url", endpoint, "--yes")
    assert code == 1, out
    assert "BP107" in out and "nothing was deployed" in out
    assert client(endpoint, "cloudformation").list_stacks()["StackSummaries"] == []


_EMPTY_TEMPLATE = """
Resources:
  Placeholder:
    Type: AWS::Logs::LogGroup
"""

_STUCK_TEMPLATE = """
Resources:
  Orphan:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: vpc-00000000000000000, CidrBlock: 10.9.0.0/24}
"""


def test_ctrl_c_before_execution_leaves_no_change_set_behind(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from blueprint.commands import deploy

    def interrupted(question: str, *, assume_yes: bool) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(deploy, "confirm", interrupted)
    code, out = cli(capsys, "deploy", blueprint_file(tmp_path), "--endpoint-url", endpoint)
    assert code == 130, out
    assert "change set was removed" in out
    cfn = client(endpoint, "cloudformation")
    live = [s for s in cfn.list_stacks()["StackSummaries"]
            if s["StackStatus"] != "DELETE_COMPLETE"]
    assert live == [], "the empty REVIEW_IN_PROGRESS stack of a CREATE change set must go too"


def test_leftover_review_in_progress_stack_is_cleaned_up(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfn = client(endpoint, "cloudformation")
    cfn.create_change_set(StackName=STACK, ChangeSetName="abandoned", ChangeSetType="CREATE",
                          TemplateBody=_EMPTY_TEMPLATE)
    assert cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == \
        "REVIEW_IN_PROGRESS"
    code, out = cli(capsys, "deploy", blueprint_file(tmp_path), "--endpoint-url", endpoint,
                    "--yes")
    assert code == 0, out
    assert "REVIEW_IN_PROGRESS" in out and "CREATE_COMPLETE" in out


def test_stale_change_sets_are_cleaned_up_and_fresh_ones_respected(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from blueprint import deployer

    path = blueprint_file(tmp_path)
    assert cli(capsys, "deploy", path, "--endpoint-url", endpoint, "--yes")[0] == 0
    cfn = client(endpoint, "cloudformation")
    template = cfn.get_template(StackName=STACK, TemplateStage="Original")["TemplateBody"]
    cfn.create_change_set(StackName=STACK, ChangeSetName="blueprint-20200101000000",
                          ChangeSetType="UPDATE", TemplateBody=template,
                          Capabilities=["CAPABILITY_IAM"])
    # Just made: it may belong to a deploy still waiting for its confirmation.
    code, out = cli(capsys, "deploy", path, "--endpoint-url", endpoint, "--yes")
    assert code == 1, out
    assert "another blueprint deploy is reviewing change set blueprint-20200101000000" in out
    assert pending_change_sets(endpoint) == ["blueprint-20200101000000"]

    monkeypatch.setattr(deployer, "STALE_AFTER", timedelta(0))  # now it counts as abandoned
    code, out = cli(capsys, "deploy", path, "--endpoint-url", endpoint, "--yes")
    assert code == 0, out
    assert "removed stale change set blueprint-20200101000000" in out
    assert pending_change_sets(endpoint) == []


def test_ctrl_c_while_following_says_what_still_runs(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from blueprint.aws import stacks

    def interrupted(*args: Any, **kwargs: Any) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(stacks, "wait_for_stack", interrupted)
    path = blueprint_file(tmp_path)
    code, out = cli(capsys, "deploy", path, "--endpoint-url", endpoint, "--yes")
    assert code == 130, out
    assert "CloudFormation keeps going" in out and f"blueprint status {path}" in out


def test_malformed_endpoint_url_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], local_aws_server: LocalAws
) -> None:
    code, out = cli(capsys, "status", blueprint_file(tmp_path), "--endpoint-url", "not a url")
    assert code == 2, out
    assert "invalid AWS setting" in out


def test_a_blueprint_changed_during_validation_is_not_deployed(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from blueprint.commands import _cloud

    path = blueprint_file(tmp_path)
    real_validate = _cloud.validate

    def validate_then_edit(*args: Any, **kwargs: Any) -> Any:
        report = real_validate(*args, **kwargs)
        Path(path).write_text(SEED.replace("desiredCount: 2", "desiredCount: 7"))
        return report

    monkeypatch.setattr(_cloud, "validate", validate_then_edit)
    code, out = cli(capsys, "deploy", path, "--endpoint-url", endpoint, "--yes")
    assert code == 1, out
    assert "changed while it was being validated" in out
    assert client(endpoint, "cloudformation").list_stacks()["StackSummaries"] == []
