"""End to end: the nested ECS-on-EC2 deployment through change sets on the local endpoint,
with the deployed state checked through the ECS, EC2 and ELBv2 APIs."""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

import pytest
from _local_aws_support import CAPABILITIES, FAST_WAITER, FIXTURES, TIMINGS
from botocore.exceptions import ClientError

from blueprint.local_aws.server import LocalAws

BUCKET = "blueprint-templates"
CHILDREN = ("vpc.yml", "cluster.yml", "service.yml")


def upload_children(aws: LocalAws, service_body: str | None = None) -> str:
    """Upload the child templates as the deployer does (content-addressed keys, so an
    unchanged child keeps its URL); return the parent template with its TemplateURLs
    rewritten to the uploaded objects. ``service_body`` replaces the service template."""
    s3 = aws.client("s3")
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    parent = (FIXTURES / "parent.yml").read_text()
    for name in CHILDREN:
        body = (FIXTURES / name).read_text()
        if name == "service.yml" and service_body is not None:
            body = service_body
        key = f"{hashlib.sha256(body.encode()).hexdigest()[:16]}/{name}"
        s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode())
        parent = parent.replace(
            f"TemplateURL: {name}", f"TemplateURL: {aws.template_url(BUCKET, key)}"
        )
    return parent


def outputs(cfn: Any, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs") or []}


def nested(cfn: Any, stack: str) -> dict[str, str]:
    """logical id -> physical id (the child stack name) of the nested stacks."""
    return {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
        if r["ResourceType"] == "AWS::CloudFormation::Stack"
    }


def run_change_set(cfn: Any, stack: str, body: str, kind: str, name: str) -> dict[str, Any]:
    created = cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        TemplateBody=body,
        ChangeSetType=kind,
        IncludeNestedStacks=True,
        Capabilities=CAPABILITIES,
    )
    cfn.get_waiter("change_set_create_complete").wait(
        ChangeSetName=created["Id"], StackName=stack, WaiterConfig=FAST_WAITER
    )
    described: dict[str, Any] = cfn.describe_change_set(ChangeSetName=created["Id"])
    cfn.execute_change_set(ChangeSetName=created["Id"])
    waiter = "stack_create_complete" if kind == "CREATE" else "stack_update_complete"
    cfn.get_waiter(waiter).wait(StackName=stack, WaiterConfig=FAST_WAITER)
    return described


