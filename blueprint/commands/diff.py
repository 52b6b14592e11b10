"""`blueprint diff`: what an edit adds, modifies, removes and replaces, with no AWS account.

Two blueprint files (``OLD NEW``), or one file against a git revision of itself
(``FILE --against REV``, read with ``git show REV:./FILE``). Both are rendered as
``deploy`` would render them and compared by ``blueprint.diff``. Both sides are
rendered by the installed blueprint, so the diff shows what the edit changes, not
what a blueprint upgrade changes in the templates (``plan`` against the deployed
stack shows both).

Exit codes: a preview succeeds whether or not there are changes (0), as
``terraform plan`` and ``cdk diff`` do by default; ``--fail-on-replace`` makes a
replacement of a stateful or disruptive resource, or a replacement that
CloudFormation will refuse, exit 1 (the "findings" code: a pre-commit hook or CI
step stops there). An invalid blueprint exits 1 with its findings; a file that
cannot be read, a path outside a git repository or an unknown revision exits 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

from blueprint import environments, schema
from blueprint.diff import StackDiff, diff_renderings
from blueprint.diff import report as diff_report
from blueprint.errors import EXIT_FINDINGS, EXIT_OK, BlueprintError, UsageError
from blueprint.expander import Rendering, render
from blueprint.finding import Finding, Report, Severity
from blueprint.formatters import text
from blueprint.kinds import BLUEPRINT, TEMPLATE, kind_of, not_a_blueprint, template_not_blueprint
from blueprint.loader import MAX_FILE_BYTES, load_bytes
from blueprint.model import from_data
from blueprint.tools import run_tool

FORMATS = ("table", "json", "markdown")


class Side(NamedTuple):
    """One side of a diff: how it is shown, the bytes of its blueprint and, for a
    blueprint with environments, the environment whose effective blueprint is compared."""

    label: str
    raw: bytes
    env: str | None = None


def run(first: str, second: str | None = None, *, against: str | None = None,
        output_format: str = "table", fail_on_replace: bool = False,
        env: str | None = None, against_env: str | None = None) -> int:
    """``run(OLD, NEW)``, ``run(FILE, against=REV)`` or ``run(FILE, env=E, against_env=F)``;
    prints the diff, returns the exit code.

    ``env`` selects the environment of both sides; ``against_env`` that of the old side
    (the one compared with), so ``FILE --env dev --against-env prod`` shows how dev
    differs from prod, and ``FILE --env prod --against HEAD`` what an edit does to prod.
    """
    if output_format not in FORMATS:
        raise UsageError(f"unknown format {output_format!r}", hint=f"choose one of "
                                                                   f"{', '.join(FORMATS)}")
    old, new = with_environments(sides(first, second, against, against_env=against_env),
                                 env, against_env)
    renderings = [_render(side) for side in (old, new)]
    if renderings[0] is None or renderings[1] is None:
        return EXIT_FINDINGS
    diff = diff_renderings(renderings[0], renderings[1])
    _print(diff, old.label, new.label, output_format)
    if fail_on_replace and diff.blocking:
        sys.stderr.write(f"--fail-on-replace: {len(diff.blocking)} replacement(s) of stateful "
                         f"or disruptive resources, or that will fail\n")
        return EXIT_FINDINGS
    return EXIT_OK


def sides(first: str, second: str | None, against: str | None, *,
          against_env: str | None = None) -> tuple[Side, Side]:
    """The two blueprints compared: OLD and NEW, FILE at REV and FILE, or (with
    ``against_env`` alone) FILE and FILE, to be read as two environments."""
    if against is not None and second is not None:
        raise UsageError("give either OLD NEW or FILE --against REV, not both")
    if against is None and second is None:
        if against_env is not None:
            raw = _read(first)
            return Side(first, raw), Side(first, raw)
        raise UsageError("nothing to compare FILE with",
                         hint="give OLD NEW, FILE --against REV (e.g. --against HEAD), or "
                              "FILE --env E --against-env F")
    if against is not None:
        return Side(f"{first}@{against}", read_at_revision(first, against)), \
            Side(first, _read(first))
    assert second is not None
    return Side(first, _read(first)), Side(second, _read(second))


def with_environments(pair: tuple[Side, Side], env: str | None,
                      against_env: str | None) -> tuple[Side, Side]:
    """The sides with their environments: ``env`` for both, ``against_env`` instead for
    the old side; a side with an environment is labelled ``LABEL (env NAME)``."""
    old, new = pair
    old_env = against_env if against_env is not None else env
    return _in_environment(old, old_env), _in_environment(new, env)


def _in_environment(side: Side, env: str | None) -> Side:
    if env is None:
        return side
    return Side(f"{side.label} (env {env})", side.raw, env)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise BlueprintError(f"cannot read {path}: {err.strerror or err}") from err


def read_at_revision(path: str, revision: str) -> bytes:
    """The file's content at a git revision, through ``git show REV:./NAME`` run in its
    directory (so a path anywhere inside the work tree works)."""
    if not revision or revision.startswith("-") or any(c.isspace() for c in revision):
        raise UsageError(f"{revision!r} is not a git revision",
                         hint="name a commit, branch or tag, e.g. --against HEAD~1")
    file = Path(path).absolute()
    result = run_tool(["git", "-C", str(file.parent), "show", "--no-textconv",
                       f"{revision}:./{file.name}"])
    if result.returncode != 0:
        message = (result.stderr.strip().splitlines() or ["git show failed"])[-1]
        message = message.removeprefix("fatal: ")
        raise BlueprintError(f"cannot read {path} at revision {revision}: {message}",
                             hint=_git_hint(message))
    return result.stdout.encode("utf-8")


def _git_hint(message: str) -> str | None:
    if "not a git repository" in message:
        return "--against reads the file from git: FILE must be inside a git work tree"
    if "invalid object name" in message or "unknown revision" in message:
        return "name a commit, branch or tag that exists (check with git rev-parse --verify)"
    if "does not exist in" in message or "exists on disk, but not in" in message:
        return "the file is new since that revision: compare two files instead (OLD NEW)"
    return None


def _render(side: Side) -> Rendering | None:
    """The side's rendering, or None after printing the findings that stop it."""
    doc, findings = load_bytes(side.label, side.raw)
    if doc is not None:
        kind = kind_of(doc)
        if kind == TEMPLATE:
            findings = [template_not_blueprint(doc)]
        elif kind != BLUEPRINT:
            findings = [not_a_blueprint(doc)]
        else:
            findings = schema.check_blueprint(doc)
            if not _errors(findings):
                environment = environments.select(doc, side.env)
                if environment is None:
                    return render(from_data(doc.data, schema.load_schema()))
                assert environment.document is not None
                findings = schema.check_blueprint(environment.document)
                if not _errors(findings):
                    return render(from_data(environment.data, schema.load_schema()))
    sys.stderr.write(text.render(Report(files=(side.label,), findings=tuple(findings))))
    return None


def _errors(findings: list[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


def _print(diff: StackDiff, old: str, new: str, output_format: str) -> None:
    if output_format == "json":
        sys.stdout.write(diff_report.to_json(diff, old, new))
    elif output_format == "markdown":
        sys.stdout.write(diff_report.to_markdown(diff, old, new))
    else:
        from blueprint.commands._cloud import console

        diff_report.print_table(diff, old, new, console())
