from __future__ import annotations

from blueprint import deploy_flow
from blueprint.aws import stacks
from blueprint.aws.session import Aws, aws_errors
from blueprint.commands._cloud import CloudOptions, ConsoleUi, confirm, gate, open_aws
from blueprint.deployer import Plan, failure_message
from blueprint.errors import EXIT_DECLINED, EXIT_INTERRUPTED, DeployFailed


def run(path: str, options: CloudOptions, *, assume_yes: bool = False,
        bucket: str | None = None) -> int:
    checked = gate(path)
    ui = ConsoleUi()
    with open_aws(options) as aws, aws_errors(aws.target):
        plan = deploy_flow.prepare(
            aws, checked, ui, bucket=bucket,
            confirm_delete=lambda question: confirm(question, assume_yes=assume_yes))
        if plan.no_changes:
            deploy_flow.discard_change_set(aws, plan)
            ui.print("No changes")
            return 0
        executed = False
        try:
            if not confirm(f"Execute this change set on {plan.stack_name}?",
                           assume_yes=assume_yes):
                ui.print("Not executed; the change set was removed.")
                return EXIT_DECLINED
            executed = True
            status, events = deploy_flow.execute(aws, plan, ui=ui, poll=options.poll_seconds)
        except KeyboardInterrupt:
            return _interrupted(aws, plan, ui, path=path, executed=executed)
        finally:
            if not executed:
                deploy_flow.discard_change_set(aws, plan)
        if not stacks.is_success(status, plan.change_type.lower()):
            raise DeployFailed(failure_message(status, events))
        outputs = stacks.outputs_of(deploy_flow.current_stack(aws, plan.stack_name))
        ui.print(f"[green]{plan.stack_name}: {status}[/green]")
        if "ServiceUrl" in outputs:
            ui.print(f"Service URL: {outputs['ServiceUrl']}")
        ui.outputs(outputs)
    return 0


def _interrupted(aws: Aws, plan: Plan, ui: ConsoleUi, *, path: str, executed: bool) -> int:
    if not executed:
        ui.print("Interrupted before execution; the change set was removed.")
        return EXIT_INTERRUPTED
    current = deploy_flow.current_stack(aws, plan.stack_name)
    state = current["StackStatus"] if current else "unknown"
    ui.print(f"Interrupted. CloudFormation keeps going: stack {plan.stack_name} is "
             f"{state}. Follow it with `blueprint status {path}`.")
    return EXIT_INTERRUPTED
