"""The CI entry points this repository ships: pre-commit hook, GitHub Action, workflow.

They are only YAML, so this checks what would otherwise break silently: the
keys GitHub and pre-commit read, the hook's file pattern, and that the action
writes what the workflow reads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def load(relative: str) -> Any:
    return yaml.safe_load((ROOT / relative).read_text(encoding="utf-8"))


def workflow_on(workflow: dict[Any, Any]) -> Any:
    return workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1 reads `on` as true


def test_precommit_hook_definition() -> None:
    [hook] = load(".pre-commit-hooks.yaml")
    assert hook["id"] == "blueprint-validate"
    assert hook["language"] == "python"
    assert hook["entry"] == "blueprint validate"
    assert hook["require_serial"] is True
    assert hook["files"] == r"(\.blueprint\.ya?ml$|^blueprints/.*\.ya?ml$)"


@pytest.mark.parametrize(("path", "matched"), [
    ("a.blueprint.yml", True),
    ("envs/prod.blueprint.yaml", True),
    ("blueprints/prod.yml", True),
    ("blueprints/eu/prod.yaml", True),
    ("other/blueprints/prod.yml", False),
    ("templates/vpc.yml", False),
    ("a.blueprint.yml.bak", False),
    ("blueprints/README.md", False),
])
def test_precommit_file_pattern(path: str, matched: bool) -> None:
    [hook] = load(".pre-commit-hooks.yaml")
    assert bool(re.search(hook["files"], path)) is matched


def test_action_is_a_composite_with_the_documented_interface() -> None:
    action = load("action.yml")
    assert action["runs"]["using"] == "composite"
    assert {"files", "format", "fail-on", "python-version"} <= set(action["inputs"])
    assert {"sarif", "summary", "exit-code"} <= set(action["outputs"])
    for spec in action["inputs"].values():
        assert "description" in spec
    steps = action["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert steps[0]["with"]["python-version"] == "${{ inputs.python-version }}"
    scripts = "\n".join(step.get("run", "") for step in steps)
    assert 'pip install --quiet "$GITHUB_ACTION_PATH"' in scripts
    assert "-m blueprint.install_guard" in scripts
    assert "--format sarif -o" in scripts
    assert "--format markdown -o" in scripts
    assert "$GITHUB_STEP_SUMMARY" in scripts
    assert all("shell" in step for step in steps if "run" in step)
    validate = next(step for step in steps if step.get("id") == "validate")
    for name, value in action["outputs"].items():
        assert value["value"] == f"${{{{ steps.validate.outputs.{name} }}}}"
        assert f"{name}=" in validate["run"]


def test_action_inputs_reach_scripts_only_through_env() -> None:
    """No ${{ inputs.* }} inside a run script: inputs are data, never shell code."""
    for step in load("action.yml")["runs"]["steps"]:
        assert "${{" not in step.get("run", "")


def test_policy_gate_workflow() -> None:
    workflow = load(".github/workflows/policy-gate.yml")
    assert "pull_request" in workflow_on(workflow)
    assert workflow["permissions"]["security-events"] == "write"
    assert workflow["permissions"]["pull-requests"] == "write"
    [job] = workflow["jobs"].values()
    steps = job["steps"]
    uses = [step.get("uses", "") for step in steps]
    assert uses[0].startswith("actions/checkout@")
    gate = next(step for step in steps if step.get("uses") == "./")
    assert gate["id"] == "gate"
    upload = next(step for step in steps
                  if step.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == "${{ steps.gate.outputs.sarif }}"
    assert "!cancelled()" in upload["if"]
    comment = next(step for step in steps
                   if step.get("uses", "").startswith("marocchino/sticky-pull-request-comment@"))
    assert comment["with"]["path"] == "${{ steps.gate.outputs.summary }}"
    last = steps[-1]
    assert "exit 1" in last["run"]
    assert "steps.gate.outputs.exit-code" in last["if"]
    assert steps.index(last) > steps.index(upload) and steps.index(last) > steps.index(comment)
