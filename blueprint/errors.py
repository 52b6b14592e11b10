"""Expected failures and the exit codes they map to.

Anything raised as a ``BlueprintError`` is a condition a user can act on:
the top-level handler in ``cli`` prints its message (never a traceback) and
exits with its code.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1  # the check ran and found problems (or a deploy failed in AWS)
EXIT_CANNOT_CHECK = 2  # could not check or could not act: a tool, AWS, the input file
EXIT_INTERNAL = 3  # a bug in blueprint: never reported as a finding
EXIT_DECLINED = 4  # the user answered "no" to a confirmation; nothing was changed
EXIT_INTERRUPTED = 130  # Ctrl-C
# standard output closed by its reader (`blueprint ... | head`): 128 + SIGPIPE, as a
# shell reports for `cat` or `git log` in the same place
EXIT_BROKEN_PIPE = 141


class BlueprintError(Exception):
    """An expected failure with a message meant for the user."""

    exit_code = EXIT_CANNOT_CHECK

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ToolError(BlueprintError):
    """An external checker (cfn-guard, cfn-lint) could not run or answered garbage."""


class UsageError(BlueprintError):
    """The command line asked for something impossible."""


class DeployFailed(BlueprintError):
    """CloudFormation reported a failure; the message names its root cause."""

    exit_code = EXIT_FINDINGS
