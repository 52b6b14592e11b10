#!/usr/bin/env python3
"""Which AWS Control Tower proactive controls the rendered templates fail.

Usage::

    scripts/control_tower_report.py examples/*.blueprint.yml      # renders each blueprint
    scripts/control_tower_report.py some/dir/with/templates       # every *.yml/*.yaml/*.json
    scripts/control_tower_report.py --rules /tmp/package/rules/control-tower ...

Each Control Tower rule file is run on its own with the real cfn-guard over each
template (only the files whose metadata names a resource type the template
declares): in directory mode cfn-guard's JSON lists failing rules under
``not_applicable``, so one run per file is the trustworthy measure. Prints the
failing controls per template and a total; ``--json`` prints them as data.
Exit 0 whatever it finds (a measuring tool, not a gate).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

TOOLS = Path(os.environ.get("BLUEPRINT_TOOLS_DIR", Path.home() / ".cache/blueprint/tools"))
DEFAULT_RULES = [TOOLS / "rules/control-tower", Path("/tmp/package/rules/control-tower")]
CFN_GUARD = TOOLS / "bin/cfn-guard"
REPO = Path(__file__).resolve().parent.parent


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation YAML: every short-form tag becomes a plain node."""


def _any_tag(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_Loader.add_multi_constructor("!", _any_tag)


def controls(rules: Path) -> list[tuple[str, str, Path, set[str]]]:
    """(control id, display name, guard file, resource types it reports on)."""
    found = []
    for meta_file in sorted((rules / "metadata").rglob("*.metadata.json")):
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        service = meta_file.parent.name
        guard = rules / "cfn-guard" / service / meta_file.name.replace(".metadata.json",
                                                                         ".guard")
        if guard.is_file():
            found.append((meta["Id"], meta["DisplayName"], guard,
                          set(meta.get("EvaluatedResourceTypes", []))))
    return found


def resource_types(template: Path) -> set[str]:
    data = yaml.load(template.read_text(encoding="utf-8"), Loader=_Loader) or {}
    return {r.get("Type", "") for r in (data.get("Resources") or {}).values()
            if isinstance(r, dict)}


def failing_paths(report: dict[str, Any]) -> list[str]:
    """JSON pointers of the nodes the failing checks name (/Resources/ID/...)."""
    paths: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            path = node.get("path")
            if isinstance(path, str) and path.startswith("/Resources/"):
                paths.add(path)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(report.get("not_compliant", []))
    return sorted(paths)


def run_control(guard: Path, template: Path) -> tuple[str, list[str]]:
    """cfn-guard's status for one rule file on one template, and the failing paths."""
    proc = subprocess.run(
        [str(CFN_GUARD), "validate", "-r", str(guard), "-d", str(template),
         "--output-format", "json", "--show-summary", "none"],
        capture_output=True, text=True, check=False)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return "ERROR", [proc.stderr.strip()[:200]]
    return str(report.get("status", "ERROR")), failing_paths(report)


def templates_of(target: Path, work: Path) -> Iterator[tuple[str, Path]]:
    if target.is_dir():
        for path in sorted(target.iterdir()):
            if path.suffix in {".yml", ".yaml", ".json"}:
                yield f"{target.name}/{path.name}", path
        return
    if target.name.endswith(".blueprint.yml"):
        name = target.name.removesuffix(".blueprint.yml")
        data = yaml.safe_load(target.read_text(encoding="utf-8")) or {}
        # A blueprint with environments renders once per environment.
        for env in sorted(data.get("environments") or {}) or [None]:
            out = work / (f"{name}-{env}" if env else name)
            command = [str(REPO / ".venv/bin/blueprint"), "render", str(target), "-o", str(out)]
            subprocess.run(command + (["--env", env] if env else []),
                           check=True, capture_output=True)
            yield from templates_of(out, work)
        return
    yield target.name, target


def measure(targets: list[Path], rules: Path) -> dict[str, list[dict[str, Any]]]:
    catalog = controls(rules)
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as work:
        for target in targets:
            for name, template in templates_of(target, Path(work)):
                types = resource_types(template)
                failures = []
                for control_id, display, guard, evaluated in catalog:
                    if not evaluated & types:
                        continue
                    status, paths = run_control(guard, template)
                    if status not in ("PASS", "SKIP"):
                        resources = sorted({p.split("/")[2] for p in paths})
                        failures.append({"control": control_id, "status": status,
                                         "name": display, "resources": resources,
                                         "paths": paths})
                results[name] = failures
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="+", type=Path,
                        help="blueprints (*.blueprint.yml), template directories or templates")
    parser.add_argument("--rules", type=Path, default=None,
                        help="the tarball's rules/control-tower directory")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    args = parser.parse_args(argv)
    rules = args.rules or next((p for p in DEFAULT_RULES if (p / "metadata").is_dir()), None)
    if rules is None:
        print("no Control Tower rules found: pass --rules", file=sys.stderr)
        return 2
    results = measure(args.targets, rules)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    total = 0
    distinct: set[str] = set()
    for name, failures in results.items():
        print(f"{name}: {len(failures)} failing")
        for failure in failures:
            print(f"  {failure['control']:<22} {failure['status']:<5} "
                  f"{','.join(failure['resources'])}  ({failure['name']})")
        total += len(failures)
        distinct |= {f["control"] for f in failures}
    print(f"total: {total} failures, {len(distinct)} distinct controls: "
          f"{' '.join(sorted(distinct))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