def test_nested_deploy_update_delete(aws: LocalAws, cfn: Any) -> None:
    ecs, ec2, elbv2 = aws.client("ecs"), aws.client("ec2"), aws.client("elbv2")
    parent = upload_children(aws)

    # --- create through a CREATE change set -------------------------------------------
    started = time.perf_counter()
    change_set = run_change_set(cfn, "demo", parent, "CREATE", "create-1")
    TIMINGS["nested deploy, create+execute change set (s)"] = time.perf_counter() - started

    actions = {
        c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]["Action"]
        for c in change_set["Changes"]
    }
    assert actions == {"VpcStack": "Add", "ClusterStack": "Add", "ServiceStack": "Add"}
    stack = cfn.describe_stacks(StackName="demo")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    parent_outputs = outputs(cfn, "demo")
    assert parent_outputs["ServiceUrl"].startswith("http://")
    assert parent_outputs["ServiceUrl"].endswith(".elb.amazonaws.com")

    children = nested(cfn, "demo")
    assert set(children) == {"VpcStack", "ClusterStack", "ServiceStack"}
    for child in children.values():
        assert cfn.describe_stacks(StackName=child)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    vpc_out = outputs(cfn, children["VpcStack"])
    cluster_out = outputs(cfn, children["ClusterStack"])
    private_subnets = vpc_out["PrivateSubnetIds"].split(",")

    # --- deployed state through the service APIs ----------------------------------------
    cluster = cluster_out["ClusterName"]
    assert parent_outputs["ClusterName"] == cluster
    service_arns = ecs.list_services(cluster=cluster)["serviceArns"]
    assert len(service_arns) == 1
    service = ecs.describe_services(cluster=cluster, services=service_arns)["services"][0]
    assert service["desiredCount"] == 2
    awsvpc = service["networkConfiguration"]["awsvpcConfiguration"]
    assert awsvpc["assignPublicIp"] == "DISABLED"
    assert sorted(awsvpc["subnets"]) == sorted(private_subnets)
    assert (
        service["capacityProviderStrategy"][0]["capacityProvider"]
        == cluster_out["CapacityProvider"]
    )
    assert "launchType" not in service

    task_def = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])[
        "taskDefinition"
    ]
    assert task_def["networkMode"] == "awsvpc"
    assert task_def["requiresCompatibilities"] == ["EC2"]
    assert task_def["executionRoleArn"] == cluster_out["ECSTaskExecutionRole"]

    described_cluster = ecs.describe_clusters(clusters=[cluster])["clusters"][0]
    assert described_cluster["capacityProviders"] == [cluster_out["CapacityProvider"]]
    assert {"name": "containerInsights", "value": "enabled"} in described_cluster["settings"]

    (lb,) = elbv2.describe_load_balancers()["LoadBalancers"]
    assert lb["Scheme"] == "internet-facing"
    assert parent_outputs["ServiceUrl"] == f"http://{lb['DNSName']}"
    (alb_sg,) = lb["SecurityGroups"]
    assert {az["SubnetId"] for az in lb["AvailabilityZones"]} == set(
        vpc_out["PublicSubnetIds"].split(",")
    )

    (service_sg_id,) = awsvpc["securityGroups"]
    service_sg = ec2.describe_security_groups(GroupIds=[service_sg_id])["SecurityGroups"][0]
    sources = [
        (perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"), pair["GroupId"])
        for perm in service_sg["IpPermissions"]
        for pair in perm["UserIdGroupPairs"]
    ]
    (mapping,) = task_def["containerDefinitions"][0]["portMappings"]
    port = mapping["containerPort"]
    assert sources == [("tcp", port, port, alb_sg)]  # the container port, from the ALB only
    assert all(not perm["IpRanges"] for perm in service_sg["IpPermissions"])

    (template,) = ec2.describe_launch_templates()["LaunchTemplates"]
    version = ec2.describe_launch_template_versions(LaunchTemplateId=template["LaunchTemplateId"])[
        "LaunchTemplateVersions"
    ][0]
    assert version["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"
    # the first of the fixture's instance types (it renders a mixed-instances group)
    first_type = re.search(r"InstanceType: (\S+)", (FIXTURES / "cluster.yml").read_text())
    assert first_type is not None
    assert version["LaunchTemplateData"]["InstanceType"] == first_type.group(1)

    # --- UPDATE change set: DesiredCount 2 -> 3 ------------------------------------------
    started = time.perf_counter()
    service_template, replaced = re.subn(r"DesiredCount: '?2'?\n", "DesiredCount: 3\n",
                                         (FIXTURES / "service.yml").read_text())
    assert replaced == 1, "the fixture's service no longer has DesiredCount 2"
    updated = upload_children(aws, service_body=service_template)
    update = run_change_set(cfn, "demo", updated, "UPDATE", "update-1")
    TIMINGS["nested update, create+execute change set (s)"] = time.perf_counter() - started
    assert [
        (c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"])
        for c in update["Changes"]
    ] == [("Modify", "ServiceStack")]
    assert cfn.describe_stacks(StackName="demo")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    assert nested(cfn, "demo") == children  # updated in place, same child stacks
    service = ecs.describe_services(cluster=cluster, services=service_arns)["services"][0]
    assert service["desiredCount"] == 3
    assert service["runningCount"] == 3
    assert outputs(cfn, "demo") == parent_outputs

    # --- delete ---------------------------------------------------------------------------
    # The template turns deletion protection on (P18); as on AWS, turn it off first.
    arn = lb["LoadBalancerArn"]
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
        {"Key": "deletion_protection.enabled", "Value": "false"}])
    stack_id = stack["StackId"]
    started = time.perf_counter()
    cfn.delete_stack(StackName="demo")
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack_id, WaiterConfig=FAST_WAITER)
    TIMINGS["nested delete (s)"] = time.perf_counter() - started

    with pytest.raises(ClientError, match="does not exist"):
        cfn.describe_stacks(StackName="demo")
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    statuses = {s["StackName"]: s["StackStatus"] for s in cfn.list_stacks()["StackSummaries"]}
    assert set(statuses.values()) == {"DELETE_COMPLETE"}
    assert len(statuses) == 4
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert [v["IsDefault"] for v in ec2.describe_vpcs()["Vpcs"]] == [True]
    service = ecs.describe_services(cluster=cluster, services=service_arns)["services"][0]
    assert service["status"] == "INACTIVE"
