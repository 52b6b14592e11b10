"""The top-level handler: every way a run ends maps to a documented exit code.

0 clean, 1 findings, 2 could not check, 3 internal error (a bug, never a finding),
130 interrupted, 141 standard output closed early (128 + SIGPIPE).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from blueprint import cli
from blueprint.commands import render
from blueprint.errors import EXIT_BROKEN_PIPE, EXIT_INTERNAL, EXIT_INTERRUPTED

REPO = Path(__file__).resolve().parents[1]
MINIMAL = str(REPO / "examples" / "minimal.blueprint.yml")


def crash(*args: object, **kwargs: object) -> int:
    raise RuntimeError("boom\n  with a second line")


def test_a_crash_is_exit_3_and_one_line_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    monkeypatch.setattr(render, "run", crash)
    code = cli.main(["render", MINIMAL, "-o", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == EXIT_INTERNAL == 3
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("error: internal error: RuntimeError: boom with a second line")
    assert "please report" in err and "BLUEPRINT_DEBUG=1" in err
    assert "Traceback" not in err


def test_blueprint_debug_shows_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    monkeypatch.setattr(render, "run", crash)
    code = cli.main(["render", MINIMAL, "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == EXIT_INTERNAL
    assert "Traceback (most recent call last)" in err
    assert 'raise RuntimeError("boom' in err
    assert err.rstrip().splitlines()[-1].startswith("error: internal error: RuntimeError")


def test_ctrl_c_in_a_command_is_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(render, "run", interrupted)
    code = cli.main(["render", MINIMAL, "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == EXIT_INTERRUPTED == 130
    assert "interrupted" in err and "Traceback" not in err


def run_with_closed_stdout(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m blueprint ARGV`` with its stdout a pipe whose reader is gone,
    as in ``blueprint ... | head -0``: the first write meets EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "blueprint", *argv], stdout=write_end,
            stderr=subprocess.PIPE, text=True, timeout=120, check=False, cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize("argv", [
    pytest.param(["--help"], id="click-output"),
    pytest.param(["validate", "--no-lint", "--no-cache", "--format", "json", MINIMAL],
                 id="command-output"),
])
def test_a_closed_output_pipe_is_141_and_quiet(argv: list[str]) -> None:
    done = run_with_closed_stdout(*argv)
    assert done.returncode == EXIT_BROKEN_PIPE == 128 + signal.SIGPIPE, done.stderr
    assert done.stderr == ""


def test_a_broken_pipe_inside_a_command_is_not_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def pipe_closed(*args: object, **kwargs: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(render, "run", pipe_closed)
    assert cli.main(["render", MINIMAL, "-o", str(tmp_path)]) == EXIT_BROKEN_PIPE
    assert capsys.readouterr().err == ""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_real_ctrl_c_is_130_without_traceback(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import sys, time
        from blueprint.commands import render

        def wait(*args, **kwargs):
            print("waiting", flush=True)
            time.sleep(60)

        render.run = wait
        sys.argv = ["blueprint", "render", sys.argv[1], "-o", sys.argv[2]]
        from blueprint.cli import entry
        entry()
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script, MINIMAL, str(tmp_path)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "waiting\n"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "interrupted" in err and "Traceback" not in err


# ------------------------------------------------------------ diff, and deploy's consent


SEED = REPO / "examples" / "seed.blueprint.yml"


def test_diff_is_wired_with_the_formats_of_its_command() -> None:
    from blueprint.commands import diff

    assert list(diff.FORMATS) == cli.DIFF_FORMATS


def test_diff_of_two_blueprints_and_fail_on_replace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = tmp_path / "edited.blueprint.yml"
    # the service's port (the first `port:` below `service:`), whatever it is now
    edited.write_text(re.sub(r"(\nservice:\n(?:  .*\n)*?  port: )\d+", r"\g<1>9090",
                             SEED.read_text(encoding="utf-8"), count=1), encoding="utf-8")
    assert cli.main(["diff", str(SEED), str(edited), "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "TargetGroup" in out and "replaced" in out
    assert cli.main(["diff", str(SEED), str(edited), "--fail-on-replace"]) == 1
    capsys.readouterr()
    assert cli.main(["diff", str(SEED), str(SEED), "--fail-on-replace"]) == 0


def test_diff_needs_something_to_compare_with(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["diff", str(SEED)]) == 2
    assert "nothing to compare" in capsys.readouterr().err


def test_deploy_offers_allow_replace_and_yes_says_it_does_not_cover_it(
    capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["deploy", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--allow-replace" in help_text and "even with --yes" in help_text


# ------------------------------------------------------------------------------ environments

ENVIRONMENTS = REPO / "examples" / "orders-envs.blueprint.yml"


def test_render_and_show_take_an_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for env in ("dev", "prod"):
        out = tmp_path / env
        assert cli.main(["render", str(ENVIRONMENTS), "--env", env, "-o", str(out)]) == 0
    # only prod overrides the listener to HTTPS with its certificate
    assert "HTTPS" in (tmp_path / "prod" / "service.yml").read_text(encoding="utf-8")
    assert "HTTPS" not in (tmp_path / "dev" / "service.yml").read_text(encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["show", str(ENVIRONMENTS), "--env", "dev"]) == 0
    assert "t3.large" in capsys.readouterr().out
    assert cli.main(["render", str(ENVIRONMENTS), "-o", str(tmp_path)]) == 2
    assert "has environments dev, staging, prod" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["plan", "deploy", "outputs", "status", "delete"])
def test_cloud_commands_document_env_and_its_pins(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([command, "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--env NAME" in help_text and "pins" in help_text


def test_diagram_is_wired_with_the_formats_of_its_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from blueprint import diagram

    assert list(diagram.FORMATS) == cli.DIAGRAM_FORMATS
    assert cli.main(["diagram", str(ENVIRONMENTS), "--env", "prod"]) == 0
    assert capsys.readouterr().out.strip()
    svg = tmp_path / "prod.svg"
    assert cli.main(["diagram", str(ENVIRONMENTS), "--env", "prod", "--format", "svg",
                     "-o", str(svg)]) == 0
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<")
