"""``blueprint diagram``: golden Mermaid per example, an SVG that parses and names
what is deployed, both in agreement with the rendered templates, labels escaped.

After an intended change to the diagrams run ``python tests/golden/regen_diagrams.py``
and review the diff of tests/golden/diagrams/.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from blueprint import diagram
from blueprint.api import load_blueprint
from blueprint.commands import diagram as diagram_command
from blueprint.errors import UsageError
from blueprint.expander import CHILD_STACKS, Rendering, render
from blueprint.model import Blueprint

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("regen_diagrams",
                                               ROOT / "tests" / "golden" / "regen_diagrams.py")
assert _spec and _spec.loader
regen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regen)
CASES = regen.cases()
IDS = [case.golden for case in CASES]
SVG = "{http://www.w3.org/2000/svg}"


def _blueprint(case: Any) -> tuple[Blueprint, str | None]:
    from blueprint.api import load_effective

    _, environment, blueprint, findings = load_effective(str(case.path), case.env)
    assert blueprint is not None, findings
    return blueprint, environment.name if environment else None


def test_every_example_has_a_golden_diagram() -> None:
    assert len(CASES) >= 3
    assert sorted(p.name for p in regen.DIAGRAMS.glob("*.mmd")) == sorted(IDS)


def test_an_example_with_environments_has_one_diagram_per_environment() -> None:
    with_envs = [case for case in CASES if case.env is not None]
    if not with_envs:
        pytest.skip("no example has environments")
    assert all(case.golden == f"{case.path.name.removesuffix('.blueprint.yml')}.{case.env}.mmd"
               for case in with_envs)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_mermaid_matches_golden(case: Any) -> None:
    golden = (regen.DIAGRAMS / case.golden).read_text(encoding="utf-8")
    assert regen.drawn(case) == golden, (f"{case.golden} drifted from its golden file; run "
                                         "python tests/golden/regen_diagrams.py and review")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_mermaid_is_well_formed(case: Any) -> None:
    text = regen.drawn(case)
    assert text.startswith("---\ntitle: ") and "\nflowchart LR\n" in text
    body = text.split("flowchart LR\n", 1)[1].splitlines()
    opened = sum(1 for line in body if line.strip().startswith("subgraph "))
    assert opened == sum(1 for line in body if line.strip() == "end")
    defined = {m.group(1) for line in body
               if (m := re.match(r"\s*(?:subgraph )?(\w+)[\[(]", line))}
    for line in body:
        edge = re.match(r"\s*(\w+) -\.?->(?:\|.*?\|)? (\w+)$", line)
        if edge:
            assert {edge.group(1), edge.group(2)} <= defined, line
    # A label is one quoted string: no stray quote, fence or pipe can end it early.
    for label in re.findall(r'\["(.*?)"\]', text):
        assert not set(label.replace("<br>", "")) & set('"`|<>'), label


def _resolved(rendering: Rendering, template: str, value: Any) -> Any:
    """A child template's value with a {Ref: parameter} replaced by what parent.yml passes."""
    if not (isinstance(value, dict) and set(value) == {"Ref"}):
        return value
    logical_id = next(lid for lid, name in CHILD_STACKS.items() if name == template)
    passed = rendering.templates["parent.yml"]["Resources"][logical_id]["Properties"]
    return passed["Parameters"].get(value["Ref"], value)


def _resources(rendering: Rendering, template: str, kind: str) -> list[dict[str, Any]]:
    return [resource.get("Properties", {})
            for resource in rendering.templates[template]["Resources"].values()
            if resource["Type"] == kind]


def _deployed_facts(blueprint: Blueprint) -> dict[str, Any]:
    """What the rendered templates deploy, read by resource type (not by name)."""
    rendering = render(blueprint)
    subnets = [str(_resolved(rendering, "vpc.yml", p["CidrBlock"]))
               for p in _resources(rendering, "vpc.yml", "AWS::EC2::Subnet")]
    listeners = [(p["Protocol"], str(_resolved(rendering, "service.yml", p["Port"])))
                 for p in _resources(rendering, "service.yml",
                                     "AWS::ElasticLoadBalancingV2::Listener")]
    return {"subnets": subnets, "listeners": listeners,
            "nat_gateways": len(_resources(rendering, "vpc.yml", "AWS::EC2::NatGateway"))}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_diagram_agrees_with_the_rendered_templates(case: Any) -> None:
    blueprint, env = _blueprint(case)
    facts = _deployed_facts(blueprint)
    text = diagram.mermaid(blueprint, environment=env)
    assert len(facts["subnets"]) == 2 * blueprint.network.availability_zones
    for cidr in facts["subnets"]:
        assert f' subnet {cidr}"]' in text, cidr
    assert len(re.findall(r"^\s+nat_\d+\[", text, re.M)) == facts["nat_gateways"]
    assert len(re.findall(r"^\s+alb -->", text, re.M)) == blueprint.network.availability_zones
    for protocol, port in facts["listeners"]:
        assert f"{protocol} :{port} " in text
    ports = ", ".join(port for _, port in facts["listeners"])
    assert f"ALB SG: TCP {ports}" in text
    assert f"service SG: TCP {blueprint.service.port}" in text


