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


def run(path: str, options: CloudOptions, *, assume_yes: bool = False) -> int:
    ui = ConsoleUi()
    with deployed_stack(path, options) as deployed:
        blueprint, aws, stack = deployed.blueprint, deployed.aws, deployed.stack
        ui.print(region_line(aws))
        if stack is None:
            ui.print(f"{blueprint.name}: not deployed, nothing to delete")
            return 0
        if stacks.simplify(str(stack["StackStatus"])) is StackState.IN_PROGRESS:
            raise BlueprintError(f"stack {blueprint.name} is {stack['StackStatus']}; "
                                 "wait for the operation to finish before deleting")
        if not confirm(f"Delete stack {blueprint.name} and everything in it?",
                       assume_yes=assume_yes):
            ui.print("Not deleted.")
            return EXIT_DECLINED
        deploy_flow.delete_stack(aws, str(stack.get("StackId")), ui=ui,
                                 poll=options.poll_seconds)
        ui.print(f"[green]{blueprint.name}: deleted[/green]")
    return 0
