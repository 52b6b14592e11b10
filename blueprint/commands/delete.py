from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blueprint import deploy_flow
from blueprint.aws import stacks
from blueprint.aws.session import Aws
from blueprint.aws.stacks import StackState
from blueprint.commands._cloud import (
    CloudOptions,
    ConsoleUi,
    confirm,
    deployed_stack,
    region_line,
)
from blueprint.errors import EXIT_DECLINED, BlueprintError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

# The service's log group outlives its stack (DeletionPolicy Retain, blueprint/expander/
# service.py), so that a delete does not take the service's logs with it.
SERVICE_STACK = "ServiceStack"
SERVICE_LOG_GROUP = "LogGroup"
UNKNOWN = "unknown"  # the deployed stack could not be asked


def run(path: str, options: CloudOptions, *, assume_yes: bool = False,
        env: str | None = None) -> int:
    """Delete the stack tree, once confirmed; load balancers' deletion protection is
    turned off first (the confirmation covers it). An environment's stack is deleted
    only with credentials of its pinned account, in its pinned region. The service's
    log group is kept: the last lines say so, naming it."""
    ui = ConsoleUi()
    with deployed_stack(path, options, env) as deployed:
        name, aws, stack = deployed.name, deployed.aws, deployed.stack
        ui.print(region_line(aws))
        if stack is None:
            ui.print(f"{name}: not deployed, nothing to delete")
            return 0
        if stacks.simplify(str(stack["StackStatus"])) is StackState.IN_PROGRESS:
            raise BlueprintError(f"stack {name} is {stack['StackStatus']}; "
                                 "wait for the operation to finish before deleting")
        if not confirm(f"Delete stack {name} and everything in it?",
                       assume_yes=assume_yes):
            ui.print("Not deleted.")
            return EXIT_DECLINED
        stack_id = str(stack.get("StackId"))
        deploy_flow.release_deletion_protection(aws, stack_id, ui=ui)
        kept = retained_log_group(aws, stack_id)  # asked while the stack is still there
        deploy_flow.delete_stack(aws, stack_id, ui=ui, poll=options.poll_seconds)
        ui.print(f"[green]{name}: deleted[/green]")
        if kept is not None:
            ui.print(kept_log_group_line(kept))
    return 0


def kept_log_group_line(log_group: str) -> str:
    if log_group == UNKNOWN:
        return ("kept: the service's log group (DeletionPolicy Retain), so its logs outlive "
                "the stack; delete it in CloudWatch Logs once they are no longer needed")
    return (f"kept: log group {log_group} (DeletionPolicy Retain), so the service's logs "
            f"outlive the stack; once they are no longer needed: "
            f"aws logs delete-log-group --log-group-name {log_group}")


def retained_log_group(aws: Aws, stack_id: str) -> str | None:
    """The name of the service's log group when the deployed template keeps it on delete;
    None when it does not (a stack deployed before it did), UNKNOWN when AWS would not say.
    Three calls: the service stack, its log group, its template."""
    import botocore.exceptions

    cfn = aws.cloudformation()
    try:
        service = _physical_id(cfn, stack_id, SERVICE_STACK)
        if service is None:
            return None
        template = _template(cfn.get_template(StackName=service).get("TemplateBody"))
        resource = template.get("Resources", {}).get(SERVICE_LOG_GROUP, {})
        if not isinstance(resource, dict) or resource.get("DeletionPolicy") != "Retain":
            return None
        return _physical_id(cfn, service, SERVICE_LOG_GROUP) or UNKNOWN
    except botocore.exceptions.ClientError:  # e.g. no GetTemplate permission: delete anyway
        return UNKNOWN


def _physical_id(cfn: CloudFormationClient, stack: str, logical_id: str) -> str | None:
    from blueprint.aws.session import unless_error

    answer = unless_error(("ValidationError",), lambda: cfn.describe_stack_resource(
        StackName=stack, LogicalResourceId=logical_id))
    physical = answer["StackResourceDetail"].get("PhysicalResourceId") if answer else None
    return str(physical) if physical else None


def _template(body: Any) -> dict[str, Any]:
    """A template as GetTemplate returns it: parsed JSON, or YAML text with short tags."""
    if isinstance(body, dict):
        return body
    from blueprint.loader import load_text

    doc, _ = load_text("template.yml", str(body or ""))
    return doc.data if doc is not None and isinstance(doc.data, dict) else {}
