"""A plain install works: the wheel without extras, in a fresh virtualenv, runs every command.

The wheel is built from this work tree and installed with pip (no extras, so no
moto) into a virtualenv that sees nothing of the test environment. Every
command runs once, outside the checkout, and ends with its documented exit
code and never a traceback: commands that need AWS reach an unreachable
endpoint (exit 2, one error line), and those that need the local endpoint name
the extra to install (exit 2). Installing takes a while; ``--no-compile`` skips
byte-compiling botocore and sympy, the bulk of the time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from blueprint.tools import find_cfn_guard

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
UNREACHABLE = "http://127.0.0.1:9"
LOCAL_EXTRA = "pip install 'blueprint[local]'"
BAD_INSTANCE_TYPE = """\
blueprint: v1
name: gpu-api
cluster:
  instanceType: p3.2xlarge
service:
  image: public.ecr.aws/docker/library/nginx:latest
"""


@dataclass(frozen=True)
class Installed:
    venv: Path
    project: Path  # a directory outside the checkout with the blueprints to run on
    env: dict[str, str]

    def run(self, *argv: str, module: bool = False) -> subprocess.CompletedProcess[str]:
        bin_dir = self.venv / "bin"
        command = ([str(bin_dir / "python"), "-m", *argv] if module
                   else [str(bin_dir / argv[0]), *argv[1:]])
        return subprocess.run(command, cwd=self.project, env=self.env, capture_output=True,
                              text=True, timeout=600, check=False)


def pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          timeout=1200, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("install")
    pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(work / "dist"), str(ROOT))
    (wheel,) = (work / "dist").glob("blueprint-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    # This environment's pip installs into the new one: no pip bootstrap to pay for.
    pip("--python", str(venv / "bin" / "python"), "install", "--quiet", "--no-compile",
        str(wheel))
    project = work / "project"
    project.mkdir()
    shutil.copy(ROOT / "examples" / "minimal.blueprint.yml", project / "ok.blueprint.yml")
    (project / "bad.blueprint.yml").write_text(BAD_INSTANCE_TYPE)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTHON", "VIRTUAL_ENV", "AWS_", "BLUEPRINT_"))}
    env.update({
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "CFN_GUARD": find_cfn_guard(),
        "BLUEPRINT_CACHE_DIR": str(work / "cache"),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(work / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "no-aws-credentials"),
    })
    return Installed(venv, project, env)


def test_the_install_is_the_wheel_without_moto(installed: Installed) -> None:
    done = installed.run("python", "-c", "import blueprint, boto3, importlib.util; "
                         "print(blueprint.__file__); print(importlib.util.find_spec('moto'))")
    assert done.returncode == 0, done.stderr
    location, moto = done.stdout.splitlines()
    assert Path(location).is_relative_to(installed.venv)
    assert moto == "None"


# (argv, run as `python -m`, expected exit code, text expected in stdout + stderr)
COMMANDS = [
    (["blueprint", "--version"], False, 0, "blueprint, version"),
    (["blueprint", "--version"], True, 0, "blueprint, version"),
    (["blueprint", "validate", "--no-cache", "ok.blueprint.yml"], False, 0, "no problems"),
    (["blueprint", "validate", "--no-cache", "bad.blueprint.yml"], True, 1,
     "p3.2xlarge"),
    (["blueprint", "render", "ok.blueprint.yml", "-o", "out"], False, 0, ""),
    (["blueprint", "plan", "ok.blueprint.yml", "--endpoint-url", UNREACHABLE], False, 2,
     f"cannot reach {UNREACHABLE}"),
    (["blueprint", "deploy", "ok.blueprint.yml", "--endpoint-url", UNREACHABLE, "--yes"], False,
     2, f"cannot reach {UNREACHABLE}"),
    (["blueprint", "outputs", "ok.blueprint.yml", "--endpoint-url", UNREACHABLE], False, 2,
     f"cannot reach {UNREACHABLE}"),
    (["blueprint", "status", "ok.blueprint.yml", "--endpoint-url", UNREACHABLE], False, 2,
     f"cannot reach {UNREACHABLE}"),
    (["blueprint", "delete", "ok.blueprint.yml", "--endpoint-url", UNREACHABLE, "--yes"], False,
     2, f"cannot reach {UNREACHABLE}"),
    (["blueprint", "deploy", "ok.blueprint.yml", "--local", "--yes"], False, 2, LOCAL_EXTRA),
    (["blueprint", "status", "ok.blueprint.yml", "--local"], True, 2, LOCAL_EXTRA),
    (["blueprint", "local-aws", "--port", "0"], False, 2, LOCAL_EXTRA),
    (["blueprint.local_aws", "--port", "0"], True, 2, LOCAL_EXTRA),
]


@pytest.mark.parametrize(("argv", "module", "expected_code", "expected_text"), [
    pytest.param(argv, module, code, text,
                 id=("python -m " if module else "") + " ".join(argv).replace("ok.blueprint.yml",
                                                                               "FILE"))
    for argv, module, code, text in COMMANDS
])
def test_every_command_runs_from_a_plain_install(
    installed: Installed, argv: list[str], module: bool, expected_code: int,
    expected_text: str,
) -> None:
    done = installed.run(*argv, module=module)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode == expected_code, output
    assert expected_text in output
    if expected_code == 2:  # could not act: one error line (and its hint), nothing else
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, done.stderr
    if argv[:2] == ["blueprint", "render"]:
        assert sorted(p.name for p in (installed.project / "out").iterdir()) == [
            "cluster.yml", "parent.yml", "service.yml", "vpc.yml"]
