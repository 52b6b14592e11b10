"""The library facade: the names callers use, defined elsewhere, and nothing else."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
from pathlib import Path

from blueprint import api, config, pipeline

REPO = Path(__file__).resolve().parents[1]


def test_the_facade_exports_the_library_entry_points() -> None:
    for name in ("validate", "ValidateOptions", "check_blueprint", "CheckedBlueprint",
                 "load_blueprint", "render", "Rendering", "kind_of"):
        assert name in api.__all__ and hasattr(api, name), name
    assert api.check_blueprint is pipeline.check_blueprint
    assert [f.name for f in dataclasses.fields(api.CheckedBlueprint)] == [
        "path", "raw", "report", "blueprint", "rendering", "environment"]


def test_the_facade_defines_nothing_itself() -> None:
    tree = ast.parse(inspect.getsource(api))
    defined = [node for node in tree.body
               if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    assert defined == []
    assert all(getattr(api, name).__module__ != "blueprint.api" for name in api.__all__
               if callable(getattr(api, name)))


def test_no_library_module_of_the_check_prints_or_exits() -> None:
    for module in ("api", "pipeline", "tracing", "kinds", "catalog", "schema", "waivers"):
        source = (REPO / "blueprint" / f"{module}.py").read_text(encoding="utf-8")
        for call in (r"\bprint\(", r"\bsys\.exit\(", r"\bsys\.std(out|err)\b", r"\bclick\."):
            assert not re.search(call, source), f"blueprint/{module}.py uses {call}"


def test_load_blueprint_still_gives_document_blueprint_findings() -> None:
    doc, blueprint, findings = api.load_blueprint(str(REPO / "examples" / "minimal.blueprint.yml"))
    assert doc is not None and blueprint is not None and findings == []
    assert blueprint.name == doc.data["name"]


def test_gate_options_live_in_config() -> None:
    assert "gate_options" in vars(config)
    signature = inspect.signature(config.gate_options)
    assert list(signature.parameters) == ["lint", "fail_on", "extra_rules", "packs", "use_cache"]
    assert all(p.kind is p.KEYWORD_ONLY for p in signature.parameters.values())
