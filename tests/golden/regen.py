"""Regenerate the golden renderings of every example: python tests/golden/regen.py

Each ``examples/NAME.blueprint.yml`` renders into ``tests/golden/NAME/``;
``tests/test_golden.py`` fails when the expander's output drifts from these.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"


def example_names() -> list[str]:
    return sorted(p.name.removesuffix(".blueprint.yml")
                  for p in (ROOT / "examples").glob("*.blueprint.yml"))


def rendered(name: str) -> dict[str, str]:
    from blueprint.api import load_blueprint
    from blueprint.expander import render

    _, blueprint, findings = load_blueprint(str(ROOT / "examples" / f"{name}.blueprint.yml"))
    if blueprint is None:
        raise SystemExit(f"examples/{name}.blueprint.yml is invalid: {findings}")
    return render(blueprint).texts


def main() -> int:
    sys.path.insert(0, str(ROOT))  # run from a checkout without installing
    for name in example_names():
        target = GOLDEN / name
        target.mkdir(parents=True, exist_ok=True)
        for template, text in rendered(name).items():
            (target / template).write_text(text, encoding="utf-8")
        print(f"regenerated tests/golden/{name}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
