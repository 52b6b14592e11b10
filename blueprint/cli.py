"""The command line: parse, dispatch, map expected failures to exit codes.

Each command lives in ``blueprint.commands.<name>`` as a ``run`` function
returning an exit code; this module only wires options to it. ``run_cli`` is
the one top-level handler: every way a run can end maps to an exit code of
``blueprint.errors`` (0 clean, 1 findings, 2 could not check, 3 internal error,
4 declined, 130 interrupted, 141 output closed early), never to a traceback.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import click

from blueprint import __version__
from blueprint.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_CANNOT_CHECK,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    BlueprintError,
)

DEBUG_ENV = "BLUEPRINT_DEBUG"
FORMAT_CHOICES = ["text", "json", "sarif", "junit", "github", "markdown"]


class OutputClosed(Exception):
    """Standard output was closed by its reader (``blueprint ... | head``)."""


@contextlib.contextmanager
def _output_closed_is_not_an_os_error() -> Iterator[None]:
    # click answers an EPIPE with sys.exit(1), the "findings" code, even when it
    # is not standalone; a distinct exception lets run_cli choose the code.
    try:
        yield
    except BrokenPipeError as err:
        raise OutputClosed from err


class BlueprintGroup(click.Group):
    """The command group, with a broken pipe kept away from click's own handler."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _output_closed_is_not_an_os_error():  # --help, --version
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _output_closed_is_not_an_os_error():
            return super().invoke(ctx)


@click.group(cls=BlueprintGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="blueprint")
def cli() -> None:
    """Validate, render and deploy ECS-on-EC2 blueprints behind policy gates."""


@cli.command("validate")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--format", "output_format", type=click.Choice(FORMAT_CHOICES), default="text",
              show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here.")
@click.option("--no-lint", is_flag=True, help="Skip cfn-lint (schema and policies still run).")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default=None,
              help="Lowest severity that fails the run (default: [tool.blueprint] fail-on, "
                   "else error).")
@click.option("--rules", "extra_rules", multiple=True, type=click.Path(file_okay=False),
              help="Add a directory of Guard rules (advisory unless its catalog says "
                   "mandatory).")
@click.option("--pack", "packs", multiple=True, type=click.Choice(["control-tower"]),
              help="Add an installed rule pack (advisory: warnings). control-tower: AWS "
                   "Control Tower's proactive controls. Also [tool.blueprint] pack.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
def validate_command(files: tuple[str, ...], output_format: str, output: str | None,
                     no_lint: bool, fail_on: str | None, extra_rules: tuple[str, ...],
                     packs: tuple[str, ...], no_cache: bool) -> int:
    """Check blueprints and CloudFormation templates against the schema and policies.

    With no FILES, validates every blueprint found by the globs in [tool.blueprint]
    of pyproject.toml (default: **/*.blueprint.yml and blueprints/**).
    """
    from blueprint.commands import validate

    return validate.run(list(files), output_format=output_format, output=output,
                        lint=not no_lint, fail_on=fail_on, extra_rules=list(extra_rules),
                        packs=list(packs), use_cache=not no_cache)


def env_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--env", "env", metavar="NAME", help=help_text)


_ENV = env_option("The environment (of the blueprint's `environments`) to work on; "
                  "required when the blueprint has environments.")
_CLOUD_ENV = env_option(
    "The environment (of the blueprint's `environments`) to work on; required when the "
    "blueprint has environments. Its stack is the blueprint's name, a dash and NAME (e.g. "
    "orders-prod), and the command is refused (exit 1) "
    "unless the credentials' account and the region are the environment's pins.")


@cli.command("render")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output-dir", required=True, type=click.Path(file_okay=False),
              help="Directory for parent.yml, vpc.yml, cluster.yml and service.yml.")
@_ENV
def render_command(file: str, output_dir: str, env: str | None) -> int:
    """Write the CloudFormation templates a blueprint (or one of its environments)
    expands to."""
    from blueprint.commands import render

    return render.run(file, output_dir, env=env)


@cli.command("show")
@click.argument("file", type=click.Path(dir_okay=False))
@_ENV
def show_command(file: str, env: str | None) -> int:
    """Print the effective blueprint: every default filled in, each value annotated with
    where it came from (default, base line, or an environment's override line)."""
    from blueprint.commands import show

    return show.run(file, env=env)


# blueprint.diagram.FORMATS, spelled out so that `--help` imports nothing heavy.
DIAGRAM_FORMATS = ["mermaid", "svg"]


