"""Every output format of the fixed sample report is checked in; any drift fails here.

After an intended change to a formatter run ``python tests/formatters/regen_golden.py``
and review the diff of tests/formatters/golden/.
"""

from __future__ import annotations

import importlib.util
import random
from dataclasses import replace
from pathlib import Path

import pytest

from blueprint.formatters import FORMATS

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("regen_golden", HERE / "regen_golden.py")
assert _spec and _spec.loader
regen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regen)

from sample_report import sample_report  # noqa: E402

SORTING_FORMATS = ["sarif", "junit", "github", "markdown"]


def test_every_format_has_a_golden_file() -> None:
    assert set(FORMATS) == {"text", "json", "sarif", "junit", "github", "markdown"}
    assert sorted(p.name for p in (HERE / "golden").iterdir()) == sorted(
        regen.golden_path(name).name for name in FORMATS)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_output_matches_golden(name: str) -> None:
    golden = regen.golden_path(name).read_text(encoding="utf-8")
    assert regen.rendered(name) == golden, (
        f"{name} output drifted from {regen.golden_path(name).name}; after an intended "
        "change run python tests/formatters/regen_golden.py and review the diff")


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_output_is_deterministic(name: str) -> None:
    assert FORMATS[name](sample_report()) == FORMATS[name](sample_report())


@pytest.mark.parametrize("name", SORTING_FORMATS)
def test_output_does_not_depend_on_finding_or_file_order(name: str) -> None:
    report = sample_report()
    findings, files = list(report.findings), list(report.files)
    random.Random(7).shuffle(findings)
    files.reverse()
    shuffled = replace(report, findings=tuple(findings), files=tuple(files))
    assert FORMATS[name](shuffled) == FORMATS[name](report)
