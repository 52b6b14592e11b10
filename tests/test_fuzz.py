"""Fuzzing the loader and the CLI: any input gives findings or a message, never a crash.

Invariants:

* ``decode``/``load_text``/``load_file`` never raise; they return either a
  document and no findings, or no document and at least one located finding;
* YAML dumped from arbitrary JSON-like data loads back to the same data;
* ``blueprint validate`` exits 0, 1 or 2, with a report or an ``error:``
  message, and never a traceback, in-process and as a real process.

Runs are derandomized (the same examples every run, so CI is reproducible)
and kept small; raise ``FUZZ_SCALE`` in the environment for a longer hunt.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from blueprint.cli import main
from blueprint.finding import Finding
from blueprint.loader import Document, decode, load_file, load_text

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = REPO_ROOT / "examples" / "minimal.blueprint.yml"
EXAMPLE_BYTES = EXAMPLE.read_bytes()
SCALE = max(1, int(os.environ.get("FUZZ_SCALE", "1")))


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=examples * SCALE, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Any:
    saved = os.environ.get("BLUEPRINT_CACHE_DIR")
    os.environ["BLUEPRINT_CACHE_DIR"] = str(tmp_path_factory.mktemp("fuzz-cache"))
    yield
    if saved is None:
        os.environ.pop("BLUEPRINT_CACHE_DIR", None)
    else:
        os.environ["BLUEPRINT_CACHE_DIR"] = saved


# ------------------------------------------------------------------ strategies

SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
KEYS = st.text(max_size=15)
YAML_DATA = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)
YAML_MAPPINGS = st.dictionaries(KEYS, YAML_DATA, max_size=6)

# keys and values a blueprint actually uses, to land mutations near valid input
BLUEPRINT_KEYS = ["blueprint", "name", "service", "image", "network", "cidr", "cluster",
                  "instanceType", "port", "cpu", "memory", "desiredCount", "loadBalancer",
                  "protocol", "autoscaling", "minCount", "maxCount", "tags", "waivers",
                  "environment", "secrets", "healthCheck", "description"]
BLUEPRINT_VALUES = ["v1", "v2", "hello-api", "nginx", "10.0.0.0/16", "t3.medium", "HTTPS",
                    "0", "-1", "65536", "1e9", "null", "~", "[]", "{}", "''", "&a x", "*a",
                    "!Ref X", "!!python/object:os.system ''", "<<: *a", "\t", "yes", "0x1F",
                    "2027-01-01", ".nan", "|", ">-", "'unterminated", "\"\\x00\""]


def _blueprint_text(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False)


VALID_BLUEPRINTS = st.builds(
    lambda name, image, extra: _blueprint_text(
        {"blueprint": "v1", "name": name, "service": {"image": image, **extra}}),
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True),
    st.sampled_from(["nginx", "public.ecr.aws/docker/library/nginx:latest", "a/b:c",
                     "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1"]),
    st.fixed_dictionaries({}, optional={
        "port": st.integers(-5, 70000), "cpu": st.integers(0, 20000),
        "memory": st.integers(0, 200000), "desiredCount": st.integers(-1, 1001),
        "name": st.text(max_size=10)}),
)


@st.composite
def mutated_example(draw: st.DrawFn) -> bytes:
    """The minimal example with random byte flips, cuts, insertions and key renames."""
    text = EXAMPLE_BYTES
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "rename",
                                     "value", "duplicate-line", "indent"]))
        if kind == "flip" and text:
            at = draw(st.integers(0, len(text) - 1))
            text = text[:at] + bytes([text[at] ^ draw(st.integers(1, 255))]) + text[at + 1:]
        elif kind == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
        elif kind == "insert":
            at = draw(st.integers(0, len(text)))
            snippet = draw(st.binary(max_size=8) | st.sampled_from(
                [b":", b"- ", b"\n  ", b"&a ", b"*a", b"!Ref ", b"{", b"[", b"\t", b"#",
                 b"---\n", b"\xef\xbb\xbf", b"\xff", b"\x00", b"'"]))
            text = text[:at] + snippet + text[at:]
        elif kind == "delete" and text:
            at = draw(st.integers(0, len(text) - 1))
            text = text[:at] + text[at + draw(st.integers(1, 20)):]
        elif kind == "rename":
            old = draw(st.sampled_from(["blueprint", "name", "service", "image"]))
            new = draw(st.sampled_from(BLUEPRINT_KEYS) | st.text(max_size=10))
            text = text.replace(f"{old}:".encode(), f"{new}:".encode("utf-8", "replace"), 1)
        elif kind == "value":
            lines = text.split(b"\n")
            index = draw(st.integers(0, max(0, len(lines) - 1)))
            key = lines[index].split(b":", 1)[0] if b":" in lines[index] else b"x"
            value = draw(st.sampled_from(BLUEPRINT_VALUES))
            lines[index] = key + b": " + value.encode()
            text = b"\n".join(lines)
        elif kind == "duplicate-line":
            lines = text.split(b"\n")
            index = draw(st.integers(0, max(0, len(lines) - 1)))
            lines.insert(index, lines[index])
            text = b"\n".join(lines)
        elif kind == "indent":
            lines = text.split(b"\n")
            index = draw(st.integers(0, max(0, len(lines) - 1)))
            lines[index] = b" " * draw(st.integers(0, 5)) + lines[index].lstrip()
            text = b"\n".join(lines)
    return text


ANY_YAML_BYTES = (
    st.binary(max_size=300)
    | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))
    | YAML_DATA.map(lambda d: yaml.safe_dump(d).encode())
    | YAML_MAPPINGS.map(lambda d: yaml.safe_dump(d).encode())
    | VALID_BLUEPRINTS.map(str.encode)
    | mutated_example()
)


# ------------------------------------------------------------------ the loader


def check_load_result(doc: Document | None, findings: list[Finding]) -> None:
    assert (doc is None) == bool(findings), (doc, findings)
    for finding in findings:
        assert isinstance(finding, Finding)
        assert finding.message
        assert finding.location.line >= 1 and finding.location.column >= 1


@fuzz_settings(300)
@given(st.binary(max_size=500))
def test_decode_never_raises(raw: bytes) -> None:
    text, findings = decode("fuzz.yml", raw)
    assert (text is None) == bool(findings)
    if text is not None:
        assert isinstance(text, str)


@fuzz_settings(300)
@given(st.text(max_size=400))
def test_load_text_never_raises_on_any_text(text: str) -> None:
    doc, findings = load_text("fuzz.yml", text)
    check_load_result(doc, findings)


@fuzz_settings(200)
@given(mutated_example())
def test_load_text_never_raises_on_mutated_example(raw: bytes) -> None:
    text, findings = decode("fuzz.yml", raw)
    if text is None:
        return
    doc, findings = load_text("fuzz.yml", text)
    check_load_result(doc, findings)


@fuzz_settings(200)
@given(YAML_MAPPINGS)
def test_dumped_yaml_loads_back_to_the_same_data(data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data)
    doc, findings = load_text("fuzz.yml", text)
    if not data:  # `{}` is a mapping, but an empty one
        check_load_result(doc, findings)
        return
    assert findings == [], (text, findings)
    assert doc is not None
    assert doc.data == data


@fuzz_settings(100)
@given(ANY_YAML_BYTES)
def test_load_file_never_raises(workdir: Path, raw: bytes) -> None:
    path = workdir / "load.yml"
    path.write_bytes(raw)
    doc, findings = load_file(str(path))
    check_load_result(doc, findings)


# --------------------------------------------------------------------- the CLI


def run_in_process(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def check_cli_result(code: int, out: str, err: str, *, report_to_stdout: bool = True) -> None:
    if currently_in_test_context():
        event(f"exit {code}")  # see the spread with --hypothesis-show-statistics
    assert "Traceback" not in err and "Traceback" not in out, err
    assert code in (0, 1, 2), (code, out, err)
    if code == 2:
        assert err.strip(), "exit 2 without a message"
    elif report_to_stdout:
        assert out.strip(), f"exit {code} without a report"


@fuzz_settings(100)
@given(ANY_YAML_BYTES)
def test_cli_validate_any_input(workdir: Path, raw: bytes) -> None:
    path = workdir / "cli.blueprint.yml"
    path.write_bytes(raw)
    check_cli_result(*run_in_process(["validate", "--no-lint", str(path)]))


@fuzz_settings(60)
@given(mutated_example(), st.sampled_from(["text", "json", "sarif", "junit", "github",
                                           "markdown"]))
def test_cli_validate_mutated_example_every_format(workdir: Path, raw: bytes,
                                                   output_format: str) -> None:
    path = workdir / "fmt.blueprint.yml"
    path.write_bytes(raw)
    check_cli_result(*run_in_process(["validate", "--no-lint", "--format", output_format,
                                      str(path)]))


# "{w}" stands for the test's work folder: it holds a-regular-file and empty-rules/
PATHS = st.sampled_from([str(EXAMPLE), "{w}/missing.yml", "{w}", "{w}/a-regular-file", "", "-",
                         "{w}/a-regular-file/below-a-file.yml"])
OPTIONS = st.one_of(
    st.tuples(st.just("--format"), st.sampled_from(["text", "json", "sarif", "bogus", ""])),
    st.tuples(st.just("--fail-on"), st.sampled_from(["error", "warning", "info", ""])),
    st.tuples(st.just("--rules"), st.sampled_from(["{w}/empty-rules", "{w}/a-regular-file",
                                                   "{w}/nope"])),
    st.tuples(st.just("-o"), st.sampled_from(["{w}/report.txt", "{w}/a-regular-file/r.txt",
                                              "{w}/no/such/dir.txt", "{w}"])),
    st.tuples(st.sampled_from(["--no-lint", "--bogus-flag", "-h"])),
)
ARGVS = st.builds(lambda options, files: [p for o in options for p in o] + files,
                  st.lists(OPTIONS, max_size=3), st.lists(PATHS, max_size=2))


@fuzz_settings(80)
@given(ARGVS)
@example(["-o", "{w}/no/such/dir.txt", str(EXAMPLE)])
@example(["-o", "{w}/a-regular-file/r.txt", str(EXAMPLE)])
@example(["-o", "{w}/report.txt", str(EXAMPLE)])
@example(["--rules", "{w}/empty-rules", str(EXAMPLE)])
@example(["--rules", "{w}/a-regular-file", str(EXAMPLE)])
@example(["--format", "bogus", str(EXAMPLE)])
@example(["{w}/a-regular-file/below-a-file.yml"])
@example(["-"])
@example([""])
def test_cli_validate_any_options(workdir: Path, argv: list[str]) -> None:
    (workdir / "a-regular-file").write_text("x")
    (workdir / "empty-rules").mkdir(exist_ok=True)
    argv = ["validate", "--no-lint", *(arg.replace("{w}", str(workdir)) for arg in argv)]
    check_cli_result(*run_in_process(argv), report_to_stdout="-o" not in argv)


def test_cli_write_report_to_unwritable_path(workdir: Path) -> None:
    """-o into a folder that does not exist: a message, not a traceback."""
    target = workdir / "no" / "such" / "dir" / "report.txt"
    code, out, err = run_in_process(["validate", "--no-lint", "-o", str(target), str(EXAMPLE)])
    check_cli_result(code, out, err, report_to_stdout=False)
    assert code == 2, (code, err)


@fuzz_settings(12)
@given(ANY_YAML_BYTES)
def test_cli_validate_in_a_real_process(workdir: Path, raw: bytes) -> None:
    """Through `python -m blueprint`: catches anything printed past the in-process handler."""
    path = workdir / "proc.blueprint.yml"
    path.write_bytes(raw)
    result = subprocess.run(
        [sys.executable, "-m", "blueprint", "validate", "--no-lint", str(path)],
        capture_output=True, text=True, errors="replace", timeout=120, cwd=REPO_ROOT,
        check=False)
    check_cli_result(result.returncode, result.stdout, result.stderr)
