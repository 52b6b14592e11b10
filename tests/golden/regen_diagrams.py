"""Regenerate the golden Mermaid diagrams: python tests/golden/regen_diagrams.py

Each ``examples/NAME.blueprint.yml`` is drawn into ``tests/golden/diagrams/NAME.mmd``;
an example with environments into ``NAME.ENV.mmd``, one per environment.
``tests/test_diagram.py`` fails when a diagram drifts from these. Review the diff.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
DIAGRAMS = ROOT / "tests" / "golden" / "diagrams"


class Case(NamedTuple):
    golden: str  # file name under tests/golden/diagrams/
    path: Path
    env: str | None


def cases() -> list[Case]:
    """Every example, and every environment of an example that has them."""
    from blueprint.environments import environment_names
    from blueprint.loader import load_file

    found = []
    for path in sorted((ROOT / "examples").glob("*.blueprint.yml")):
        name = path.name.removesuffix(".blueprint.yml")
        doc, _ = load_file(str(path))
        envs = environment_names(doc.data) if doc is not None else []
        found += ([Case(f"{name}.{env}.mmd", path, env) for env in envs] if envs
                  else [Case(f"{name}.mmd", path, None)])
    return found


def drawn(case: Case, output_format: str = "mermaid") -> str:
    from blueprint import diagram
    from blueprint.api import load_effective

    _, environment, blueprint, findings = load_effective(str(case.path), case.env)
    if blueprint is None:
        raise SystemExit(f"{case.path} is invalid: {findings}")
    draw = diagram.svg if output_format == "svg" else diagram.mermaid
    return draw(blueprint, environment=environment.name if environment else None)


def main() -> int:
    sys.path.insert(0, str(ROOT))  # run from a checkout without installing
    DIAGRAMS.mkdir(parents=True, exist_ok=True)
    wanted = cases()
    for stale in set(DIAGRAMS.glob("*.mmd")) - {DIAGRAMS / case.golden for case in wanted}:
        stale.unlink()
        print(f"removed tests/golden/diagrams/{stale.name}")
    for case in wanted:
        (DIAGRAMS / case.golden).write_text(drawn(case), encoding="utf-8")
        print(f"regenerated tests/golden/diagrams/{case.golden}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
