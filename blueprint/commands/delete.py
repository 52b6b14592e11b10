from __future__ import annotations

from blueprint import deploy_flow
from blueprint.aws import stacks
from blueprint.aws.stacks import StackState
from blueprint.commands._cloud import (
    CloudOptions,
    ConsoleUi,
    confirm,
    deployed_stack,
    region_line,
)
from blueprint.errors import EXIT_DECLINED, BlueprintError


def run(path: str, options: CloudOptions, *, assume_yes: bool = False,
        env: str | None = None) -> int:
    """Delete the stack tree, once confirmed; load balancers' deletion protection is
    turned off first (the confirmation covers it). An environment's stack is deleted
    only with credentials of its pinned account, in its pinned region."""
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
        deploy_flow.delete_stack(aws, stack_id, ui=ui, poll=options.poll_seconds)
        ui.print(f"[green]{name}: deleted[/green]")
    return 0
