"""The pure parts of bench/bench_validate.py: no timing, no tools run."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from blueprint.guard import RulePack

BENCH_PATH = Path(__file__).resolve().parents[1] / "bench" / "bench_validate.py"


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("bench_validate", BENCH_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_ratios_are_medians_and_the_goal_is_inclusive(bench: ModuleType) -> None:
    scenario = bench.Scenario("pack", bench.GOAL_PACK, "A", "B",
                              a_seconds=[1.3, 2.6, 13.0], b_seconds=[1.0, 2.0, 10.0])
    assert scenario.ratio == pytest.approx(1.3)
    assert scenario.paired_ratio == pytest.approx(1.3)
    assert scenario.passed
    assert scenario.as_dict()["goal"] == 1.3


def test_the_pack_scenario_bare_side_is_a_bare_cfn_guard_call(bench: ModuleType,
                                                              tmp_path: Path) -> None:
    tools = bench.Tools("python", ["cfn-lint"], "/bin/cfn-guard", tmp_path / "ct", {})
    templates = [tmp_path / "a.yml", tmp_path / "b.yml"]
    assert tools.guard_control_tower(templates) == [
        "/bin/cfn-guard", "validate", "-r", str(tmp_path / "ct"),
        "-d", str(templates[0]), "-d", str(templates[1])]
    assert tools.blueprint("validate") == ["python", "-m", "blueprint", "validate"]


def test_guard_and_pack_come_from_blueprints_own_locators(
        bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import blueprint.packs

    monkeypatch.setenv("CFN_GUARD", "/opt/guard/cfn-guard")
    monkeypatch.setattr(blueprint.packs, "rule_pack",
                        lambda name: RulePack(tmp_path / name / "cfn-guard", mandatory=False))
    assert bench.locate_guard_and_pack() == ("/opt/guard/cfn-guard",
                                             tmp_path / "control-tower" / "cfn-guard")


def test_missing_control_tower_rules_stop_the_bench_with_the_install_hint(
        bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFN_GUARD", "/opt/guard/cfn-guard")
    monkeypatch.setenv("BLUEPRINT_TOOLS_DIR", str(tmp_path))
    with pytest.raises(bench.BenchError, match=r"blueprint\.install_guard"):
        bench.locate_guard_and_pack()


def test_generated_blueprints_are_distinct(bench: ModuleType) -> None:
    types = ["t3.small", "m5.large"]
    texts = {bench.blueprint_text(index, types) for index in range(8)}
    assert len(texts) == 8


def test_runs_must_be_positive(bench: ModuleType) -> None:
    with pytest.raises(SystemExit):
        bench.parse_args(["--runs", "0"])
    assert bench.parse_args([]).runs == 5
