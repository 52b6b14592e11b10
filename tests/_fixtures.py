"""The one set of rendered templates the tests use: the goldens of the examples.

``tests/golden/<example>/`` holds what ``examples/<example>.blueprint.yml`` renders
to (``tests/test_golden.py`` keeps it exact, ``tests/golden/regen.py`` rewrites it).
Tests that need rendered templates read them here instead of keeping copies.
Imported as a top-level module (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from blueprint.loader import load_file

GOLDEN = Path(__file__).resolve().parent / "golden"
CHILD_TEMPLATES = ("vpc.yml", "cluster.yml", "service.yml")


def golden_dir(example: str = "minimal") -> Path:
    """The rendered templates of one example: parent.yml plus CHILD_TEMPLATES."""
    directory = GOLDEN / example
    if not (directory / "parent.yml").is_file():
        raise FileNotFoundError(f"no golden rendering of example {example!r} in {GOLDEN}")
    return directory


def golden_examples() -> list[str]:
    return sorted(path.name for path in GOLDEN.iterdir() if (path / "parent.yml").is_file())


def literal_parameters(logical_id: str, example: str = "minimal") -> list[dict[str, str]]:
    """The parameters parent.yml passes a child stack as plain values, in the
    ``Parameters=`` form of CloudFormation's API (for deploying a child on its own;
    parameters wired from another stack's outputs are left out)."""
    doc, findings = load_file(str(golden_dir(example) / "parent.yml"))
    assert doc is not None, findings
    passed: dict[str, Any] = doc.data["Resources"][logical_id]["Properties"]["Parameters"]
    return [{"ParameterKey": key, "ParameterValue": value}
            for key, value in passed.items() if isinstance(value, str)]
