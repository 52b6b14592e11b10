"""The command line: parse, dispatch, map expected failures to exit codes.

Each command lives in ``blueprint.commands.<name>`` as a ``run`` function
returning an exit code; this module only wires options to it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from blueprint import __version__
from blueprint.errors import EXIT_CANNOT_CHECK, EXIT_INTERRUPTED, BlueprintError

FORMAT_CHOICES = ["text", "json", "sarif", "junit", "github", "markdown"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="blueprint")
def cli() -> None:
    """Validate, render and deploy ECS-on-EC2 blueprints behind policy gates."""


@cli.command("validate")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--format", "output_format", type=click.Choice(FORMAT_CHOICES), default="text",
              show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here.")
@click.option("--no-lint", is_flag=True, help="Skip cfn-lint (schema and policies still run).")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default="error",
              show_default=True, help="Lowest severity that fails the run.")
@click.option("--rules", "extra_rules", multiple=True, type=click.Path(file_okay=False),
              help="Add a directory of Guard rules (advisory unless its catalog says "
                   "mandatory).")
def validate_command(files: tuple[str, ...], output_format: str, output: str | None,
                     no_lint: bool, fail_on: str, extra_rules: tuple[str, ...]) -> int:
    """Check blueprints and CloudFormation templates against the schema and policies."""
    from blueprint.commands import validate

    return validate.run(list(files), output_format=output_format, output=output,
                        lint=not no_lint, fail_on=fail_on, extra_rules=list(extra_rules))


@cli.command("render")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output-dir", required=True, type=click.Path(file_okay=False),
              help="Directory for parent.yml, vpc.yml, cluster.yml and service.yml.")
def render_command(file: str, output_dir: str) -> int:
    """Write the CloudFormation templates a blueprint expands to."""
    from blueprint.commands import render

    return render.run(file, output_dir)


def main(argv: list[str] | None = None) -> int:
    return run_cli(cli, argv)


def run_cli(group: Callable[..., Any], argv: list[str] | None) -> int:
    try:
        result = group.main(args=argv, prog_name="blueprint", standalone_mode=False)  # type: ignore[attr-defined]
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as err:
        err.show()
        return EXIT_CANNOT_CHECK
    except BlueprintError as err:
        click.echo(f"error: {err}", err=True)
        return err.exit_code
    except BrokenPipeError:
        return 1
    if isinstance(result, int):
        return result
    return 0


if __name__ == "__main__":
    sys.exit(main())
