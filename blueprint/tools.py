"""The one way blueprint runs an external program, and how it finds cfn-guard.

``run_tool`` takes an argv list (never a shell string), bounds the run with a
timeout and turns every way a program can fail to start or finish into a
``ToolError`` naming the program, so callers fail closed. ``start_tool`` is its
sibling for a long-lived child (the local AWS endpoint): the same argv rule and
the same errors for a program that cannot start; the caller owns the process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeAlias

from blueprint.errors import ToolError
from blueprint.resources import user_cache_dir

DEFAULT_TIMEOUT_SECONDS = 120.0
GUARD_VERSION = "3.1.1"
GUARD_INSTALL_HINT = (
    "install the pinned cfn-guard 3.1.1 with `python -m blueprint.install_guard` "
    "(a checkout's `scripts/setup` runs it), or point $CFN_GUARD at a cfn-guard 3.x binary"
)


@dataclass(frozen=True)
class ToolResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def run_tool(argv: list[str], *, timeout: float = DEFAULT_TIMEOUT_SECONDS,
             stdin: str | None = None) -> ToolResult:
    name = Path(argv[0]).name
    try:
        completed = subprocess.run(
            argv, input=stdin, capture_output=True, timeout=timeout, check=False,
            text=True, encoding="utf-8", errors="replace",
        )
    except subprocess.TimeoutExpired as err:
        raise ToolError(f"{name} did not finish within {timeout:g} s") from err
    except OSError as err:
        raise _start_error(argv, err) from err
    return ToolResult(tuple(argv), completed.returncode, completed.stdout, completed.stderr)


Stream: TypeAlias = int | IO[Any] | None


def start_tool(argv: list[str], *, stdin: Stream = None, stdout: Stream = None,
               stderr: Stream = None, env: dict[str, str] | None = None,
               cwd: str | None = None, new_session: bool = False) -> subprocess.Popen[str]:
    """Start a long-lived child (text pipes, UTF-8); the caller waits for and ends it.

    ``new_session``: the terminal's Ctrl-C reaches only this process, which then
    ends the child in order instead of both dying at once.
    """
    try:
        return subprocess.Popen(
            argv, stdin=stdin, stdout=stdout, stderr=stderr, env=env, cwd=cwd,
            start_new_session=new_session, text=True, encoding="utf-8", errors="replace",
        )
    except OSError as err:
        raise _start_error(argv, err) from err


def _start_error(argv: list[str], err: OSError) -> ToolError:
    name = Path(argv[0]).name
    if isinstance(err, FileNotFoundError):
        return ToolError(f"{name} not found at {argv[0]}", hint=GUARD_INSTALL_HINT
                         if name.startswith("cfn-guard") else None)
    if isinstance(err, PermissionError):
        return ToolError(f"{name} at {argv[0]} is not executable", hint=f"chmod +x {argv[0]}")
    return ToolError(f"{name} could not be started: {err.strerror or err}")


def project_tools_dir() -> Path:
    """Where the set-up installs pinned tools: $BLUEPRINT_TOOLS_DIR or ~/.cache/blueprint/tools."""
    return user_cache_dir("BLUEPRINT_TOOLS_DIR", "tools")


def find_cfn_guard() -> str:
    """$CFN_GUARD, then PATH, then the project's own tools location."""
    configured = os.environ.get("CFN_GUARD")
    if configured:
        return configured  # run_tool reports it if it is missing or broken
    on_path = shutil.which("cfn-guard")
    if on_path:
        return on_path
    installed = project_tools_dir() / "bin" / "cfn-guard"
    if installed.is_file():
        return str(installed)
    raise ToolError("cfn-guard is not installed: the policies cannot be checked",
                    hint=GUARD_INSTALL_HINT)
