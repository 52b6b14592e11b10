"""The expander's provenance and wiring: every finding can be traced to a blueprint field.

``Rendering.blueprint_field`` is how a finding in a rendered template names
the blueprint line behind it; a pointer that no longer resolves (a renamed
resource or key) or a field the schema does not have would silently lose that.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from blueprint.expander import CHILD_STACKS, TEMPLATE_NAMES, Rendering, _build, parent, render
from blueprint.loader import load_file, load_text
from blueprint.model import Blueprint, from_data
from blueprint.schema import check_blueprint, load_schema

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.blueprint.yml"))


def _blueprint(path: Path) -> Blueprint:
    doc, problems = load_file(str(path))
    assert doc is not None, problems
    assert check_blueprint(doc) == []
    return from_data(doc.data, load_schema())


def _node(template: Any, pointer: str) -> Any:
    """The node a JSON pointer names; KeyError/IndexError when there is none."""
    node = template
    for escaped in pointer.split("/")[1:]:
        token = escaped.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _schema_node(schema: dict[str, Any], field: str) -> dict[str, Any]:
    node = schema
    for part in field.split("."):
        node = node["properties"][part]
    return node


def unresolved(rendering: Rendering, schema: dict[str, Any]) -> list[str]:
    """Every provenance entry whose pointer or blueprint field does not exist."""
    problems = []
    for template, entries in rendering.provenance.items():
        for pointer, field in entries:
            try:
                _node(rendering.templates[template], pointer)
            except (KeyError, IndexError, TypeError, ValueError):
                problems.append(f"{template}#{pointer}: no such node")
            try:
                _schema_node(schema, field)
            except KeyError:
                problems.append(f"{template}#{pointer}: no blueprint field {field}")
    return problems


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda p: p.name.split(".")[0])
def rendering(request: pytest.FixtureRequest) -> Rendering:
    return render(_blueprint(request.param))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 3


def test_every_provenance_pointer_resolves_to_a_node_and_a_blueprint_field(
    rendering: Rendering,
) -> None:
    assert set(rendering.provenance) == set(TEMPLATE_NAMES)
    assert unresolved(rendering, load_schema()) == []


def test_a_pointer_that_no_longer_resolves_is_caught(rendering: Rendering) -> None:
    service = rendering.templates["service.yml"]
    renamed = {**service, "Resources": {("TaskDef" if key == "TaskDefinition" else key): value
                                        for key, value in service["Resources"].items()}}
    broken = dataclasses.replace(
        rendering, templates={**rendering.templates, "service.yml": renamed},
        provenance={**rendering.provenance,
                    "vpc.yml": [*rendering.provenance["vpc.yml"], ("/Resources", "network.cdir")]})
    problems = unresolved(broken, load_schema())
    assert "service.yml#/Resources/TaskDefinition: no such node" in problems
    assert "vpc.yml#/Resources: no blueprint field network.cdir" in problems


def test_every_resource_traces_to_a_blueprint_field(rendering: Rendering) -> None:
    for name, template in rendering.templates.items():
        for logical_id in template["Resources"]:
            assert rendering.blueprint_field(name, f"/Resources/{logical_id}"), (name, logical_id)


def test_the_parent_passes_each_child_exactly_its_parameters_with_their_fields(
    rendering: Rendering,
) -> None:
    for logical_id, name in CHILD_STACKS.items():
        passed = rendering.templates["parent.yml"]["Resources"][logical_id]["Properties"].get(
            "Parameters", {})
        assert set(passed) == set(rendering.templates[name].get("Parameters", {}))
        for parameter in passed:
            in_parent = rendering.blueprint_field(
                "parent.yml", f"/Resources/{logical_id}/Properties/Parameters/{parameter}")
            # a wired parameter has no field of its own: the parent names the child's section
            in_child = (rendering.blueprint_field(name, f"/Parameters/{parameter}")
                        or rendering.blueprint_field(name, "/Resources"))
            assert in_parent == in_child, (logical_id, parameter)


def test_the_most_specific_field_wins() -> None:
    rendering = render(_blueprint(_example("orders-https")))
    field = rendering.blueprint_field
    container = "/Resources/TaskDefinition/Properties/ContainerDefinitions/0"
    assert field("service.yml", f"{container}/Environment/0/Value") == "service.environment"
    assert field("service.yml", f"{container}/Image") == "service.image"
    assert field("service.yml", f"{container}/LogConfiguration") == "service"
    assert field("cluster.yml", "/Resources/ContainerInstances/Properties/LaunchTemplateData/"
                                "InstanceType") == "cluster.instanceTypes"
    assert field("cluster.yml", "/Resources/ECSAutoScalingGroup/Properties/MaxSize") \
        == "cluster.maxSize"
    assert field("vpc.yml", "/Resources/PublicSubnetOne/Properties/CidrBlock") == "network.cidr"
    assert field("service.yml", "/Resources/LogGroup/Properties/KmsKeyId") == "logs.kmsKeyArn"
    assert field("parent.yml", "/Resources/ClusterStack/Properties/Parameters/ECSAMI") \
        == "cluster.ami"
    assert field("parent.yml", "/Outputs/VpcId") is None


def test_children_hold_their_settings_as_literals_and_take_only_wiring(
    rendering: Rendering,
) -> None:
    """Scanners, reviewers and Control Tower's hooks read the rendered child templates:
    a setting behind a parameter is invisible to them (issue 12)."""
    for logical_id, name in CHILD_STACKS.items():
        declared = rendering.templates[name].get("Parameters", {})
        settings = {p for p in declared
                    if rendering.blueprint_field(name, f"/Parameters/{p}") is not None}
        # The AMI alone stays a parameter: CloudFormation resolves its SSM path.
        assert settings <= {"ECSAMI"}, (name, settings)
        passed = rendering.templates["parent.yml"]["Resources"][logical_id]["Properties"]
        assert set(passed.get("Parameters", {})) == set(declared)
    service = rendering.templates["service.yml"]["Resources"]
    container = service["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert isinstance(container["Memory"], int) and isinstance(container["Image"], str)
    template = (rendering.templates["cluster.yml"]["Resources"]["ContainerInstances"]
                ["Properties"]["LaunchTemplateData"])
    assert isinstance(template["InstanceType"], str)


def _child(parameters: tuple[_build.Parameter, ...], outputs: dict[str, Any]) -> _build.ChildStack:
    return _build.ChildStack("test", "network", parameters, (), outputs)


def test_a_wired_parameter_needs_exactly_one_other_stack_with_that_output() -> None:
    bp = _blueprint(EXAMPLES[0])
    needs = _child((_build.wired("VpcId", {"Type": "String"}),), {})
    has = _child((), {"VpcId": {"Value": "x"}})
    template, _ = parent.build(bp, [parent.NestedStack("A", "a.yml", has),
                                    parent.NestedStack("B", "b.yml", needs)])
    assert template["Resources"]["B"]["Properties"]["Parameters"] == {
        "VpcId": {"Fn::GetAtt": ["A", "Outputs.VpcId"]}}
    for producers in ([], [has, has]):
        stacks = [parent.NestedStack(f"P{i}", "p.yml", s) for i, s in enumerate(producers)]
        with pytest.raises(ValueError, match="VpcId of B"):
            parent.build(bp, [*stacks, parent.NestedStack("B", "b.yml", needs)])


def test_a_logical_id_built_twice_is_an_error() -> None:
    part = _build.Part("Same", {"Type": "AWS::SNS::Topic"}, "service")
    with pytest.raises(ValueError, match="Same is built twice"):
        _build.resources([part, part])


# --- Day-two updates (issue 10): what a second deploy of an edited blueprint needs ---

def _rendered(path: Path, edit: dict[str, dict[str, Any]] | None = None) -> Rendering:
    """The example at ``path`` rendered, with ``{section: {key: value}}`` merged in first."""
    doc, problems = load_file(str(path))
    assert doc is not None, problems
    data = {**doc.data}
    for section, values in (edit or {}).items():
        data[section] = {**data.get(section, {}), **values}
    return render(from_data(data, load_schema()))


def _example(prefix: str) -> Path:
    return next(p for p in EXAMPLES if p.name.startswith(prefix))


def _strings(node: Any, pointer: str = "") -> list[tuple[str, str]]:
    """Every string in a document with its JSON pointer, mapping keys included."""
    if isinstance(node, str):
        return [(pointer, node)]
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found += [(f"{pointer}/{key}", key), *_strings(value, f"{pointer}/{key}")]
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _strings(value, f"{pointer}/{index}")
    return found


def test_cluster_edits_roll_instances_of_the_same_auto_scaling_group(
    rendering: Rendering,
) -> None:
    group = rendering.templates["cluster.yml"]["Resources"]["ECSAutoScalingGroup"]
    # WillReplace made every launch template change replace the group, hence the
    # capacity provider whose AutoScalingGroupArn is create-only.
    assert "AutoScalingReplacingUpdate" not in group["UpdatePolicy"]
    assert "AutoScalingRollingUpdate" not in group["UpdatePolicy"]
    refresh = group["UpdatePolicy"]["AutoScalingInstanceRefresh"]
    properties = group["Properties"]
    launch_template = (properties["MixedInstancesPolicy"]["LaunchTemplate"]
                       ["LaunchTemplateSpecification"] if "MixedInstancesPolicy" in properties
                       else properties["LaunchTemplate"])
    assert refresh["Strategy"] == "Rolling"
    assert refresh["Preferences"] == {
        "MinHealthyPercentage": 100, "MaxHealthyPercentage": 200, "InstanceWarmup": 120,
        "SkipMatching": True, "ScaleInProtectedInstances": "Refresh"}
    assert launch_template["Version"] == {
        "Fn::GetAtt": ["ContainerInstances", "LatestVersionNumber"]}
    provider = rendering.templates["cluster.yml"]["Resources"]["CapacityProvider"]
    settings = provider["Properties"]["AutoScalingGroupProvider"]
    assert settings["ManagedDraining"] == settings["ManagedTerminationProtection"] == "ENABLED"


def test_the_auto_scaling_group_size_is_left_to_ecs_managed_scaling(
    rendering: Rendering,
) -> None:
    cluster = rendering.templates["cluster.yml"]
    assert "DesiredCapacity" not in cluster["Resources"]["ECSAutoScalingGroup"]["Properties"]
    assert "DesiredCapacity" not in cluster["Parameters"]
    assert "DesiredCapacity" not in (rendering.templates["parent.yml"]["Resources"]
                                     ["ClusterStack"]["Properties"]["Parameters"])


def test_cluster_desired_capacity_is_accepted_and_changes_no_template() -> None:
    seed = _example("seed")
    assert _rendered(seed, {"cluster": {"desiredCapacity": 7}}).texts == _rendered(seed).texts


def test_an_autoscaled_service_never_sets_desired_count() -> None:
    orders = _example("orders-https")
    for count in (3, 12):
        rendering = _rendered(orders, {"service": {"desiredCount": count}})
        service = rendering.templates["service.yml"]
        assert "DesiredCount" not in service["Resources"]["Service"]["Properties"]
        assert rendering.texts == _rendered(orders).texts


def test_a_fixed_count_service_sets_desired_count() -> None:
    rendering = _rendered(_example("seed"), {"service": {"desiredCount": 5}})
    service = rendering.templates["service.yml"]
    assert service["Resources"]["Service"]["Properties"]["DesiredCount"] == 5
    assert rendering.blueprint_field(
        "service.yml", "/Resources/Service/Properties/DesiredCount") == "service.desiredCount"


def test_deployments_that_cannot_stabilise_fail_and_roll_back(rendering: Rendering) -> None:
    deployment = (rendering.templates["service.yml"]["Resources"]["Service"]["Properties"]
                  ["DeploymentConfiguration"])
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


def test_the_default_ami_is_the_ecs_optimised_amazon_linux_2023() -> None:
    al2023 = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
    assert load_schema()["properties"]["cluster"]["properties"]["ami"]["default"] == al2023
    for path in EXAMPLES:  # none pins the end-of-life Amazon Linux 2
        passed = (_rendered(path).templates["parent.yml"]["Resources"]["ClusterStack"]
                  ["Properties"]["Parameters"])
        assert passed["ECSAMI"] == al2023, path.name


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name.split(".")[0])
def test_no_partition_or_url_suffix_is_hard_coded(path: Path) -> None:
    """ARNs name ``${AWS::Partition}``; only values the author wrote may say ``arn:aws:``.

    IAM service principals stay ``<service>.amazonaws.com``: that is their name in
    every partition, China included (``${AWS::URLSuffix}`` would be wrong there).
    """
    doc, _ = load_file(str(path))
    assert doc is not None
    authored = {text for _, text in _strings(doc.data)}
    hard_coded = [
        f"{name}#{pointer}: {text}"
        for name, template in _rendered(path).templates.items()
        for pointer, text in _strings(template)
        if ("arn:aws:" in text or "amazonaws.com" in text) and text not in authored
        and "/Principal/Service/" not in pointer]
    assert hard_coded == []


def test_secrets_under_a_customer_managed_key_may_be_decrypted_through_their_services(
) -> None:
    orders = _example("orders-https")
    key = "arn:aws:kms:us-east-1:123456789012:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    rendering = _rendered(orders, {"service": {"secretsKmsKeyArn": key}})
    statements = (rendering.templates["service.yml"]["Resources"]["TaskSecretsPolicy"]
                  ["Properties"]["PolicyDocument"]["Statement"])
    decrypt = [s for s in statements if s["Action"] == ["kms:Decrypt"]]
    assert decrypt == [{
        "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key,
        "Condition": {"StringEquals": {"kms:ViaService": [
            {"Fn::Sub": "secretsmanager.${AWS::Region}.${AWS::URLSuffix}"},
            {"Fn::Sub": "ssm.${AWS::Region}.${AWS::URLSuffix}"}]}}}]
    index = statements.index(decrypt[0])
    assert rendering.blueprint_field(
        "service.yml", f"/Resources/TaskSecretsPolicy/Properties/PolicyDocument/Statement/"
                       f"{index}") == "service.secretsKmsKeyArn"
    doc, _ = load_file(str(orders))
    assert doc is not None
    service = {k: v for k, v in doc.data["service"].items() if k != "secretsKmsKeyArn"}
    plain = render(from_data({**doc.data, "service": service}, load_schema()))
    assert "kms:Decrypt" not in plain.texts["service.yml"]


@pytest.mark.parametrize(("value", "hint"), [
    ("arn:aws:secretsmanager:us-east-1:123456789012:secret:orders/db", "6 characters"),
    ("orders/db", "never the value itself"),
])
def test_a_secrets_manager_arn_must_be_complete(value: str, hint: str) -> None:
    doc, _ = load_text("partial.blueprint.yml", (
        "blueprint: v1\nname: app\nservice:\n  image: nginx\n"
        f"  secrets:\n    DB: {value}\n"))
    assert doc is not None
    findings = check_blueprint(doc)
    assert [(f.rule_id, f.blueprint_path) for f in findings] == [("BP104", "service.secrets.DB")]
    assert hint in (findings[0].hint or "")


@pytest.mark.parametrize(("service", "field"), [
    ("  secretsKmsKeyArn: arn:aws:kms:us-east-1:123456789012:alias/app\n"
     "  secrets: {DB: 'arn:aws:ssm:us-east-1:123456789012:parameter/db'}\n",
     "service.secretsKmsKeyArn"),
    ("  secretsKmsKeyArn: arn:aws:kms:us-east-1:123456789012:key/"
     "mrk-1a2b3c4d5e6f4a7b8c9d0e1f2a3b4c5d\n", "service"),
    ("  secretsKmsKeyArn: arn:aws:kms:us-east-1:123456789012:key/"
     "mrk-1a2b3c4d5e6f4a7b8c9d0e1f2a3b4c5d\n  secrets: {}\n", "service.secrets"),
])
def test_a_secrets_key_is_a_key_arn_and_needs_secrets(service: str, field: str) -> None:
    doc, _ = load_text("kms.blueprint.yml",
                       "blueprint: v1\nname: app\nservice:\n  image: nginx\n" + service)
    assert doc is not None
    assert [(f.rule_id, f.blueprint_path) for f in check_blueprint(doc)] == [("BP104", field)]


# --- Production defaults (issue 12) -----------------------------------------------------

def _minimal(extra: str = "", image: str = "public.ecr.aws/nginx/nginx-unprivileged:1.27-alpine",
             ) -> tuple[Any, list[Any]]:
    doc, problems = load_text("m.blueprint.yml", f"blueprint: v1\nname: app\nservice:\n"
                                                 f"  image: {image}\n{extra}")
    assert doc is not None, problems
    return doc, check_blueprint(doc)


def test_every_new_setting_is_described_and_secure_by_default() -> None:
    schema = load_schema()
    defaults = {
        "service.user": "1000", "service.readOnlyRootFilesystem": True,
        "service.writablePaths": ["/tmp"], "loadBalancer.deletionProtection": True,
        "logs.retentionDays": 365, "cluster.instanceTypes": ["c6i.xlarge", "c7i.xlarge"]}
    for field, default in defaults.items():
        node = _schema_node(schema, field)
        assert node.get("description") and node["default"] == default, field
    for field in ("loadBalancer.accessLogs", "loadBalancer.accessLogs.bucket",
                  "loadBalancer.accessLogs.prefix", "logs", "logs.kmsKeyArn"):
        node = schema
        for part in field.split("."):
            node = node["properties"][part]
        assert node.get("description"), field


def test_a_default_blueprint_renders_the_production_settings() -> None:
    doc, findings = _minimal()
    assert findings == []
    rendering = render(from_data(doc.data, load_schema()))
    service = rendering.templates["service.yml"]["Resources"]
    task = service["TaskDefinition"]["Properties"]
    container = task["ContainerDefinitions"][0]
    assert (container["User"], container["ReadonlyRootFilesystem"]) == ("1000", True)
    assert container["MountPoints"] == [
        {"SourceVolume": "writable-tmp", "ContainerPath": "/tmp", "ReadOnly": False}]
    assert task["Volumes"] == [{"Name": "writable-tmp", "DockerVolumeConfiguration": {
        "Scope": "task", "Driver": "local"}}]
    assert task["TaskRoleArn"] == {"Fn::GetAtt": ["TaskRole", "Arn"]}
    assert task["ExecutionRoleArn"] == {"Ref": "ECSTaskExecutionRole"}
    assert service["LogGroup"]["DeletionPolicy"] == service["LogGroup"]["UpdateReplacePolicy"] \
        == "Retain"
    assert service["LogGroup"]["Properties"] == {"RetentionInDays": 365}
    attributes = {a["Key"]: a["Value"] for a in
                  service["PublicLoadBalancer"]["Properties"]["LoadBalancerAttributes"]}
    assert attributes == {
        "access_logs.s3.enabled": "false", "deletion_protection.enabled": "true",
        "idle_timeout.timeout_seconds": "30",
        "routing.http.drop_invalid_header_fields.enabled": "true",
        "routing.http.desync_mitigation_mode": "defensive"}
    assert service["PublicLoadBalancer"]["Properties"]["Type"] == "application"
    group = (service["ServiceTargetGroup"]["Properties"]["TargetGroupAttributes"])
    assert group == [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}]
    cluster = rendering.templates["cluster.yml"]["Resources"]
    data = cluster["ContainerInstances"]["Properties"]["LaunchTemplateData"]
    assert data["Monitoring"] == {"Enabled": True}
    assert data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    assert "ECS_AWSVPC_BLOCK_IMDS=true" in data["UserData"]["Fn::Base64"]["Fn::Sub"]
    overrides = (cluster["ECSAutoScalingGroup"]["Properties"]["MixedInstancesPolicy"]
                 ["LaunchTemplate"]["Overrides"])
    assert overrides == [{"InstanceType": "c6i.xlarge"}, {"InstanceType": "c7i.xlarge"}]
    function = cluster["CustomAsgDestroyerFunction"]["Properties"]
    assert function["VpcConfig"]["SubnetIds"] == {"Ref": "PrivateSubnetIds"}
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": "CustomAsgDestroyerLogGroup"}}
    vpc = rendering.templates["vpc.yml"]["Resources"]
    assert not any("MapPublicIpOnLaunch" in r.get("Properties", {}) for r in vpc.values())
    assert "!GetAtt [" in rendering.texts["cluster.yml"]  # the list form Control Tower reads
    assert "!GetAtt ContainerInstances." not in rendering.texts["cluster.yml"]


def test_one_instance_type_written_alone_is_a_single_type_group() -> None:
    doc, findings = _minimal("cluster:\n  instanceType: m6i.large\n")
    assert findings == []
    blueprint = from_data(doc.data, load_schema())
    assert blueprint.cluster.instance_types == ("m6i.large",)
    group = render(blueprint).templates["cluster.yml"]["Resources"]["ECSAutoScalingGroup"]
    assert "MixedInstancesPolicy" not in group["Properties"]


def test_instance_type_and_instance_types_together_are_refused_at_instance_type() -> None:
    _, findings = _minimal("cluster:\n  instanceType: m6i.large\n"
                           "  instanceTypes: [m6i.large, m7i.large]\n")
    assert [(f.rule_id, f.blueprint_path) for f in findings] == [
        ("BP104", "cluster.instanceType")]
    assert "remove instanceType" in (findings[0].hint or "")


@pytest.mark.parametrize(("image", "warned"), [
    ("nginx", True),
    ("public.ecr.aws/docker/library/nginx:latest", True),
    ("registry.example.com:5000/team/app", True),
    ("registry.example.com:5000/team/app:1.4.2", False),
    ("public.ecr.aws/nginx/nginx-unprivileged:1.27-alpine", False),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "a" * 64, False),
])
def test_an_image_by_a_moving_tag_is_a_warning_at_the_image(image: str, warned: bool) -> None:
    _, findings = _minimal(image=image)
    assert [(f.rule_id, f.severity.name, f.blueprint_path) for f in findings] == (
        [("BP109", "WARNING", "service.image")] if warned else [])
