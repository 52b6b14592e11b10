"""`blueprint show` (the effective blueprint, each value's origin) and `render --env`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from blueprint import cli
from blueprint.commands.show import annotated_yaml
from blueprint.environments import BASE, DEFAULT_ORIGIN, ValueOrigin, effective
from blueprint.errors import EXIT_CANNOT_CHECK, EXIT_FINDINGS, EXIT_OK
from blueprint.expander import render
from blueprint.loader import load_file
from blueprint.model import apply_defaults, from_data
from blueprint.schema import load_schema

REPO = Path(__file__).resolve().parents[1]
ORDERS = """\
blueprint: v1
name: orders
tags:
  team: payments
cluster:
  instanceType: m6i.large
service:
  image: nginx:1
  desiredCount: 2
environments:
  dev:
    account: "111111111111"
    region: eu-west-1
  prod:
    account: "222222222222"
    region: eu-west-1
    overrides:
      service:
        desiredCount: 6
        autoscaling: {minCount: 6, maxCount: 30, targetCpuPercent: 55}
      loadBalancer:
        ingressCidrs: [10.1.0.0/16]
"""


@pytest.fixture
def orders(tmp_path: Path) -> str:
    path = tmp_path / "orders.blueprint.yml"
    path.write_text(ORDERS, encoding="utf-8")
    return str(path)


def shown(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["show", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def comment_of(output: str, line_start: str) -> str:
    [line] = [line for line in output.splitlines() if line.lstrip().startswith(line_start)]
    return line.split("  # ", 1)[1]


@pytest.mark.parametrize(("line_start", "comment"), [
    ("name: orders", "base line 2"),
    ("image: nginx:1", "base line 8"),
    ("desiredCount: 6", "override (prod) line 19"),
    ("minCount: 6", "override (prod) line 20"),
    ("- 10.1.0.0/16", "override (prod) line 22"),
    ("cpu:", "default"),
    ("natGateways:", "default"),
    ("team: payments", "base line 4"),
    ("environment: prod", "added for environment prod (line 14)"),
])
def test_show_annotates_each_value_with_its_origin(
        orders: str, capsys: pytest.CaptureFixture[str], line_start: str, comment: str) -> None:
    code, out, _ = shown(capsys, orders, "--env", "prod")
    assert code == EXIT_OK
    assert comment_of(out, line_start) == comment


def test_show_prints_the_effective_blueprint_with_every_default(
        orders: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = shown(capsys, orders, "--env", "prod")
    assert code == EXIT_OK
    assert out.startswith(f"# {orders}, environment prod: stack orders-prod, "
                          "account 222222222222, region eu-west-1\n")
    doc, _ = load_file(orders)
    assert doc is not None
    prod = effective(doc, "prod")
    assert yaml.safe_load(out) == apply_defaults(load_schema(), prod.data)
    assert "environments" not in yaml.safe_load(out)
    assert all("  # " in line for line in out.splitlines()[1:])


def test_show_of_a_blueprint_without_environments(capsys: pytest.CaptureFixture[str]) -> None:
    example = str(REPO / "examples" / "minimal.blueprint.yml")
    code, out, _ = shown(capsys, example)
    assert code == EXIT_OK
    doc, _ = load_file(example)
    assert doc is not None
    assert yaml.safe_load(out) == apply_defaults(load_schema(), doc.data)
    name_line = Path(example).read_text(encoding="utf-8").splitlines().index("name: hello-api")
    assert comment_of(out, "name: hello-api") == f"base line {name_line + 1}"


@pytest.mark.parametrize(("argv", "message"), [
    ([], "has environments dev, prod: pass --env NAME"),
    (["--env", "prd"], "did you mean 'prod'?"),
])
def test_show_refuses_a_missing_or_unknown_environment(
        orders: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = shown(capsys, orders, *argv)
    assert (code, out) == (EXIT_CANNOT_CHECK, "")
    assert message in err


def test_show_of_an_environment_with_a_bad_override_reports_it_at_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.blueprint.yml"
    path.write_text(ORDERS.replace("desiredCount: 6", "desiredCont: 6"), encoding="utf-8")
    code, out, err = shown(capsys, str(path), "--env", "prod")
    assert (code, out) == (EXIT_FINDINGS, "")
    assert f"{path}:19:9" in err and "unknown key 'desiredCont'" in err
    assert "(environment prod)" in err and "did you mean 'desiredCount'?" in err


@pytest.mark.parametrize("value", [
    "plain", "yes", "no", "null", "~", "0123", "12", "1.5", "a: b", "#hash", " lead", "trail ",
    "multi\nline", "tab\there", "quote's", 'dq"', "ünïcödé", "", "- dash", "@at", "*star",
    "2030-01-01", "{x}", "[y]", "%p", "!bang", "|pipe", ">gt",
])
def test_annotated_yaml_reads_back_to_the_same_data(value: str) -> None:
    data: dict[str, Any] = {"a": value, "nested": {"b": [value, {"c": value, "d": 1}]},
                            value or "k": [], "e": {}, "f": True, "g": None, "h": 2.5}
    text = annotated_yaml(data, lambda path: ValueOrigin(BASE, path, 3))
    assert yaml.safe_load(text) == data
    assert all(line.endswith("# base line 3") for line in text.splitlines())


def test_annotated_yaml_says_default_for_what_no_one_wrote() -> None:
    text = annotated_yaml({"a": {"b": 1}}, lambda path: DEFAULT_ORIGIN)
    assert [line.rsplit("# ", 1)[1] for line in text.splitlines()] == ["default", "default"]


def test_render_env_writes_the_environment_rendering(orders: str, tmp_path: Path) -> None:
    out_dir = tmp_path / "prod"
    assert cli.main(["render", orders, "--env", "prod", "-o", str(out_dir)]) == EXIT_OK
    doc, _ = load_file(orders)
    assert doc is not None
    expected = render(from_data(effective(doc, "prod").data, load_schema())).texts
    assert {name: (out_dir / name).read_text(encoding="utf-8") for name in expected} == expected
    dev_dir = tmp_path / "dev"
    assert cli.main(["render", orders, "--env", "dev", "-o", str(dev_dir)]) == EXIT_OK
    assert (dev_dir / "service.yml").read_text(encoding="utf-8") != expected["service.yml"]


def test_render_refuses_a_blueprint_with_environments_without_env(
        orders: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["render", orders, "-o", str(tmp_path / "out")]) == EXIT_CANNOT_CHECK
    assert "pass --env NAME" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_render_env_with_an_override_error_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.blueprint.yml"
    path.write_text(ORDERS.replace("[10.1.0.0/16]", "[10.1.2.3/16]"), encoding="utf-8")
    out_dir = tmp_path / "out"
    assert cli.main(["render", str(path), "--env", "prod", "-o", str(out_dir)]) == EXIT_FINDINGS
    err = capsys.readouterr().err
    assert f"{path}:22:24" in err and "has host bits set (environment prod)" in err
    assert not out_dir.exists()
    # dev does not have the override: it renders
    assert cli.main(["render", str(path), "--env", "dev", "-o", str(out_dir)]) == EXIT_OK
