from __future__ import annotations

from blueprint import deployer
from blueprint.aws import artifacts, stacks
from blueprint.aws.session import Aws, aws_errors
from blueprint.commands._cloud import (
    CloudOptions,
    ConsoleUi,
    confirm,
    gate,
    open_aws,
)
from blueprint.errors import EXIT_INTERRUPTED, DeployFailed
from blueprint.expander import render, stack_tags
from blueprint.model import Blueprint


def prepare(aws: Aws, blueprint: Blueprint, ui: ConsoleUi, *, bucket: str | None,
            assume_yes: bool, read_only: bool = False) -> deployer.Plan:
    """Everything up to a described change set: state checks, uploads, change set.

    ``read_only`` (for ``plan``) leaves stacks and other change sets alone.
    """
    rendering = render(blueprint)
    existing = deployer.check_stack_state(
        aws, blueprint.name, ui=ui, read_only=read_only,
        confirm_delete=lambda question: confirm(question, assume_yes=assume_yes))
    owner = aws.account_id()
    bucket = bucket or artifacts.default_bucket_name(owner, aws.region)
    if artifacts.ensure_bucket(aws, bucket, owner):
        ui.print(f"created artifact bucket {bucket} (encrypted, private, versioned)")
    children = {name: text for name, text in rendering.texts.items() if name != "parent.yml"}
    urls = artifacts.upload_templates(aws, bucket, owner, children)
    ui.print(f"uploaded {len(urls)} nested templates to s3://{bucket}/")
    plan = deployer.create_change_set(
        aws, name=blueprint.name, existing=existing,
        parent_text=deployer.parent_with_urls(rendering, urls), tags=stack_tags(blueprint),
        description=f"blueprint deploy of {blueprint.name}")
    if not plan.no_changes:
        title = f"{plan.change_type} {blueprint.name}: change set {plan.change_set.arn}"
        rows = deployer.changes_rows(plan.change_set.changes)
        if rows:
            ui.changes(rows, title)
        else:
            ui.print(f"{title}\n(CloudFormation listed no resource-level changes, but the "
                     "templates or parameters differ from the deployed stack)")
    return plan


def run(path: str, options: CloudOptions, *, assume_yes: bool = False,
        bucket: str | None = None) -> int:
    blueprint = gate(path)
    ui = ConsoleUi()
    with open_aws(options) as aws, aws_errors(aws.target):
        plan = prepare(aws, blueprint, ui, bucket=bucket, assume_yes=assume_yes)
        if plan.no_changes:
            deployer.discard_change_set(aws, plan)
            ui.print("No changes")
            return 0
        executed = False
        try:
            if not confirm(f"Execute this change set on {blueprint.name}?",
                           assume_yes=assume_yes):
                ui.print("Not executed; the change set was removed.")
                return 1
            executed = True
            status, events = deployer.execute(aws, plan, ui=ui, poll=options.poll_seconds)
        except KeyboardInterrupt:
            if not executed:
                ui.print("Interrupted before execution; the change set was removed.")
                return EXIT_INTERRUPTED
            current = stacks.describe_stack(aws.client("cloudformation"), blueprint.name)
            state = current["StackStatus"] if current else "unknown"
            ui.print(f"Interrupted. CloudFormation keeps going: stack {blueprint.name} is "
                     f"{state}. Follow it with `blueprint status {path}`.")
            return EXIT_INTERRUPTED
        finally:
            if not executed:
                deployer.discard_change_set(aws, plan)
        action = plan.change_type.lower()
        if not stacks.is_success(status, action):
            raise DeployFailed(deployer.failure_message(status, events))
        stack = stacks.describe_stack(aws.client("cloudformation"), blueprint.name)
        outputs = stacks.outputs_of(stack or {})
        ui.print(f"[green]{blueprint.name}: {status}[/green]")
        if "ServiceUrl" in outputs:
            ui.print(f"Service URL: {outputs['ServiceUrl']}")
        ui.outputs(outputs)
    return 0

