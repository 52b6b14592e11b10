"""Fail closed: when a checker cannot be trusted, blueprint never says "pass".

Every broken-tool case must exit 2 with a one-line ``error: ...`` message
naming the problem (optionally followed by ``  hint:`` lines) and no
traceback. A broken cache must not change the answer at all. Hostile input
(alias bombs, huge files, very long files) is refused with bounded memory.

Wall-clock bounds here only tell "stopped" from "hung" (none is under 10 s, so a
loaded machine cannot fail them); how fast hostile input is refused is measured
in ``bench/``, not asserted.

The fake cfn-guard programs are small Python scripts written into tmp_path.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from blueprint.cli import main
from blueprint.errors import ToolError
from blueprint.loader import MAX_FILE_BYTES
from blueprint.tools import find_cfn_guard

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = REPO_ROOT / "examples" / "minimal.blueprint.yml"
EXIT_OK, EXIT_FINDINGS, EXIT_CANNOT_CHECK = 0, 1, 2

# A template cfn-lint always flags (E3002: unknown property), so the right
# answer is "findings" (exit 1) whatever the Guard rules say.
LINT_ERROR_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      NotARealProperty: 1
"""


def _real_guard() -> str | None:
    try:
        guard = find_cfn_guard()
    except ToolError:
        return None
    return guard if Path(guard).is_file() else None


REAL_GUARD = _real_guard()
needs_guard = pytest.mark.skipif(REAL_GUARD is None, reason="cfn-guard is not installed")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's cache; start every test from an empty one."""
    monkeypatch.setenv("BLUEPRINT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BLUEPRINT_GUARD_TIMEOUT", raising=False)
    if REAL_GUARD:
        monkeypatch.setenv("CFN_GUARD", REAL_GUARD)


