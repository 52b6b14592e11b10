from __future__ import annotations

from blueprint import deploy_flow
from blueprint.aws.session import aws_errors
from blueprint.commands._cloud import (
    CloudOptions,
    ConsoleUi,
    chosen_environment,
    gate,
    open_aws,
    pinned,
    target_region,
)


def run(path: str, options: CloudOptions, *, bucket: str | None = None,
        env: str | None = None) -> int:
    """Show what a deploy would change, then remove the change set.

    A plan deletes no stack and no change set it did not make itself; with ``env``,
    it is refused as ``deploy`` is when the account or region is not the pinned one.
    """
    options = pinned(options, chosen_environment(path, env))
    checked = gate(path, target_region(options), environment=env)
    ui = ConsoleUi()
    with open_aws(options) as aws, aws_errors(aws.target):
        plan = deploy_flow.prepare(aws, checked, ui, bucket=bucket, read_only=True,
                                   confirm_delete=_never)
        deploy_flow.discard_change_set(aws, plan)
        if plan.no_changes:
            ui.print("No changes")
    return 0


def _never(question: str) -> bool:
    raise AssertionError(f"plan must not ask to delete anything: {question}")
