"""A table of malformed blueprints: each exits 1 or 2, names file and line, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from blueprint.cli import main

GOOD = (
    "blueprint: v1\n"
    "name: demo\n"
    "service:\n"
    "  image: public.ecr.aws/docker/library/nginx:latest\n"
)

# (case id, file bytes, expected rule id, expected line or None when the file has no lines)
CASES: list[tuple[str, bytes, str, int | None]] = [
    ("empty file", b"", "BP006", 1),
    ("only a comment", b"# nothing here\n", "BP006", 1),
    ("root is a list", b"- blueprint: v1\n", "BP006", 1),
    ("root is a scalar", b"just text\n", "BP006", 1),
    ("two documents", GOOD.encode() + b"---\n" + GOOD.encode(), "BP006", 6),
    ("tab indentation", b"blueprint: v1\nname: demo\nservice:\n\timage: x\n", "BP002", 4),
    ("unclosed flow list", b"blueprint: v1\nname: [demo\n", "BP002", 3),
    ("bad indentation", b"blueprint: v1\n  name: demo\n", "BP002", 2),
    ("duplicate key", GOOD.encode() + b"name: other\n", "BP003", 5),
    ("python object tag", b"blueprint: v1\nname: !!python/object/apply:os.system [ls]\n",
     "BP004", 2),
    ("unknown local tag", b"blueprint: v1\nname: !Secret demo\n" + GOOD.encode()[28:], "BP004", 2),
    ("merge key", b"base: &b {image: nginx}\nblueprint: v1\nname: d\nservice:\n  <<: *b\n",
     "BP004", 5),
    ("alias bomb", b"a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                   b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                   b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
     "BP005", None),
    ("invalid utf-8", b"blueprint: v1\nname: d\xe9mo\n", "BP001", 2),
    ("binary junk", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "BP001", None),
    ("oversize file", b"blueprint: v1\n" + b"# padding\n" * 120_000, "BP001", 1),
    ("missing version", GOOD.replace("blueprint: v1\n", "").encode(), "BP006", 1),
    ("wrong version", GOOD.replace("v1", "v2").encode(), "BP104", 1),
    ("missing service", b"blueprint: v1\nname: demo\n", "BP102", 1),
    ("missing image", b"blueprint: v1\nname: demo\nservice:\n  port: 80\n", "BP102", 3),
    ("unknown top-level key", GOOD.encode() + b"servise: {}\n", "BP101", 5),
    ("misspelt nested key", GOOD.encode() + b"  desiredCont: 2\n", "BP101", 5),
    ("port as text", GOOD.encode() + b"  port: eighty\n", "BP103", 5),
    ("port out of range", GOOD.encode() + b"  port: 70000\n", "BP105", 5),
    ("bad image reference", GOOD.replace("nginx:latest", "Nginx Latest").encode(), "BP104", 4),
    ("bad cidr", GOOD.encode() + b"network:\n  cidr: 10.0.0.0/8\n", "BP104", 6),
    ("three hundred AZs", GOOD.encode() + b"network:\n  availabilityZones: 300\n", "BP104", 6),
    ("secret as a value", GOOD.encode() + b"  secrets:\n    DB_PASSWORD: hunter2\n", "BP104", 6),
    ("https without certificate", GOOD.encode() + b"loadBalancer:\n  protocol: HTTPS\n",
     "BP102", 5),
    ("maxSize below desired", GOOD.encode() + b"cluster:\n  desiredCapacity: 5\n  maxSize: 2\n",
     "BP106", 7),
    ("autoscaling min above max",
     GOOD.encode() + b"  autoscaling:\n    minCount: 5\n    maxCount: 2\n", "BP106", 6),
    ("instance type not allowed", GOOD.encode() + b"cluster:\n  instanceType: p3.2xlarge\n",
     "BP107", 6),
    ("waiver without reason", GOOD.encode() + b"waivers:\n  - rule: X\n    expires: 2030-01-01\n",
     "BP102", 6),
    ("not a blueprint", b"hello: world\n", "BP006", 1),
]


@pytest.mark.parametrize(("case", "content", "rule", "line"), CASES, ids=[c[0] for c in CASES])
def test_malformed_blueprint_is_reported_with_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, content: bytes, rule: str,
    line: int | None,
) -> None:
    path = tmp_path / "env.blueprint.yml"
    path.write_bytes(content)
    code = main(["validate", "--no-lint", str(path)])
    out, err = capsys.readouterr()
    assert code in (1, 2), case
    assert "Traceback" not in out + err
    lines = [entry for entry in out.splitlines() if rule in entry]
    assert lines, f"{case}: expected {rule} in output:\n{out}{err}"
    prefix = f"{path}:{line}:" if line is not None else f"{path}:"
    assert lines[0].startswith(prefix), f"{case}: {lines[0]!r} does not start with {prefix!r}"


def test_table_covers_at_least_25_kinds() -> None:
    assert len(CASES) >= 25


def test_missing_file_is_a_finding_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yml"
    assert main(["validate", str(missing)]) == 1
    out, err = capsys.readouterr()
    assert f"{missing}:" in out and "cannot read file" in out
    assert "Traceback" not in out + err


def test_directory_instead_of_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    assert "Traceback" not in "".join(capsys.readouterr())


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--no-such-flag", "x.yml"]) == 2
    assert "no such option" in capsys.readouterr().err.lower()
