"""End to end: the cloud commands against a moto server on 127.0.0.1 started by the tests.

The deployed state is asserted through the ECS, EC2 and ELBv2 APIs, not
through blueprint's own output.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from blueprint.cli import main
from blueprint.local_aws.server import LocalAws

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEED = (EXAMPLES / "seed.blueprint.yml").read_text(encoding="utf-8")
SERVICE_PORT = yaml.safe_load(SEED)["service"]["port"]
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
    cfn, ecs = client(endpoint, "cloudformation"), client(endpoint, "ecs")
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

    log_group = ecs.describe_task_definition(taskDefinition=ecs_service(endpoint)[
        "taskDefinition"])["taskDefinition"]["containerDefinitions"][0]["logConfiguration"][
        "options"]["awslogs-group"]
    started = time.perf_counter()
    code, out = cli(capsys, "delete", scaled, "--endpoint-url", endpoint, "--yes")
    timings["delete"] = time.perf_counter() - started
    assert code == 0, out
    assert f"kept: log group {log_group} (DeletionPolicy Retain)" in out
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
        assert permission["FromPort"] == permission["ToPort"] == SERVICE_PORT

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
    bad = blueprint_file(tmp_path, re.sub(r"instanceTypes?: .*", "instanceType: p3.2xlarge",
                                          SEED, count=1))
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
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from blueprint import deployer

    cfn = client(endpoint, "cloudformation")
    cfn.create_change_set(StackName=STACK, ChangeSetName="abandoned", ChangeSetType="CREATE",
                          TemplateBody=_EMPTY_TEMPLATE)
    assert cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == \
        "REVIEW_IN_PROGRESS"
    monkeypatch.setattr(deployer, "STALE_AFTER", timedelta(0))  # it was abandoned long ago
    code, out = cli(capsys, "deploy", blueprint_file(tmp_path), "--endpoint-url", endpoint,
                    "--yes")
    assert code == 0, out
    assert "REVIEW_IN_PROGRESS" in out and "change set abandoned" in out
    assert "CREATE_COMPLETE" in out


def _first_deploy_waiting_at_its_prompt(endpoint: str) -> str:
    """What `blueprint deploy` of a new stack leaves while it asks "Execute?"."""
    name = "blueprint-20261201115700000000"
    client(endpoint, "cloudformation").create_change_set(
        StackName=STACK, ChangeSetName=name, ChangeSetType="CREATE",
        TemplateBody=_EMPTY_TEMPLATE, Capabilities=["CAPABILITY_IAM"],
        Description=f"blueprint deploy of {STACK} by arn:aws:iam::123456789012:user/first")
    return name


def _review_stack_and_its_change_sets(endpoint: str) -> list[tuple[str, list[str]]]:
    cfn = client(endpoint, "cloudformation")
    live = [s for s in cfn.list_stacks()["StackSummaries"]
            if s["StackStatus"] != "DELETE_COMPLETE"]
    return [(s["StackStatus"], [c["ChangeSetName"]
                                for c in cfn.list_change_sets(StackName=s["StackId"])["Summaries"]
                                if c["StackId"] == s["StackId"]]) for s in live]


@pytest.mark.parametrize("command", [("deploy", "--yes"), ("plan",)])
def test_a_first_deploy_waiting_at_its_prompt_is_left_alone(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
    command: tuple[str, ...],
) -> None:
    waiting = _first_deploy_waiting_at_its_prompt(endpoint)
    code, out = cli(capsys, command[0], blueprint_file(tmp_path), "--endpoint-url", endpoint,
                    *command[1:])
    assert code == 1, out
    assert f"change set {waiting} of a blueprint deploy by " \
           "arn:aws:iam::123456789012:user/first, created" in out
    assert " s ago (" in out or " min ago (" in out
    assert "refusing" in out
    assert _review_stack_and_its_change_sets(endpoint) == [("REVIEW_IN_PROGRESS", [waiting])]


def test_plan_beside_an_abandoned_first_deploy_deletes_nothing_of_it(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from blueprint import deployer

    waiting = _first_deploy_waiting_at_its_prompt(endpoint)
    monkeypatch.setattr(deployer, "STALE_AFTER", timedelta(0))  # abandoned long ago
    code, out = cli(capsys, "plan", blueprint_file(tmp_path), "--endpoint-url", endpoint)
    assert code == 0, out
    assert "CREATE" in out and "ServiceStack" in out
    assert _review_stack_and_its_change_sets(endpoint) == [("REVIEW_IN_PROGRESS", [waiting])]


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
    assert "waiting for its confirmation (change set blueprint-20200101000000" in out
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
    real_check = _cloud.check_blueprint

    def check_then_edit(*args: Any, **kwargs: Any) -> Any:
        checked = real_check(*args, **kwargs)
        Path(path).write_text(SEED.replace("desiredCount: 2", "desiredCount: 7"))
        return checked

    monkeypatch.setattr(_cloud, "check_blueprint", check_then_edit)
    code, out = cli(capsys, "deploy", path, "--endpoint-url", endpoint, "--yes")
    assert code == 1, out
    assert "changed after it was validated" in out
    assert client(endpoint, "cloudformation").list_stacks()["StackSummaries"] == []


def test_plan_uploads_exactly_the_checked_rendering(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses

    from blueprint import deploy_flow
    from blueprint.aws import artifacts
    from blueprint.commands import _cloud

    real_check, real_upload = _cloud.check_blueprint, artifacts.upload_templates
    real_parent = deploy_flow.parent_with_urls
    marked: dict[str, str] = {}
    uploaded: dict[str, str] = {}
    parents: list[Any] = []

    def check_and_mark(*args: Any, **kwargs: Any) -> Any:
        # A rendering no fresh render would produce: only the checked one carries it.
        checked = real_check(*args, **kwargs)
        marked.update({name: text + "# as checked\n"
                       for name, text in checked.rendering.texts.items()})
        return dataclasses.replace(checked, rendering=dataclasses.replace(
            checked.rendering, texts=marked))

    def upload(aws: Any, bucket: str, owner: str, texts: dict[str, str],
               **kwargs: Any) -> dict[str, str]:
        uploaded.update(texts)
        return real_upload(aws, bucket, owner, texts, **kwargs)

    def parent(rendering: Any, urls: dict[str, str]) -> str:
        parents.append(rendering)
        return real_parent(rendering, urls)

    monkeypatch.setattr(_cloud, "check_blueprint", check_and_mark)
    monkeypatch.setattr(artifacts, "upload_templates", upload)
    monkeypatch.setattr(deploy_flow, "parent_with_urls", parent)
    code, out = cli(capsys, "plan", blueprint_file(tmp_path), "--endpoint-url", endpoint)
    assert code == 0, out
    assert uploaded == {name: text for name, text in marked.items() if name != "parent.yml"}
    assert len(parents) == 1 and parents[0].texts is marked


@pytest.mark.parametrize("command", ["deploy", "delete"])
def test_declining_a_confirmation_exits_4_and_changes_nothing(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, command: str,
) -> None:
    from blueprint.commands import delete, deploy

    def answer_no(question: str, *, assume_yes: bool) -> bool:
        return False

    monkeypatch.setattr(deploy, "confirm", answer_no)
    monkeypatch.setattr(delete, "confirm", answer_no)
    cfn = client(endpoint, "cloudformation")
    if command == "delete":
        cfn.create_stack(StackName=STACK, TemplateBody=_EMPTY_TEMPLATE)
    before = _review_stack_and_its_change_sets(endpoint)
    code, out = cli(capsys, command, blueprint_file(tmp_path), "--endpoint-url", endpoint)
    assert code == 4, out
    assert "Not executed" in out if command == "deploy" else "Not deleted" in out
    assert _review_stack_and_its_change_sets(endpoint) == before


# ------------------------------------------------ replacements need their own consent


def _with_a_replacement(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local endpoint reports no Replacement; AWS would for, e.g., a new target port."""
    from blueprint.aws import stacks

    real = stacks.describe_changes

    def describe_changes(*args: Any, **kwargs: Any) -> Any:
        yield from real(*args, **kwargs)
        if kwargs.get("depth", 0) == 0 and len(args) < 4:
            yield stacks.Change("ServiceStack", "Modify", "TargetGroup",
                                "AWS::ElasticLoadBalancingV2::TargetGroup", "True")

    monkeypatch.setattr(stacks, "describe_changes", describe_changes)


