"""What the cloud commands share: AWS options, the local endpoint, the gate, output."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from blueprint import environments
from blueprint.api import CheckedBlueprint, check_blueprint, load_blueprint
from blueprint.aws.session import Aws, AwsTarget, pinned_source
from blueprint.deploy_flow import GateRefused
from blueprint.deployer import PinMismatch, region_flag_problem
from blueprint.environments import Environment
from blueprint.errors import BlueprintError
from blueprint.finding import Report
from blueprint.formatters import text
from blueprint.loader import load_file
from blueprint.resources import DEFAULT_REGION

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudformation.type_defs import StackTypeDef

    from blueprint.aws.stacks import StackEvent


@dataclass(frozen=True)
class CloudOptions:
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    local: bool = False
    # Where ``region`` came from when it is not the user's --region (an environment's pin).
    region_source: str | None = None

    @property
    def poll_seconds(self) -> float:
        """How often to look at CloudFormation: a local endpoint answers at once."""
        return 0.2 if self.local or self.endpoint_url else 3.0


def target_region(options: CloudOptions) -> str:
    """The region the command will work in, resolved as ``open_aws`` resolves it."""
    if options.local:
        return options.region or DEFAULT_REGION
    return Aws(AwsTarget(options.region, options.profile, options.endpoint_url)).region


@contextlib.contextmanager
def open_aws(options: CloudOptions) -> Iterator[Aws]:
    """An ``Aws`` for the options; with ``--local``, a local endpoint for the duration."""
    target = AwsTarget(options.region, options.profile, options.endpoint_url,
                       region_source=options.region_source)
    if not options.local:
        yield Aws(target)
        return
    if options.endpoint_url:
        raise BlueprintError("--local and --endpoint-url exclude each other")
    from blueprint.local_aws.server import require_local_extra, start_local_aws

    require_local_extra()  # before saying that an endpoint starts
    console().print("[dim]starting a local AWS endpoint (moto) for this command...[/dim]")
    with start_local_aws() as local:
        yield Aws(replace(target, endpoint_url=local.endpoint_url,
                          region=options.region or DEFAULT_REGION, local_credentials=True,
                          region_source=options.region_source or (
                              "--region" if options.region else
                              "the local endpoint's default")))


@dataclass(frozen=True)
class StackTarget:
    """The stack a command works on, and the environment whose pins it must respect."""

    name: str
    environment: Environment | None

    def command(self, verb: str, path: str) -> str:
        """The command line that does ``verb`` to this stack, for hints."""
        env = f" --env {self.environment.name}" if self.environment is not None else ""
        return f"blueprint {verb} {path}{env}"


def stack_target(path: str, env: str | None) -> StackTarget:
    """The blueprint's stack, read without the policy checks: its name and, with
    environments, the one ``env`` selects (exit 2 listing them when ``env`` is missing)."""
    doc, blueprint, findings = load_blueprint(path)
    if doc is None or blueprint is None:
        sys.stdout.write(text.render(Report((path,), tuple(findings))))
        raise GateRefused(f"{path} is not a valid blueprint")
    environment = environments.select(doc, env)
    return StackTarget(environment.stack_name if environment is not None else blueprint.name,
                       environment)


def chosen_environment(path: str, env: str | None) -> Environment | None:
    """The environment ``env`` selects, from the file's YAML alone, before the gate checks
    the rest (exit 2 listing them when ``env`` is missing): its pins are needed first.

    None also when the file cannot be read as YAML: the gate then says why and refuses.
    """
    doc, _ = load_file(path)
    if doc is None or not isinstance(doc.data, dict):
        return None
    return environments.select(doc, env)


def pinned(options: CloudOptions, environment: Environment | None) -> CloudOptions:
    """The options with the environment's region pin applied: --region may only agree
    with it; without --region the pin is the region (and is said to be)."""
    if environment is None:
        return options
    problem = region_flag_problem(environment, options.region)
    if problem is not None:
        raise PinMismatch(problem + ": refused, nothing was changed")
    return replace(options, region=environment.region,
                   region_source=pinned_source(environment.name))


@dataclass
class DeployedStack:
    """An environment's parent stack as CloudFormation has it now (``stack`` None: absent)."""

    target: StackTarget
    aws: Aws
    cfn: CloudFormationClient
    stack: StackTypeDef | None

    @property
    def name(self) -> str:
        return self.target.name


