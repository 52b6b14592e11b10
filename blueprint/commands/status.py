from __future__ import annotations

from blueprint.aws import stacks
from blueprint.aws.stacks import StackState
from blueprint.commands._cloud import (
    CloudOptions,
    ConsoleUi,
    deployed_stack,
    region_line,
)

# Pages of events (100 each) read per stack for the root cause of the latest failure.
STATUS_PAGES = 5


def run(path: str, options: CloudOptions, *, env: str | None = None) -> int:
    """The parent and nested stacks' statuses, and the root cause of a failure."""
    ui = ConsoleUi()
    with deployed_stack(path, options, env) as deployed:
        name, cfn, stack = deployed.name, deployed.cfn, deployed.stack
        ui.print(region_line(deployed.aws))
        if stack is None:
            ui.print(f"{name}: not deployed")
            return 0
        from rich.table import Table

        table = Table(title=name, title_justify="left")
        for column in ("Stack", "Status", "Simplified", "Reason"):
            table.add_column(column)
        stack_id = str(stack.get("StackId"))
        rows = [("(parent)", stack)]
        for label, arn in stacks.nested_stack_ids(cfn, stack_id):
            child = stacks.describe_stack(cfn, arn)
            if child is not None:
                rows.append((label, child))
        for label, item in rows:
            status = str(item["StackStatus"])
            table.add_row(label, status, stacks.simplify(status).value,
                          str(item.get("StackStatusReason") or ""))
        ui.console.print(table)
        state = stacks.simplify(str(stack["StackStatus"]))
        if state.is_failure:
            cause = stacks.root_cause(
                stacks.EventFollower(cfn, stack_id, max_pages=STATUS_PAGES).poll())
            if cause is not None:
                ui.print(f"Root cause, in {cause.stack_label}: {cause.logical_id} "
                         f"({cause.resource_type}) {cause.status}: {cause.reason}")
            return 1
        if state is StackState.IN_PROGRESS:
            ui.print(f"An operation is in progress; run "
                     f"`{deployed.target.command('status', path)}` again to follow it.")
    return 0
