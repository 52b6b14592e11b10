"""The pre-commit hook end to end: ``pre-commit try-repo`` on a copy of this work tree.

pre-commit installs blueprint from the copy into its own virtualenv (from
PyPI, so this needs network access and a minute or two the first time) and
runs ``blueprint validate`` on the staged blueprints, with the real cfn-guard.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from blueprint.tools import find_cfn_guard

ROOT = Path(__file__).resolve().parents[1]
IGNORED = shutil.ignore_patterns(".git", ".venv", ".tox", ".tools", "__pycache__", "*.pyc",
                                 ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
                                 "build", "dist", "*.egg-info", "out")
BAD_INSTANCE_TYPE = """\
blueprint: v1
name: gpu-api
cluster:
  instanceType: p3.2xlarge
service:
  image: public.ecr.aws/docker/library/nginx:latest
"""

pytestmark = pytest.mark.slow


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


def new_repo(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    git(path, "config", "user.email", "test@example.invalid")
    git(path, "config", "user.name", "blueprint tests")
    git(path, "config", "commit.gpgsign", "false")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This work tree, uncommitted changes included, as a repository with one commit."""
    copy = tmp_path_factory.mktemp("hook") / "blueprint"
    shutil.copytree(ROOT, copy, ignore=IGNORED, symlinks=True)
    new_repo(copy)
    git(copy, "add", "-A")
    git(copy, "commit", "-q", "-m", "work tree under test")
    return copy


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("GIT_", "PRE_COMMIT", "VIRTUAL_ENV"))}
    environment["PRE_COMMIT_HOME"] = str(tmp_path_factory.mktemp("pre-commit-home"))
    environment["CFN_GUARD"] = find_cfn_guard()
    yield environment


def try_repo(project: Path, hook_repo: Path,
             env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "blueprint-validate",
         "--all-files", "--verbose"],
        cwd=project, env=env, capture_output=True, text=True, timeout=1200, check=False,
    )


def test_good_blueprint_passes_and_bad_instance_type_is_blocked(
        tmp_path: Path, hook_repo: Path, env: dict[str, str]) -> None:
    project = tmp_path / "project"
    new_repo(project)
    (project / "blueprints").mkdir()
    shutil.copy(ROOT / "examples" / "minimal.blueprint.yml", project / "api.blueprint.yml")
    shutil.copy(ROOT / "examples" / "seed.blueprint.yml", project / "blueprints" / "seed.yml")
    (project / "notes.yml").write_text("not: a blueprint\n", encoding="utf-8")
    git(project, "add", "-A")

    passed = try_repo(project, hook_repo, env)
    output = passed.stdout + passed.stderr
    assert passed.returncode == 0, output
    assert "2 files checked: no problems" in output  # one serial run; notes.yml not matched

    (project / "gpu.blueprint.yml").write_text(BAD_INSTANCE_TYPE, encoding="utf-8")
    git(project, "add", "-A")
    blocked = try_repo(project, hook_repo, env)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "gpu.blueprint.yml:4:17: error BP107" in output
    assert "p3.2xlarge" in output
    assert "3 files checked: 1 error" in output