def _svg_texts(document: str) -> list[str]:
    root = ET.fromstring(document)  # parses as XML, or raises
    assert root.tag == f"{SVG}svg"
    return [element.text or "" for element in root.iter() if element.tag in
            (f"{SVG}text", f"{SVG}title")]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_svg_parses_and_names_every_subnet_the_alb_and_the_service(case: Any) -> None:
    blueprint, env = _blueprint(case)
    texts = _svg_texts(regen.drawn(case, "svg"))
    for cidr in _deployed_facts(blueprint)["subnets"]:
        assert cidr in texts, cidr
    for number in range(1, blueprint.network.availability_zones + 1):
        assert f"AZ {number} public subnet" in texts and f"AZ {number} private subnet" in texts
    assert "Application Load Balancer" in texts
    assert f"ECS service {blueprint.service.name}" in texts
    assert f"{blueprint.service.name} task" in texts
    assert any(blueprint.cluster.instance_type in text for text in texts)
    if env is not None:
        assert any(env in text for text in texts)


def test_drawings_are_deterministic() -> None:
    case = CASES[0]
    assert regen.drawn(case, "svg") == regen.drawn(case, "svg")
    assert regen.drawn(case) == regen.drawn(case)


def _seed() -> Blueprint:
    _, blueprint, findings = load_blueprint(str(ROOT / "examples" / "seed.blueprint.yml"))
    assert blueprint is not None, findings
    return blueprint


HOSTILE = 'a"b`c|d<e>&f#g\nh'


def test_mermaid_labels_escape_what_could_end_them() -> None:
    escaped = diagram.mermaid_text(HOSTILE)
    assert escaped == "a#quot;b#96;c#124;d#lt;e#gt;#amp;f#35;g h"
    hostile = dataclasses.replace(
        _seed(), service=dataclasses.replace(_seed().service, name=HOSTILE))
    text = diagram.mermaid(hostile, environment="x<```y>")
    port = hostile.service.port
    assert f'        task_1["{escaped} task<br>awsvpc, port {port}"]\n' in text
    assert "`" not in text and "\nh" not in text.split("---")[2]
    assert "title: \"api-environment · x<'''y>\"" in text


def test_svg_escapes_text_and_keeps_it_whole() -> None:
    hostile = dataclasses.replace(
        _seed(), service=dataclasses.replace(_seed().service, name=HOSTILE))
    document = diagram.svg(hostile, environment="</svg>&")
    texts = _svg_texts(document)
    assert f"ECS service {HOSTILE}" in texts
    assert "api-environment · </svg>&: architecture" in texts


def test_a_single_nat_gateway_is_shared_and_drawn_once() -> None:
    seed = _seed()
    single = dataclasses.replace(seed, network=dataclasses.replace(
        seed.network, availability_zones=3, nat_gateways="single"))
    text = diagram.mermaid(single)
    assert re.findall(r"^\s+(nat_\d+)\[", text, re.M) == ["nat_1"]
    assert [re.findall(rf"^\s+task_{n} -->(?:\|.*\|)? (nat_\d+)$", text, re.M)
            for n in (1, 2, 3)] == [["nat_1"]] * 3
    assert re.findall(r"^\s+(no_nat_\d+)\[", text, re.M) == ["no_nat_2", "no_nat_3"]
    assert text.count("--> internet") == 1


# -- the command ---------------------------------------------------------------------------------


def test_command_prints_mermaid(capsys: pytest.CaptureFixture[str]) -> None:
    assert diagram_command.run(str(ROOT / "examples" / "seed.blueprint.yml")) == 0
    assert capsys.readouterr().out == diagram.mermaid(_seed())


def test_command_writes_svg_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "seed.svg"
    code = diagram_command.run(str(ROOT / "examples" / "seed.blueprint.yml"),
                               output_format="svg", output=str(target))
    assert code == 0
    assert target.read_text(encoding="utf-8") == diagram.svg(_seed())
    assert f"wrote {target}" in capsys.readouterr().out