def run_main(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_cannot_check(code: int, err: str, problem: str) -> None:
    """Exit 2, one ``error:`` line matching ``problem``, hints only after it, no traceback."""
    assert "Traceback" not in err, err
    assert code == EXIT_CANNOT_CHECK, f"exit {code}, stderr: {err!r}"
    lines = err.strip().splitlines()
    assert lines, "no message on stderr"
    assert lines[0].startswith("error:"), lines
    assert re.search(problem, lines[0], re.IGNORECASE), f"{lines[0]!r} !~ {problem!r}"
    assert all(line.startswith("  hint:") or line.startswith("    ") for line in lines[1:]), \
        f"more than one line of message: {lines}"


# ----------------------------------------------------------------- fake cfn-guard

FAKE_PRELUDE = """\
import json, os, signal, subprocess, sys, time
args = sys.argv[1:]
if args[:1] == ["--version"]:
    print("cfn-guard 3.1.1")
    sys.exit(0)
files = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-d", "--data")]
def report(status="PASS", names=None):
    return [{"name": n, "metadata": {}, "status": status, "not_compliant": [],
             "not_applicable": [], "compliant": []} for n in (files if names is None else names)]
"""

FAKES: dict[str, str] = {
    # control: a well-behaved cfn-guard that passes everything
    "pass": "print(json.dumps(report())); sys.exit(0)",
    "exit-255": "sys.stderr.write('thread main panicked at src/lib.rs\\n'); sys.exit(255)",
    "segfault": "os.kill(os.getpid(), signal.SIGSEGV); time.sleep(5)",
    "killed": "os.kill(os.getpid(), signal.SIGKILL); time.sleep(5)",
    "exit-3": "sys.exit(3)",
    "garbage": "print('this is not JSON <html>'); sys.exit(0)",
    "empty-output": "sys.exit(0)",
    "binary-output": "sys.stdout.buffer.write(bytes(range(256))); sys.exit(0)",
    "truncated-json": "print(json.dumps(report())[:-7]); sys.exit(0)",
    "json-object": "print(json.dumps({'status': 'PASS'})); sys.exit(0)",
    "empty-list": "print('[]'); sys.exit(0)",
    "other-files": "print(json.dumps(report(names=['/elsewhere/x.yml']))); sys.exit(0)",
    "one-file-missing": "print(json.dumps(report()[1:])); sys.exit(0)",
    "pass-report-exit-19": "print(json.dumps(report())); sys.exit(19)",
    "fail-report-exit-0": "print(json.dumps(report('FAIL'))); sys.exit(0)",
    "syntax-error-exit-5": (
        "print(json.dumps(report('SKIP'))); "
        "sys.stderr.write('Parser Error when parsing rules file bad.guard\\n'); sys.exit(5)"),
    "unreadable-entry": (
        "r = report('FAIL'); r[0]['not_compliant'] = ['oops']; "
        "print(json.dumps(r)); sys.exit(19)"),
}

# which part of the first stderr line names the problem
EXPECTED: dict[str, str] = {
    "exit-255": r"cfn-guard.*error|panicked",
    "segfault": r"cfn-guard.*(-11|SIGSEGV|signal|crash|killed)",
    "killed": r"cfn-guard.*(-9|SIGKILL|signal|crash|killed)",
    "exit-3": r"cfn-guard.*\b3\b",
    "garbage": r"not JSON",
    "empty-output": r"not JSON|no output|empty",
    "binary-output": r"not JSON",
    "truncated-json": r"not JSON",
    "json-object": r"not a list",
    "empty-list": r"did not report",
    "other-files": r"did not report|not given|unexpected|unknown file",
    "one-file-missing": r"did not report",
    "pass-report-exit-19": r"failure but named no failing rule",
    "fail-report-exit-0": r"exited 0 while reporting failing",
    "syntax-error-exit-5": r"syntax error",
    "unreadable-entry": r"unreadable",
}


def make_script(directory: Path, name: str, body: str, *, executable: bool = True) -> Path:
    path = directory / name
    path.write_text(f"#!{sys.executable}\n{FAKE_PRELUDE}{textwrap.dedent(body)}\n")
    path.chmod(0o755 if executable else 0o644)
    return path


@pytest.fixture
def fake_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    def install(behaviour: str) -> Path:
        path = make_script(tmp_path, f"cfn-guard-{behaviour}", FAKES[behaviour])
        monkeypatch.setenv("CFN_GUARD", str(path))
        return path

    return install


def test_control_a_well_behaved_fake_guard_passes(
        fake_guard: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    """The fakes are real enough: a passing one gives exit 0 (so failures below mean it)."""
    fake_guard("pass")
    code, out, err = run_main(capsys, ["validate", "--no-lint", str(EXAMPLE)])
    assert (code, err) == (EXIT_OK, ""), err
    assert "no problems" in out


def test_guard_missing(monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CFN_GUARD", "/nonexistent/cfn-guard")
    code, _, err = run_main(capsys, ["validate", "--no-lint", str(EXAMPLE)])
    assert_cannot_check(code, err, r"cfn-guard.*not found|not installed")


def test_guard_not_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    path = make_script(tmp_path, "cfn-guard", FAKES["pass"], executable=False)
    monkeypatch.setenv("CFN_GUARD", str(path))
    code, _, err = run_main(capsys, ["validate", "--no-lint", str(EXAMPLE)])
    assert_cannot_check(code, err, r"not executable|permission")


def test_guard_is_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CFN_GUARD", str(tmp_path))
    code, _, err = run_main(capsys, ["validate", "--no-lint", str(EXAMPLE)])
    assert_cannot_check(code, err, r"cfn-guard|could not be started|not executable")


def test_guard_not_a_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cfn-guard"
    path.write_bytes(b"\x7fELF\x00garbage")
    path.chmod(0o755)
    monkeypatch.setenv("CFN_GUARD", str(path))
    code, _, err = run_main(capsys, ["validate", "--no-lint", str(EXAMPLE)])
    assert_cannot_check(code, err, r"cfn-guard")


@pytest.mark.parametrize("behaviour", sorted(EXPECTED))
def test_broken_guard_never_passes(behaviour: str, fake_guard: Callable[[str], Path],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    fake_guard(behaviour)
    code, _, err = run_main(capsys, ["validate", "--no-lint", str(EXAMPLE)])
    assert_cannot_check(code, err, EXPECTED[behaviour])


@pytest.mark.parametrize("behaviour", ["segfault", "garbage", "pass-report-exit-19"])
def test_broken_guard_in_a_real_process(behaviour: str, fake_guard: Callable[[str], Path],
                                        ) -> None:
    """The same through `python -m blueprint`: nothing escapes as a traceback."""
    fake_guard(behaviour)
    result = subprocess.run(
        [sys.executable, "-m", "blueprint", "validate", "--no-lint", str(EXAMPLE)],
        capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert_cannot_check(result.returncode, result.stderr, EXPECTED[behaviour])


HANG_SECONDS = 90  # a fake cfn-guard that hangs this long, if the timeout is ignored
HANG_BOUND_S = 45.0  # far above a 2 s timeout on any machine, far below HANG_SECONDS


def test_guard_hanging_is_stopped_by_the_configured_timeout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = make_script(tmp_path, "cfn-guard", f"time.sleep({HANG_SECONDS})")
    monkeypatch.setenv("CFN_GUARD", str(path))
    monkeypatch.setenv("BLUEPRINT_GUARD_TIMEOUT", "2")
    start = time.perf_counter()
    code, _, err = run_main(capsys, ["validate", "--no-lint", str(EXAMPLE)])
    elapsed = time.perf_counter() - start
    assert_cannot_check(code, err, r"did not finish|timed? ?out|timeout")
    assert elapsed < HANG_BOUND_S, \
        f"took {elapsed:.1f} s: BLUEPRINT_GUARD_TIMEOUT=2 was not applied"


def test_guard_hanging_with_a_child_holding_its_output(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A wrapper script whose child keeps stdout open must not outlive the timeout."""
    pid_file = tmp_path / "child.pid"
    body = (f"child = subprocess.Popen(['sleep', '{HANG_SECONDS}'])\n"
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
            f"time.sleep({HANG_SECONDS})\n")
    path = make_script(tmp_path, "cfn-guard", body)
    monkeypatch.setenv("CFN_GUARD", str(path))
    monkeypatch.setenv("BLUEPRINT_GUARD_TIMEOUT", "2")
    start = time.perf_counter()
    try:
        code, _, err = run_main(capsys, ["validate", "--no-lint", str(EXAMPLE)])
    finally:
        _kill_pid_in(pid_file)
    elapsed = time.perf_counter() - start
    assert_cannot_check(code, err, r"did not finish|timed? ?out|timeout")
    assert elapsed < HANG_BOUND_S, \
        f"took {elapsed:.1f} s: the timeout did not stop the process group"


def _kill_pid_in(pid_file: Path) -> None:
    """Stop the one grandchild this test started (by its recorded id)."""
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


# ------------------------------------------------------------------------ cfn-lint


@pytest.fixture
def passing_guard(fake_guard: Callable[[str], Path]) -> Path:
    """Guard out of the way (and independent of the rules being edited)."""
    return fake_guard("pass")


@pytest.fixture(autouse=True)
def fresh_lint_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No cfn-lint result or runner carried over from another test, no result cache."""
    from blueprint import lint

    monkeypatch.setenv("BLUEPRINT_CACHE_DIR", "/nonexistent/blueprint-cache")
    lint.lint_text.cache_clear()
    lint._runner.cache_clear()
    yield
    lint.lint_text.cache_clear()
    lint._runner.cache_clear()


def test_cfn_lint_raising(passing_guard: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    import cfnlint.runner

    def explode(*args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("boom inside cfn-lint")

    monkeypatch.setattr(cfnlint.runner.Runner, "validate_template", explode)
    code, _, err = run_main(capsys, ["validate", str(EXAMPLE)])
    assert_cannot_check(code, err, r"cfn-lint")


def test_cfn_lint_returning_garbage(passing_guard: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    import cfnlint.runner

    monkeypatch.setattr(cfnlint.runner.Runner, "validate_template",
                        lambda *a, **k: iter([object()]))
    code, _, err = run_main(capsys, ["validate", str(EXAMPLE)])
    assert_cannot_check(code, err, r"cfn-lint")


def test_cfn_lint_not_importable(passing_guard: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "cfnlint.runner", None)  # import raises ImportError
    code, _, err = run_main(capsys, ["validate", str(EXAMPLE)])
    assert_cannot_check(code, err, r"cfn-lint")


def test_cfn_lint_control_finds_the_error(passing_guard: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    template = tmp_path / "bad.yml"
    template.write_text(LINT_ERROR_TEMPLATE)
    code, out, err = run_main(capsys, ["validate", str(template)])
    assert (code, "Traceback" in err) == (EXIT_FINDINGS, False), (out, err)
    assert "E3002" in out


# --------------------------------------------------------------------------- cache


def _validate(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    code, out, err = run_main(capsys, argv)
    assert "Traceback" not in err
    return code, out


@pytest.fixture
def lint_error_template(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yml"
    path.write_text(LINT_ERROR_TEMPLATE)
    return path


CACHE_INPUTS = {
    "lint-error template": lambda template: ["validate", str(template)],
    "blueprint, policies only": lambda template: ["validate", "--no-lint", str(EXAMPLE)],
}


@needs_guard
@pytest.mark.parametrize("case", sorted(CACHE_INPUTS))
def test_cache_folder_unusable(case: str, lint_error_template: Path, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    argv = CACHE_INPUTS[case](lint_error_template)
    reference = _validate(capsys, argv)  # an empty, usable cache folder
    assert reference[0] in (EXIT_OK, EXIT_FINDINGS)
    blocker = tmp_path / "afile"
    blocker.write_text("a regular file, so nothing can be created beneath it")
    monkeypatch.setenv("BLUEPRINT_CACHE_DIR", str(blocker / "sub"))
    assert _validate(capsys, argv) == reference
    assert _validate(capsys, argv) == reference
    monkeypatch.setenv("BLUEPRINT_CACHE_DIR", str(blocker))  # the folder IS a file
    assert _validate(capsys, argv) == reference


def _cache_files(directory: Path) -> Iterator[Path]:
    if directory.is_dir():
        yield from (p for p in directory.rglob("*") if p.is_file())


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "garbage": lambda raw: os.urandom(max(len(raw), 64)),
    "empty": lambda raw: b"",
    "truncated": lambda raw: raw[: len(raw) // 2],
    "flipped-byte": lambda raw: raw[:-2] + bytes([raw[-2] ^ 0x20]) + raw[-1:] if len(raw) > 2
    else b"x",
}


def _forge_clean_result(raw: bytes) -> bytes:
    """Valid JSON claiming 'no findings', checksum left as it was: must not be trusted."""
    try:
        entry = json.loads(raw)
    except ValueError:
        return b"[]"
    if isinstance(entry, dict) and isinstance(entry.get("payload"), str):
        entry["payload"] = "[]"
        return json.dumps(entry).encode()
    return json.dumps([] if isinstance(entry, list) else {}).encode()


CORRUPTIONS["forged-clean-result"] = _forge_clean_result


@needs_guard
@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
@pytest.mark.parametrize("case", sorted(CACHE_INPUTS))
def test_cache_entries_corrupt(case: str, corruption: str, lint_error_template: Path,
                               tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = CACHE_INPUTS[case](lint_error_template)
    reference = _validate(capsys, argv)  # cold: fills the cache (if blueprint caches)
    assert reference[0] in (EXIT_OK, EXIT_FINDINGS)
    assert _validate(capsys, argv) == reference, "a warm run changed the answer"
    for path in _cache_files(tmp_path / "cache"):
        path.write_bytes(CORRUPTIONS[corruption](path.read_bytes()))
    assert _validate(capsys, argv) == reference
    assert _validate(capsys, argv) == reference  # and again, after any repair


@needs_guard
@pytest.mark.parametrize("case", sorted(CACHE_INPUTS))
def test_no_cache_flag_neither_reads_nor_writes(case: str, lint_error_template: Path,
                                                tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """--no-cache: same answer, nothing written, and a poisoned cache is not even read."""
    argv = CACHE_INPUTS[case](lint_error_template)
    reference = _validate(capsys, argv)
    cache_dir = tmp_path / "cache"
    for path in _cache_files(cache_dir):  # poison whatever the first run stored
        path.write_bytes(_forge_clean_result(path.read_bytes()))
    poisoned = {p: p.read_bytes() for p in _cache_files(cache_dir)}
    no_cache = ["validate", "--no-cache", *argv[1:]]
    assert _validate(capsys, no_cache) == reference
    assert {p: p.read_bytes() for p in _cache_files(cache_dir)} == poisoned, \
        "--no-cache changed the cache folder"


# ------------------------------------------------------------------- hostile input

MEMORY_BOUND_MB = 100.0


def _alias_bomb_sequences() -> str:
    lines = ["blueprint: v1", "name: bomb", "service: {image: nginx}",
             "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        name, prev = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    return "\n".join(lines) + "\n"


def _alias_bomb_mappings() -> str:
    lines = ["blueprint: v1", "name: bomb", "service:", "  image: nginx",
             "x0: &x0 {k0: v, k1: v, k2: v, k3: v, k4: v, k5: v, k6: v, k7: v}"]
    for level in range(1, 12):
        keys = ", ".join(f"k{i}: *x{level - 1}" for i in range(8))
        lines.append(f"x{level}: &x{level} {{{keys}}}")
    lines.append("tags: *x11")
    return "\n".join(lines) + "\n"


def _alias_bomb_in_a_value() -> str:
    head = _alias_bomb_sequences().replace("blueprint: v1\nname: bomb\n"
                                           "service: {image: nginx}\n", "")
    return ("blueprint: v1\nname: bomb\nbombs:\n"
            + textwrap.indent(head, "  ")
            + "service:\n  image: nginx\n  environment: {A: *j}\n")


HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "alias bomb (sequences)": (lambda: _alias_bomb_sequences().encode(), "BP005"),
    "alias bomb (mappings)": (lambda: _alias_bomb_mappings().encode(), "BP005"),
    "alias bomb (nested in a value)": (lambda: _alias_bomb_in_a_value().encode(), "BP005"),
    "15 MB file": (lambda: b"blueprint: v1\n" + b"k: " + b"x" * (15 * 1024 * 1024) + b"\n",
                   "BP001"),
    "15 MB of small keys": (lambda: b"".join(b"k%07d: v\n" % i for i in range(1_500_000)),
                            "BP001"),
    "just over the size limit": (lambda: b"#" * MAX_FILE_BYTES + b"\na: 1\n", "BP001"),
}


def _run_traced(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, float]:
    """(exit code, stdout, traced peak MB) of one run."""
    tracemalloc.start()
    try:
        code, out, err = run_main(capsys, argv)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert "Traceback" not in err
    return code, out, peak


# Tracing every allocation of a 200,000-node alias expansion takes seconds: the alias
# bombs are measured in the slow tier (test_loader.py refuses them in the default tier).
@pytest.mark.parametrize("case", [
    pytest.param(case, marks=pytest.mark.slow) if case.startswith("alias bomb") else case
    for case in HOSTILE])
def test_hostile_input_refused_with_bounded_memory(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make, rule = HOSTILE[case]
    path = tmp_path / "hostile.blueprint.yml"
    path.write_bytes(make())
    code, out, peak = _run_traced(["validate", "--no-lint", str(path)], capsys)
    assert code == EXIT_FINDINGS, out
    assert rule in out, out
    assert peak < MEMORY_BOUND_MB, f"{case}: traced peak {peak:.0f} MB"


def test_dense_document_just_under_the_size_limit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """~340,000 tiny values in under 1 MB: refused (node budget), memory bounded."""
    path = tmp_path / "dense.blueprint.yml"
    path.write_text("blueprint: v1\nname: dense\nservice: {image: nginx}\nx: ["
                    + "1," * 340_000 + "1]\n")
    assert path.stat().st_size <= MAX_FILE_BYTES
    code, out, peak = _run_traced(["validate", "--no-lint", str(path)], capsys)
    assert code == EXIT_FINDINGS, out
    assert "BP005" in out
    assert peak < MEMORY_BOUND_MB, f"traced peak {peak:.0f} MB"


LONG_LINES = 400_000


def test_400k_line_blueprint_does_not_hang(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """400,000 comment lines, then a blueprint with one unknown key: found, on the right line."""
    path = tmp_path / "long.blueprint.yml"
    body = "blueprint: v1\nname: long\nservice:\n  image: nginx\nbogusKey: 1\n"
    path.write_text("#\n" * LONG_LINES + body)
    assert path.stat().st_size <= MAX_FILE_BYTES
    start = time.perf_counter()
    code, out, err = run_main(capsys, ["validate", "--no-lint", str(path)])
    elapsed = time.perf_counter() - start
    assert "Traceback" not in err
    assert elapsed < HANG_BOUND_S, f"{elapsed:.1f} s"
    assert code == EXIT_FINDINGS, out
    assert "BP101" in out and "bogusKey" in out, out
    assert f"{path}:{LONG_LINES + 5}:" in out, out


def test_400k_line_environment_does_not_hang(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """400,000 environment variables (over the size limit): a clear BP001, quickly."""
    path = tmp_path / "env.blueprint.yml"
    lines = ["blueprint: v1", "name: long", "service:", "  image: nginx", "  environment:"]
    lines += [f"    V{i}: x" for i in range(LONG_LINES)]
    path.write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    code, out, err = run_main(capsys, ["validate", "--no-lint", str(path)])
    elapsed = time.perf_counter() - start
    assert "Traceback" not in err
    assert elapsed < HANG_BOUND_S, f"{elapsed:.1f} s"
    assert code == EXIT_FINDINGS, out
    assert "BP001" in out, out


@pytest.mark.parametrize("setting", ["abc", "", "0", "-1", "nan", "inf", "1e999"])
def test_guard_timeout_setting_odd_values_never_hang_or_pass(
        setting: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A hanging cfn-guard plus an odd BLUEPRINT_GUARD_TIMEOUT: refused or stopped, never 0."""
    path = make_script(tmp_path, "cfn-guard", f"time.sleep({HANG_SECONDS})")
    monkeypatch.setenv("CFN_GUARD", str(path))
    monkeypatch.setenv("BLUEPRINT_GUARD_TIMEOUT", setting)
    if setting == "":  # unset-like: the default applies, so only check it is accepted
        monkeypatch.setenv("CFN_GUARD", str(make_script(tmp_path, "ok", FAKES["pass"])))
    start = time.perf_counter()
    code, _, err = run_main(capsys, ["validate", "--no-lint", str(EXAMPLE)])
    elapsed = time.perf_counter() - start
    assert elapsed < HANG_BOUND_S, f"BLUEPRINT_GUARD_TIMEOUT={setting!r}: took {elapsed:.1f} s"
    if setting == "":
        assert code == EXIT_OK, err
    else:
        assert_cannot_check(code, err, r"BLUEPRINT_GUARD_TIMEOUT|did not finish|time")