@contextlib.contextmanager
def deployed_stack(path: str, options: CloudOptions,
                   env: str | None = None) -> Iterator[DeployedStack]:
    """The blueprint's parent stack, with AWS failures mapped to one-line errors; in an
    environment's pinned region, refused in any account but the pinned one."""
    from blueprint.aws import stacks
    from blueprint.aws.session import aws_errors
    from blueprint.deploy_flow import check_pins

    target = stack_target(path, env)
    with open_aws(pinned(options, target.environment)) as aws, aws_errors(aws.target):
        check_pins(aws, target.environment)
        cfn = aws.cloudformation()
        yield DeployedStack(target, aws, cfn, stacks.describe_stack(cfn, target.name))


def console(*, stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, stderr=stderr)


def region_line(aws: Aws) -> str:
    """Which region, and why: a default is shown in colour, never assumed silently."""
    choice = aws.region_choice
    return f"[yellow]{choice.describe()}[/yellow]" if choice.is_default \
        else f"[dim]{choice.describe()}[/dim]"


def gate(path: str, region: str | None = None, *,
         environment: str | None = None) -> CheckedBlueprint:
    """Check as `blueprint validate` would here (schema, policies, the organisation's
    rule packs and fail-on from [tool.blueprint], cfn-lint) and refuse on any failure.

    ``region``: the region deployed to, which cfn-lint checks the templates for
    (instance types, for one, differ between regions). ``environment``: the one
    deployed, whose effective blueprint is rendered (every environment is checked).
    The result carries the rendering that was checked: it is what gets deployed.
    """
    from blueprint.config import gate_options

    options, threshold = gate_options()
    if region is not None and _lintable(region):
        options = replace(options, region=region)
    checked = check_blueprint(path, options, environment=environment)
    if checked.report.exit_code(threshold) != 0:
        sys.stdout.write(text.render(checked.report))
        raise GateRefused(f"{path} does not pass validation: nothing was deployed")
    if checked.blueprint is None or checked.rendering is None:
        # validate passed, so this cannot happen; fail closed anyway
        raise GateRefused(f"{path} could not be rendered after it passed validation: "
                          "nothing was deployed")
    return checked


def _lintable(region: str) -> bool:
    """cfn-lint refuses a region it has no data for (a region newer than it): such a
    deploy is linted as the default region, and says so."""
    from cfnlint.helpers import REGIONS

    if region in REGIONS:
        return True
    console(stderr=True).print(f"[yellow]cfn-lint has no data for {region}: the templates "
                               f"are linted as {DEFAULT_REGION}[/yellow]")
    return False


def interactive() -> bool:
    """Whether a person can be asked (standard input is a terminal)."""
    return sys.stdin.isatty()


def confirm(question: str, *, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not interactive():
        raise BlueprintError(f"{question} -- no terminal to ask",
                             hint="pass --yes to confirm in non-interactive runs")
    import click

    return bool(click.confirm(question, default=False))


class ConsoleUi:
    """How the cloud commands show progress: rich tables and one line per event."""

    _STYLE: ClassVar[dict[str, str]] = {
        "COMPLETE": "green", "FAILED": "bold red", "IN_PROGRESS": "yellow"}

    def __init__(self) -> None:
        self.console = console()

    def print(self, message: str) -> None:
        self.console.print(message)

    def event(self, event: StackEvent) -> None:
        style = next((s for k, s in self._STYLE.items() if event.status.endswith(k)), "")
        stamp = event.timestamp.strftime("%H:%M:%S") if hasattr(event.timestamp, "strftime") \
            else str(event.timestamp)
        indent = "  " * event.depth
        reason = f" [dim]{event.reason}[/dim]" if event.reason else ""
        self.console.print(f"{stamp} {indent}{event.stack_label:<13} {event.logical_id:<32} "
                           f"[{style}]{event.status}[/{style}]{reason}" if style else
                           f"{stamp} {indent}{event.stack_label:<13} {event.logical_id:<32} "
                           f"{event.status}{reason}")

    def changes(self, rows: list[tuple[str, str, str, str, str]], title: str) -> None:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in ("Stack", "Action", "Logical ID", "Type", "Replacement"):
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        self.console.print(table)

    def outputs(self, outputs: dict[str, str]) -> None:
        from rich.table import Table

        table = Table(title="Outputs", title_justify="left")
        table.add_column("Output", no_wrap=True)
        table.add_column("Value", overflow="fold")
        for key in sorted(outputs, key=lambda k: (k != "ServiceUrl", k)):
            table.add_row(key, outputs[key])
        self.console.print(table)