def test_command_reports_an_invalid_blueprint(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.blueprint.yml"
    broken.write_text("blueprint: v1\nname: x\nservice: {port: 0}\n", encoding="utf-8")
    assert diagram_command.run(str(broken)) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "broken.blueprint.yml" in captured.err


def test_command_refuses_an_unknown_format() -> None:
    with pytest.raises(UsageError, match="mermaid, svg"):
        diagram_command.run(str(ROOT / "examples" / "seed.blueprint.yml"), output_format="png")


def test_command_refuses_an_unwritable_output(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot write"):
        diagram_command.run(str(ROOT / "examples" / "seed.blueprint.yml"),
                            output=str(tmp_path / "missing" / "x.mmd"))


def test_command_draws_the_chosen_environment(capsys: pytest.CaptureFixture[str]) -> None:
    with_envs = [case for case in CASES if case.env is not None]
    if not with_envs:
        pytest.skip("no example has environments")
    case = with_envs[-1]
    assert diagram_command.run(str(case.path), env=case.env) == 0
    assert capsys.readouterr().out == (regen.DIAGRAMS / case.golden).read_text(encoding="utf-8")
    with pytest.raises(UsageError, match="--env"):
        diagram_command.run(str(case.path))
    with pytest.raises(UsageError, match="unknown environment"):
        diagram_command.run(str(case.path), env=f"{case.env}x")


# -- diagrams of files, for the markdown report ----------------------------------------------------


def test_mermaid_of_file_draws_each_environment_or_the_one_blueprint() -> None:
    for case in CASES:
        drawn = dict(diagram.mermaid_of_file(str(case.path)))
        assert drawn[case.env] == (regen.DIAGRAMS / case.golden).read_text(encoding="utf-8")


def test_mermaid_of_file_draws_nothing_for_what_is_not_a_loadable_blueprint(
        tmp_path: Path) -> None:
    template = ROOT / "tests" / "golden" / "seed" / "vpc.yml"
    broken = tmp_path / "broken.blueprint.yml"
    broken.write_text("blueprint: v1\nname: x\nservice: {port: 0}\n", encoding="utf-8")
    unparsable = tmp_path / "unparsable.blueprint.yml"
    unparsable.write_text("blueprint: [v1\n", encoding="utf-8")
    for path in (template, broken, unparsable, tmp_path / "gone.blueprint.yml"):
        assert diagram.mermaid_of_file(str(path)) == [], path


def test_the_cli_runs_the_command_when_it_is_wired(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from blueprint.cli import cli

    if "diagram" not in cli.commands:
        pytest.skip("blueprint.cli has no diagram command yet")
    target = tmp_path / "seed.svg"
    result = CliRunner().invoke(cli, ["diagram", str(ROOT / "examples" / "seed.blueprint.yml"),
                                      "--format", "svg", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == diagram.svg(_seed())


def test_the_cli_offers_exactly_the_formats_the_drawing_has() -> None:
    from blueprint import cli

    assert tuple(getattr(cli, "DIAGRAM_FORMATS", diagram.FORMATS)) == diagram.FORMATS


# -- the markdown report (the pull-request summary) ---------------------------------------------


def test_the_markdown_report_embeds_a_diagram_of_each_blueprint_and_environment(
        tmp_path: Path) -> None:
    from blueprint.finding import Report
    from blueprint.formatters import markdown

    broken = tmp_path / "broken.blueprint.yml"
    broken.write_text("blueprint: v1\nname: x\nservice: {port: 0}\n", encoding="utf-8")
    template = ROOT / "tests" / "golden" / "seed" / "vpc.yml"
    files = sorted({str(case.path) for case in CASES} | {str(broken), str(template)})
    text = markdown.render(Report(files=tuple(files), findings=()))
    blocks = re.findall(r"^```mermaid\n(.*?)\n```$", text, re.M | re.S)
    by_file = sorted(CASES, key=lambda case: (str(case.path), IDS.index(case.golden)))
    assert blocks == [(regen.DIAGRAMS / case.golden).read_text(encoding="utf-8").rstrip("\n")
                      for case in by_file]
    assert f"### Architecture ({len(CASES)})" in text
    for case in CASES:
        suffix = f" · environment `{case.env}`" if case.env else ""
        assert f"**`{case.path}`{suffix}**" in text


def test_the_markdown_report_caps_its_diagrams_and_skips_the_section_without_any() -> None:
    from blueprint.finding import Report
    from blueprint.formatters import markdown

    many = Report(files=tuple(f"b{n:02}.blueprint.yml" for n in range(15)), findings=())
    text = markdown.render(many, diagrams=lambda path: [(None, f"flowchart LR\n    {path[:3]}")])
    assert text.count("```mermaid") == markdown.MAX_DIAGRAMS
    assert f"… and {15 - markdown.MAX_DIAGRAMS} more" in text
    assert "### Architecture" not in markdown.render(many, diagrams=lambda path: [])