@cli.command("diagram")
@click.argument("file", type=click.Path(dir_okay=False))
@_ENV
@click.option("--format", "output_format", type=click.Choice(DIAGRAM_FORMATS),
              default="mermaid", show_default=True,
              help="Mermaid (what GitHub renders in a pull request) or SVG.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the diagram here instead of standard output.")
def diagram_command(file: str, env: str | None, output_format: str,
                    output: str | None) -> int:
    """Draw the architecture of a blueprint (or one of its environments): internet,
    load balancer, service tasks in private subnets across the zones, NAT, cluster."""
    from blueprint.commands import diagram

    return diagram.run(file, env=env, output_format=output_format, output=output)


# blueprint.commands.diff.FORMATS, spelled out so that `--help` imports nothing heavy.
DIFF_FORMATS = ["table", "json", "markdown"]


@cli.command("diff")
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", required=False, type=click.Path(dir_okay=False))
@click.option("--against", metavar="REV",
              help="Compare OLD with itself at this git revision (e.g. HEAD~1) instead of "
                   "with NEW.")
@click.option("--format", "output_format", type=click.Choice(DIFF_FORMATS), default="table",
              show_default=True, help="Output format.")
@click.option("--env", "env", metavar="NAME",
              help="Compare this environment of the blueprint(s) (required when they have "
                   "environments).")
@click.option("--against-env", metavar="NAME",
              help="Compare with this environment instead (the old side): `blueprint diff "
                   "FILE --env dev --against-env prod` shows how dev differs from prod.")
@click.option("--fail-on-replace", is_flag=True,
              help="Exit 1 when a stateful or disruptive resource is replaced, or a "
                   "replacement would fail.")
def diff_command(old: str, new: str | None, against: str | None, output_format: str,
                 env: str | None, against_env: str | None, fail_on_replace: bool) -> int:
    """Show what an edit adds, modifies, removes and replaces, per stack; no AWS account.

    `blueprint diff OLD NEW` compares two blueprints; `blueprint diff FILE --against REV`
    compares a blueprint with a git revision of itself; `blueprint diff FILE --env E
    --against-env F` compares two environments of one blueprint.
    """
    from blueprint.commands import diff

    return diff.run(old, new, against=against, output_format=output_format,
                    fail_on_replace=fail_on_replace, env=env, against_env=against_env)


def aws_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The AWS CLI's conventions, plus --local for a local endpoint."""
    for option in reversed([
        click.option("--region", help="AWS region (else AWS_REGION, AWS_DEFAULT_REGION, the "
                                      "profile's region, else us-east-1; the one used and "
                                      "why is printed). With --env, the environment's "
                                      "pinned region, which --region may only repeat."),
        click.option("--profile", help="AWS named profile."),
        click.option("--endpoint-url", help="Send AWS calls to this endpoint (e.g. a local "
                                            "`blueprint local-aws`)."),
        click.option("--local", is_flag=True, help="Start a local AWS endpoint (moto, in a "
                                                   "child process) for the duration of this "
                                                   "command; needs blueprint[local]."),
    ]):
        command = option(command)
    return command


def _cloud(region: str | None, profile: str | None, endpoint_url: str | None,
           local: bool) -> Any:
    from blueprint.commands._cloud import CloudOptions

    return CloudOptions(region=region, profile=profile, endpoint_url=endpoint_url, local=local)


_FILE = click.argument("file", type=click.Path(dir_okay=False))
_YES = click.option("-y", "--yes", "assume_yes", is_flag=True, help="Do not ask to confirm.")
_BUCKET = click.option("--bucket", help="Artifact bucket for nested templates (default: "
                                        "blueprint-artifacts-ACCOUNT-REGION).")


@cli.command("plan")
@_FILE
@_CLOUD_ENV
@aws_options
@_BUCKET
def plan_command(file: str, env: str | None, bucket: str | None, **aws: Any) -> int:
    """Show the changes a deploy would make (nested stacks included); change nothing."""
    from blueprint.commands import plan

    return plan.run(file, _cloud(**aws), bucket=bucket, env=env)


@cli.command("deploy")
@_FILE
@_CLOUD_ENV
@aws_options
@_BUCKET
@_YES
@click.option("--allow-replace", is_flag=True,
              help="Agree in advance to a change set that replaces a stateful or disruptive "
                   "resource (cluster, Auto Scaling group, capacity provider, load balancer, "
                   "target group, VPC, subnet, service). Without it such a deploy asks again "
                   "at a terminal, even with --yes, and is refused (exit 1) elsewhere.")
