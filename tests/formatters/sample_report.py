"""The fixed ``Report`` every formatter test and golden file is built from.

Four files: a blueprint with a schema error (so nothing of it was rendered),
a blueprint with a Guard error traced back from its rendered ``cluster.yml``,
a cfn-lint warning and a waived advisory Guard finding, a clean blueprint,
and a plain CloudFormation template with a cfn-lint error.
"""

from __future__ import annotations

from blueprint.finding import Finding, Location, Report, RuleInfo, Severity, Source

BROKEN = "blueprints/broken.blueprint.yml"
ORDERS = "blueprints/orders.blueprint.yml"
MINIMAL = "examples/minimal.blueprint.yml"
LEGACY = "templates/legacy.yml"

SCHEMA_ERROR = Finding(
    Source.SCHEMA, "BP101", Severity.ERROR, Location(BROKEN, 7, 3),
    "unknown key 'instanceTyp' in cluster", "did you mean 'instanceType'?",
    blueprint_path="cluster.instanceTyp",
)
GUARD_ERROR = Finding(
    Source.GUARD, "LAUNCH_TEMPLATE_IMDSV2_REQUIRED", Severity.ERROR, Location(ORDERS, 12, 5),
    "HttpTokens must be exactly 'required' (lower case); 'optional', other spellings and "
    "parameters allow or cannot rule out IMDSv1. (rendered cluster.yml)",
    "set cluster.imdsV2: required",
    rendered_location=Location("cluster.yml", 118, 13),
    blueprint_path="cluster.imdsV2",
)
LINT_WARNING = Finding(
    Source.LINT, "W3005", Severity.WARNING, Location(ORDERS, 1, 1),
    "Obsolete DependsOn on resource (Listener), dependency already enforced by a "
    "\"Fn:GetAtt\" at Resources/Service/Properties (rendered service.yml)",
    rendered_location=Location("service.yml", 88, 7),
)
WAIVED = Finding(
    Source.GUARD, "ALB_ACCESS_LOGS_ENABLED", Severity.WARNING, Location(ORDERS, 20, 3),
    "load balancer access logs are off: 100% of requests go unlogged (rendered service.yml)",
    rendered_location=Location("service.yml", 40, 5),
    blueprint_path="loadBalancer",
    waived_by="Access logs go to the central collector via Firehose, see OPS-1234 "
              "(expires 2027-03-31)",
)
TEMPLATE_ERROR = Finding(
    Source.LINT, "E3012", Severity.ERROR, Location(LEGACY, 14, 9),
    "Property Resources/Bucket/Properties/VersioningConfiguration/Status should be of type "
    "String, got <boolean> 'yes'",
)

RULES = (
    RuleInfo("BP002", Source.LOADER, "YAML syntax error"),
    RuleInfo("BP101", Source.SCHEMA, "Unknown key", mandatory=True),
    RuleInfo("BP107", Source.SCHEMA, "Instance type not on the policy allow-list",
             mandatory=True),
    RuleInfo("LAUNCH_TEMPLATE_IMDSV2_REQUIRED", Source.GUARD,
             "Launch templates require IMDSv2",
             "Every AWS::EC2::LaunchTemplate sets MetadataOptions.HttpTokens to required, so "
             "instance metadata is reachable only with a session token (IMDSv2).",
             mandatory=True),
    RuleInfo("ECS_TASK_ENI_NO_PUBLIC_IP", Source.GUARD, "Task ENIs get no public IP",
             "Every ECS service in awsvpc mode has AssignPublicIp DISABLED or absent.",
             mandatory=True),
    RuleInfo("ALB_ACCESS_LOGS_ENABLED", Source.GUARD, "Load balancer access logs are on",
             "Application Load Balancers write access logs to S3."),
)

FINDINGS = (SCHEMA_ERROR, LINT_WARNING, GUARD_ERROR, WAIVED, TEMPLATE_ERROR)


def sample_report() -> Report:
    return Report(
        files=(BROKEN, ORDERS, MINIMAL, LEGACY),
        findings=tuple(sorted(FINDINGS, key=Finding.sort_key)),
        rules=RULES,
    )