def test_a_replacement_needs_allow_replace_in_a_pipeline(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = blueprint_file(tmp_path)
    assert cli(capsys, "deploy", path, "--endpoint-url", endpoint, "--yes")[0] == 0
    scaled = blueprint_file(tmp_path, SEED.replace("desiredCount: 2", "desiredCount: 3"))
    _with_a_replacement(monkeypatch)

    code, out = cli(capsys, "plan", scaled, "--endpoint-url", endpoint)
    assert code == 0, out
    assert "REPLACEMENT of 1 stateful or disruptive resource" in out
    assert "ServiceStack/TargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup) will be " \
           "replaced" in out

    code, out = cli(capsys, "deploy", scaled, "--endpoint-url", endpoint, "--yes")
    assert code == 1, out  # a refusal: nobody agreed to the replacement
    assert "--allow-replace" in out and "not executed" in out
    assert ecs_service(endpoint)["desiredCount"] == 2
    assert pending_change_sets(endpoint) == []

    code, out = cli(capsys, "deploy", scaled, "--endpoint-url", endpoint, "--yes",
                    "--allow-replace")
    assert code == 0, out
    assert ecs_service(endpoint)["desiredCount"] == 3


@pytest.mark.parametrize(("answers", "code"), [((True, True), None), ((True, False), 4),
                                               ((False,), 4)])
def test_a_terminal_is_asked_again_before_a_replacement_even_with_yes(
    monkeypatch: pytest.MonkeyPatch, answers: tuple[bool, ...], code: int | None,
) -> None:
    from blueprint.aws.stacks import Change, ChangeSet
    from blueprint.commands import deploy
    from blueprint.deployer import Plan

    asked: list[tuple[str, bool]] = []
    replies = iter(answers)

    def confirm(question: str, *, assume_yes: bool) -> bool:
        asked.append((question, assume_yes))
        return next(replies)

    monkeypatch.setattr(deploy, "confirm", confirm)
    monkeypatch.setattr(deploy, "interactive", lambda: True)
    plan = Plan("api", "UPDATE", ChangeSet("arn", "id", "CREATE_COMPLETE", "", [
        Change("ClusterStack", "Modify", "ECSAutoScalingGroup",
               "AWS::AutoScaling::AutoScalingGroup", "True")]), no_changes=False)
    agreed = confirm("Execute this change set on api?", assume_yes=True) and \
        deploy._replacements_agreed(plan, allow_replace=False)
    assert agreed is (code is None)
    if answers[0]:
        question, assume_yes = asked[-1]
        assert "REPLACES ClusterStack/ECSAutoScalingGroup" in question and not assume_yes


# ------------------------------------------------ what cannot work in the region, refused early


def test_zones_and_certificate_of_another_region_are_refused_before_any_upload(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
) -> None:
    # orders-https wants 3 zones and has a us-east-1 certificate; us-west-1 has 2 zones.
    path = str(EXAMPLES / "orders-https.blueprint.yml")
    code, out = cli(capsys, "deploy", path, "--endpoint-url", endpoint, "--region",
                    "us-west-1", "--yes")
    assert code == 1, out
    assert "region us-west-1 (from --region)" in out
    assert "availabilityZones is 3, but us-west-1 has only 2" in out
    assert "certificate" in out and "is in us-east-1, the stack in us-west-1" in out
    assert "nothing was uploaded" in out
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-west-1")
    assert s3.list_buckets()["Buckets"] == []
    cfn = boto3.client("cloudformation", endpoint_url=endpoint, region_name="us-west-1")
    assert cfn.list_stacks()["StackSummaries"] == []


def test_an_artifact_bucket_in_another_region_is_refused(
    tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str],
) -> None:
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket="team-artifacts",
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    code, out = cli(capsys, "plan", blueprint_file(tmp_path), "--endpoint-url", endpoint,
                    "--region", "us-east-1", "--bucket", "team-artifacts")
    assert code == 2, out
    assert "team-artifacts is in eu-west-1, the stack in us-east-1" in out
    assert s3.list_objects_v2(Bucket="team-artifacts").get("KeyCount", 0) == 0


