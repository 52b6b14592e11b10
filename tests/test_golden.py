"""The examples' rendered templates are checked in; any drift fails here.

After an intended change to the expander run ``python tests/golden/regen.py``
and review the diff of tests/golden/.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"
_spec = importlib.util.spec_from_file_location("regen", GOLDEN / "regen.py")
assert _spec and _spec.loader
regen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regen)


def test_every_example_has_goldens() -> None:
    names = regen.example_names()
    assert len(names) >= 3
    # (tests/golden/diagrams holds the diagrams' goldens, not an example's templates)
    assert sorted(p.name for p in GOLDEN.iterdir()
                  if p.is_dir() and p.name not in ("diagrams", "__pycache__")) == names


@pytest.mark.parametrize("name", regen.example_names())
def test_rendering_matches_golden(name: str) -> None:
    for template, text in regen.rendered(name).items():
        golden = (GOLDEN / name / template).read_text(encoding="utf-8")
        assert text == golden, (f"{name}/{template} drifted from its golden file; "
                                "run python tests/golden/regen.py and review the diff")


@pytest.mark.parametrize("name", regen.example_names())
def test_goldens_pass_cfn_lint(name: str) -> None:
    from cfnlint.api import ManualArgs, lint

    for path in sorted((GOLDEN / name).glob("*.yml")):
        matches = lint(path.read_text(encoding="utf-8"), config=ManualArgs(regions=["us-east-1"]))
        assert [f"{m.rule.id} {m.message} line {m.linenumber}" for m in matches] == [], path
