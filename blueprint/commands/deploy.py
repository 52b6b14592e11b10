from __future__ import annotations

from blueprint import deploy_flow
from blueprint.aws import stacks
from blueprint.aws.session import Aws, aws_errors
from blueprint.commands._cloud import (
    CloudOptions,
    ConsoleUi,
    chosen_environment,
    confirm,
    gate,
    interactive,
    open_aws,
    pinned,
    target_region,
)
from blueprint.deployer import (
    Consent,
    Plan,
    ReplaceRefused,
    failure_message,
    loud_replacements,
    replacement_consent,
)
from blueprint.errors import EXIT_DECLINED, EXIT_INTERRUPTED, DeployFailed


def run(path: str, options: CloudOptions, *, assume_yes: bool = False,
        bucket: str | None = None, allow_replace: bool = False, env: str | None = None) -> int:
    """Validate, upload, make a change set, show it, execute it once agreed, follow it.

    A change set that replaces a stateful or disruptive resource needs its own
    consent: ``--allow-replace``, or a "yes" at a terminal (``--yes`` does not
    cover it). With neither, the deploy is refused (exit 1) and nothing changes.

    ``env``: the environment deployed (required when the blueprint has environments);
    its pins must match the credentials' account and the region, or nothing happens.
    """
    environment = chosen_environment(path, env)
    options = pinned(options, environment)
    checked = gate(path, target_region(options), environment=env)
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
                           assume_yes=assume_yes) \
                    or not _replacements_agreed(plan, allow_replace=allow_replace):
                ui.print("Not executed; the change set was removed.")
                return EXIT_DECLINED
            executed = True
            status, events = deploy_flow.execute(aws, plan, ui=ui, poll=options.poll_seconds)
        except KeyboardInterrupt:
            status_command = f"blueprint status {path}" + (f" --env {env}" if env else "")
            return _interrupted(aws, plan, ui, status_command=status_command,
                                executed=executed)
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


def _replacements_agreed(plan: Plan, *, allow_replace: bool) -> bool:
    """Ask again before replacing stateful resources; refuse when nobody can be asked."""
    replaced = loud_replacements(plan.change_set.changes)
    consent = replacement_consent(replaced, allow_replace=allow_replace,
                                  interactive=interactive())
    if consent is Consent.GO:
        return True
    names = ", ".join(f"{c.stack}/{c.logical_id}" for c in replaced)
    if consent is Consent.REFUSE:
        raise ReplaceRefused(
            f"the change set replaces {len(replaced)} stateful or disruptive resource(s) "
            f"({names}) and nobody agreed to that: not executed, the change set was removed",
            hint="check the replacement with `blueprint plan` or `blueprint diff`; to accept "
                 "it in a non-interactive run, pass --allow-replace")
    return confirm(f"This REPLACES {names}: the old resources are deleted. Replace them?",
                   assume_yes=False)


def _interrupted(aws: Aws, plan: Plan, ui: ConsoleUi, *, status_command: str,
                 executed: bool) -> int:
    if not executed:
        ui.print("Interrupted before execution; the change set was removed.")
        return EXIT_INTERRUPTED
    current = deploy_flow.current_stack(aws, plan.stack_name)
    state = current["StackStatus"] if current else "unknown"
    ui.print(f"Interrupted. CloudFormation keeps going: stack {plan.stack_name} is "
             f"{state}. Follow it with `{status_command}`.")
    return EXIT_INTERRUPTED
