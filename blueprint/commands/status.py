from __future__ import annotations

from blueprint.aws import stacks
from blueprint.commands._cloud import CloudOptions, ConsoleUi, deployed_stack


def run(path: str, options: CloudOptions) -> int:
    """The parent and nested stacks' statuses, and the root cause of a failure."""
    ui = ConsoleUi()
    with deployed_stack(path, options) as deployed:
        blueprint, cfn, stack = deployed.blueprint, deployed.cfn, deployed.stack
        if stack is None:
            ui.print(f"{blueprint.name}: not deployed")
            return 0
        from rich.table import Table

        table = Table(title=f"{blueprint.name}", title_justify="left")
        for column in ("Stack", "Status", "Simplified", "Reason"):
            table.add_column(column)
        rows = [("(parent)", stack)]
        for label, arn in stacks.nested_stack_ids(cfn, stack["StackId"]):
            child = stacks.describe_stack(cfn, arn)
            if child is not None:
                rows.append((label, child))
        for label, item in rows:
            status = str(item["StackStatus"])
            table.add_row(label, status, stacks.simplify(status),
                          str(item.get("StackStatusReason") or ""))
        ui.console.print(table)
        status = str(stack["StackStatus"])
        if stacks.simplify(status) in ("failed", "rolled-back-create", "update-rollback-failed"):
            cause = stacks.root_cause(stacks.EventFollower(cfn, stack["StackId"]).poll())
            if cause is not None:
                ui.print(f"Root cause, in {cause.stack_label}: {cause.logical_id} "
                         f"({cause.resource_type}) {cause.status}: {cause.reason}")
            return 1
        if stacks.simplify(status) == "in-progress":
            ui.print("An operation is in progress; run `blueprint status` again to follow it.")
    return 0