# ------------------------------------------------------------------ DELETE_FAILED


class _StuckCfn:
    """A stack whose delete failed, with one resource still there."""

    def get_paginator(self, operation: str) -> Any:
        class Pages:
            def paginate(self, StackName: str) -> list[dict[str, Any]]:
                return [{"StackResourceSummaries": [{
                    "LogicalResourceId": "PublicSubnetOne", "ResourceType": "AWS::EC2::Subnet",
                    "PhysicalResourceId": "subnet-1", "ResourceStatus": "DELETE_FAILED",
                    "ResourceStatusReason": "has dependencies and cannot be deleted"}]}]

        return Pages()


def test_a_delete_failed_stack_is_refused_naming_what_is_left_and_the_remedy() -> None:
    from datetime import datetime, timezone

    from blueprint.aws.stacks import StackStateError
    from blueprint.deploy_flow import settle_stack
    from blueprint.deployer import decide

    class Aws:
        def cloudformation(self) -> _StuckCfn:
            return _StuckCfn()

    stack = {"StackName": STACK, "StackId": "arn:stack/1", "StackStatus": "DELETE_FAILED"}
    decision = decide(stack, [], datetime.now(timezone.utc), read_only=False)  # type: ignore[arg-type]
    with pytest.raises(StackStateError) as caught:
        settle_stack(Aws(), decision, ui=None, confirm_delete=pytest.fail)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "DELETE_FAILED: only another delete can move it" in message
    assert "still there: (parent)/PublicSubnetOne (AWS::EC2::Subnet subnet-1): has " \
           "dependencies" in message
    assert "blueprint delete" in message and caught.value.exit_code == 1
