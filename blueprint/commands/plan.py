from __future__ import annotations

from blueprint import deployer
from blueprint.aws.session import aws_errors
from blueprint.commands._cloud import CloudOptions, ConsoleUi, gate, open_aws
from blueprint.commands.deploy import prepare


def run(path: str, options: CloudOptions, *, bucket: str | None = None) -> int:
    """Show what a deploy would change, then remove the change set."""
    blueprint = gate(path)
    ui = ConsoleUi()
    with open_aws(options) as aws, aws_errors(aws.target):
        plan = prepare(aws, blueprint, ui, bucket=bucket, assume_yes=False, read_only=True)
        deployer.discard_change_set(aws, plan)
        if plan.no_changes:
            ui.print("No changes")
    return 0