def deploy_command(file: str, env: str | None, bucket: str | None, assume_yes: bool,
                   allow_replace: bool, **aws: Any) -> int:
    """Validate, upload, create a change set, show it, execute it and follow it."""
    from blueprint.commands import deploy

    return deploy.run(file, _cloud(**aws), assume_yes=assume_yes, bucket=bucket,
                      allow_replace=allow_replace, env=env)


@cli.command("outputs")
@_FILE
@_CLOUD_ENV
@aws_options
@click.option("--json", "as_json", is_flag=True, help="Print the outputs as JSON.")
def outputs_command(file: str, env: str | None, as_json: bool, **aws: Any) -> int:
    """Print the deployed stack's outputs, the service URL first."""
    from blueprint.commands import outputs

    return outputs.run(file, _cloud(**aws), as_json=as_json, env=env)


@cli.command("status")
@_FILE
@_CLOUD_ENV
@aws_options
def status_command(file: str, env: str | None, **aws: Any) -> int:
    """Show the parent and nested stacks' statuses and any failure's root cause."""
    from blueprint.commands import status

    return status.run(file, _cloud(**aws), env=env)


@cli.command("delete")
@_FILE
@_CLOUD_ENV
@aws_options
@_YES
def delete_command(file: str, env: str | None, assume_yes: bool, **aws: Any) -> int:
    """Delete the environment's stacks (load balancers' deletion protection is turned
    off first, after the confirmation)."""
    from blueprint.commands import delete

    return delete.run(file, _cloud(**aws), assume_yes=assume_yes, env=env)


@cli.command("local-aws")
@click.option("--port", default=4566, show_default=True, type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1 (0: a free one, printed at start).")
def local_aws_command(port: int) -> int:
    """Run a local AWS endpoint (moto with blueprint's fidelity fixes) until stopped.

    Needs the `local` extra: pip install 'blueprint[local]'.
    """
    from blueprint.commands import local_aws

    return local_aws.run(port)


def main(argv: list[str] | None = None) -> int:
    return run_cli(cli, argv)


def entry() -> None:
    """The console script: ``main``, then a fast exit.

    A run allocates many small objects (cfn-lint's rule set above all); the
    collector's passes over them and the interpreter's teardown cost about a
    fifth of a cold ``validate``. Collection is made rarer (memory stays
    bounded), and once every output is flushed and every file and child
    process closed, the process ends without tearing down its modules.
    """
    gc.set_threshold(100_000, 50, 100)
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            code = EXIT_BROKEN_PIPE
        except (OSError, ValueError):  # e.g. a full disk behind `> report.txt`
            code = code or EXIT_CANNOT_CHECK
    os._exit(code)


def run_cli(group: Callable[..., Any], argv: list[str] | None) -> int:
    """Run the command line and map every way it can end to an exit code."""
    try:
        result = group.main(args=argv, prog_name="blueprint", standalone_mode=False)  # type: ignore[attr-defined]
    except (click.exceptions.Abort, KeyboardInterrupt):
        _say("interrupted")
        return EXIT_INTERRUPTED
    except click.ClickException as err:
        err.show()
        return EXIT_CANNOT_CHECK
    except BlueprintError as err:
        _say(f"error: {err}")
        return err.exit_code
    except (OutputClosed, BrokenPipeError):
        # Like `cat` or `git log` whose reader went away: the status a shell
        # reports for a process ended by SIGPIPE (128 + 13), and no message.
        _debug_traceback()
        return EXIT_BROKEN_PIPE
    except Exception as err:  # a bug: never reported as a finding
        _debug_traceback()
        _say(internal_error_line(err))
        return EXIT_INTERNAL
    if isinstance(result, int):
        return result
    return EXIT_OK


def internal_error_line(err: BaseException) -> str:
    """The one line an unexpected exception is reported as."""
    message = " ".join(str(err).split()) or "(no message)"
    if len(message) > 300:
        message = message[:297] + "..."
    return (f"error: internal error: {type(err).__name__}: {message} "
            f"(a bug in blueprint, please report it; {DEBUG_ENV}=1 shows the traceback)")


def _debug_traceback() -> None:
    if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        _say(traceback.format_exc().rstrip())


def _say(line: str) -> None:
    """A line on stderr; a closed stderr must not turn an exit code into a traceback."""
    with contextlib.suppress(OSError, ValueError):
        click.echo(line, err=True)


if __name__ == "__main__":
    entry()
