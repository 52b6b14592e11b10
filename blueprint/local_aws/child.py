"""The local AWS endpoint as a child process, and the line it reports its port on.

The parent runs ``python -m blueprint.local_aws --port 0 --stop-at-stdin-eof``
and reads standard output until the child prints :func:`ready_line`. The child's
standard input stays open for its whole life: when the parent ends, however it
ends, the child reads end-of-file and stops. Its standard error goes to an
unnamed temporary file, read back only to explain a child that failed to start
(a pipe nobody drains could fill up and block the endpoint).
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import site
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

from blueprint.errors import BlueprintError
from blueprint.local_aws.server import LocalAws, require_local_extra
from blueprint.tools import start_tool

__all__ = [
    "DEFAULT_START_TIMEOUT_SECONDS",
    "ChildEndpoint",
    "parse_ready_line",
    "ready_line",
    "start_child",
]

DEFAULT_START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 10.0
STDERR_TAIL_CHARS = 2000
_READY = re.compile(r"^blueprint-local-aws ready port=(\d+)$")


def ready_line(port: int) -> str:
    """What the child prints on standard output once it accepts connections."""
    return f"blueprint-local-aws ready port={port}"


def parse_ready_line(line: str) -> int | None:
    match = _READY.match(line.strip())
    return int(match.group(1)) if match else None


class ChildEndpoint:
    """The child process; ``stop`` ends it (politely first) and releases its files."""

    def __init__(self, process: subprocess.Popen[str], stderr: IO[bytes]) -> None:
        self.process = process
        self._stderr = stderr

    def stderr_tail(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._stderr.flush()
            size = self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, size - STDERR_TAIL_CHARS))
            return self._stderr.read().decode("utf-8", "replace").strip()
        return ""

    def stop(self) -> None:
        """End-of-file on its stdin (it stops itself), then SIGTERM, then SIGKILL."""
        process = self.process
        try:
            self._close_pipes()
            for ask in (process.terminate, process.kill):
                try:
                    process.wait(timeout=STOP_TIMEOUT_SECONDS / 2)
                    break
                except subprocess.TimeoutExpired:
                    ask()
            else:
                process.wait()
        finally:
            if process.poll() is None:  # interrupted while waiting
                process.kill()
            self._stderr.close()

    def kill(self) -> None:
        """End a child that never became ready: nothing to wait for."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._close_pipes()
        self._stderr.close()

    def _close_pipes(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def child_argv(port: int, host: str, *, verbose: bool) -> list[str]:
    argv = [sys.executable, "-m", "blueprint.local_aws", "--port", str(port), "--host", host,
            "--stop-at-stdin-eof"]
    return [*argv, "--verbose"] if verbose else argv


def package_root() -> str:
    """The directory this ``blueprint`` package was imported from."""
    import blueprint

    return str(Path(blueprint.__file__).resolve().parent.parent)


def child_env() -> dict[str, str]:
    """This environment, with :func:`package_root` on the child's path (unless it is a
    site directory anyway), so the child runs the same code."""
    root = package_root()
    env = dict(os.environ)
    site_dirs = {str(Path(p).resolve()) for p in [*site.getsitepackages(),
                                                  site.getusersitepackages()]}
    if root not in site_dirs:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def start_child(port: int, host: str, *, verbose: bool, timeout: float) -> LocalAws:
    """Start the endpoint child and return once it reported its port."""
    require_local_extra()
    started = time.perf_counter()
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 -- owned by the ChildEndpoint
    try:
        process = start_tool(child_argv(port, host, verbose=verbose), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=stderr, env=child_env(),
                             # `-m` puts the working directory first on sys.path: there,
                             # a `blueprint/` of the user's could stand in for this one.
                             cwd=package_root(), new_session=True)
    except BaseException:
        stderr.close()
        raise
    child = ChildEndpoint(process, stderr)
    try:
        actual_port = _read_port(child, timeout)
    except BaseException:  # Ctrl-C and errors alike: no endpoint left behind
        child.kill()
        raise
    local = LocalAws(child, host, actual_port, pid=process.pid)
    local.started_seconds = time.perf_counter() - started
    return local


def _read_port(child: ChildEndpoint, timeout: float) -> int:
    lines: queue.Queue[str | None] = queue.Queue()
    stdout = child.process.stdout
    assert stdout is not None

    def read() -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in stdout:
                lines.put(line)
                if parse_ready_line(line) is not None:
                    return
        lines.put(None)

    threading.Thread(target=read, name="blueprint-local-aws-port", daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise _start_failed(child, f"did not start within {timeout:g} s") from None
        if line is None:
            code = child.process.wait()
            raise _start_failed(child, f"exited at start (exit code {code})")
        port = parse_ready_line(line)
        if port is not None:
            return port


def _start_failed(child: ChildEndpoint, what: str) -> BlueprintError:
    tail = child.stderr_tail()
    detail = f":\n{tail}" if tail else " (it wrote nothing on stderr)"
    return BlueprintError(f"the local AWS endpoint (python -m blueprint.local_aws) {what}"
                          f"{detail}")
