"""`blueprint validate` as users run it: examples, the seed, templates, formats, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blueprint.cli import main
from blueprint.loader import load_text

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(str(p) for p in (REPO / "examples").glob("*.blueprint.yml"))
SEED = REPO / "tests" / "rules" / "fixtures" / "seed"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", "--no-cache", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_every_example_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *EXAMPLES)
    assert code == 0, out
    assert out.strip().endswith("no problems")


def test_seed_cluster_fails_the_instance_type_policy_with_file_and_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = str(SEED / "cluster.yml")
    code, out, _ = run(capsys, path)
    assert code == 1
    line = next(entry for entry in out.splitlines() if "INSTANCE_TYPE_ALLOWED" in entry)
    # at the `!Ref InstanceType` that uses the unlisted parameter (I3's convention)
    assert line.startswith(f"{path}:69:"), line
    assert ": error INSTANCE_TYPE_ALLOWED " in line


def test_json_templates_are_recognised_by_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc, _ = load_text("cluster.yml", (SEED / "cluster.yml").read_text().replace(
        "HttpTokens: required", "HttpTokens: optional"))
    assert doc is not None
    template = doc.data
    path = tmp_path / "cluster.template"
    path.write_text(json.dumps(template, indent=2, default=str))
    code, out, _ = run(capsys, "--no-lint", str(path))
    assert code == 1
    assert "LAUNCH_TEMPLATE_IMDSV2_REQUIRED" in out and "INSTANCE_TYPE_ALLOWED" in out


ADVISORY_RULE = """
let task_definitions = Resources.*[ Type == 'AWS::ECS::TaskDefinition' ]
rule CONTAINER_HEALTH_CHECK_SET when %task_definitions !empty {
    %task_definitions.Properties.ContainerDefinitions[*].HealthCheck exists
        <<Give every container a health check>>
}
"""


def test_advisory_pack_finding_names_the_blueprint_line_and_the_rendered_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = tmp_path / "org-rules"
    pack.mkdir()
    (pack / "health.guard").write_text(ADVISORY_RULE)
    blueprint = str(REPO / "examples" / "seed.blueprint.yml")
    code, out, _ = run(capsys, "--no-lint", "--rules", str(pack), blueprint)
    assert code == 0, out  # an added pack is advisory: a warning, not a failure
    lines = out.splitlines()
    index = next(i for i, line in enumerate(lines) if "CONTAINER_HEALTH_CHECK_SET" in line)
    service_line = (REPO / "examples" / "seed.blueprint.yml").read_text().splitlines().index(
        "service:") + 1
    assert lines[index].startswith(
        f"{blueprint}:{service_line}:1: warning CONTAINER_HEALTH_CHECK_SET")
    assert lines[index + 1].startswith("  rendered: service.yml:")
    assert "from service" in lines[index + 1]

    code, _, _ = run(capsys, "--no-lint", "--fail-on", "warning", "--rules", str(pack), blueprint)
    assert code == 1

    waived = tmp_path / "waived.blueprint.yml"
    waived.write_text(Path(blueprint).read_text() + (
        "\nwaivers:\n  - rule: CONTAINER_HEALTH_CHECK_SET\n"
        "    reason: the load balancer health check covers the container\n"
        "    expires: 2099-12-31\n"))
    code, out, _ = run(capsys, "--no-lint", "--fail-on", "warning", "--rules", str(pack),
                       str(waived))
    assert code == 0, out
    assert "waived:" in out and "CONTAINER_HEALTH_CHECK_SET" in out


def test_json_format_is_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--format", "json", "--no-lint", str(SEED / "cluster.yml"))
    assert code == 1
    document = json.loads(out)
    finding = next(f for f in document["findings"] if f["rule"] == "INSTANCE_TYPE_ALLOWED")
    assert finding["line"] == 69 and finding["severity"] == "error"
    assert document["summary"]["errors"] >= 1


def test_fail_on_warning_makes_warnings_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "template.yml"
    path.write_text((SEED / "vpc.yml").read_text() + "\nConditions:\n  Never: !Equals [a, b]\n")
    code, out, _ = run(capsys, str(path))
    assert code == 0 and "warning" in out, out
    code, _, _ = run(capsys, "--fail-on", "warning", str(path))
    assert code == 1


def test_no_files_and_nothing_discovered_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys)
    assert code == 2 and "no blueprints found" in err


def test_discovery_finds_blueprints_by_the_configured_globs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "prod.blueprint.yml").write_text(
        (REPO / "examples" / "minimal.blueprint.yml").read_text())
    (tmp_path / "envs" / "notes.yml").write_text("not: a blueprint\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "--no-lint")
    assert code == 0, out
    assert out.strip() == "1 file checked: no problems"


def test_templates_with_a_transform_fail_closed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "macro.yml"
    path.write_text("Transform: AWS::Serverless-2016-10-31\nResources:\n"
                    "  Queue:\n    Type: AWS::SQS::Queue\n"
                    "  Included:\n    Fn::Transform:\n      Name: AWS::Include\n"
                    "      Parameters: {Location: s3://bucket/snippet.yml}\n")
    code, out, _ = run(capsys, "--no-lint", str(path))
    assert code == 1
    lines = [line for line in out.splitlines() if " BP008 " in line]
    # The SAM transform is expanded and checked; the AWS::Include macro cannot be.
    assert [line.split(": error")[0] for line in lines] == [f"{path}:6:5"]


def test_a_lower_case_rule_in_a_nested_ruleset_is_listed_and_advisory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """cfn-guard reports rules of any case from .ruleset files in subfolders too; the catalog
    lists them as rules of the added pack (advisory, so waivable). A rule no pack lists at
    all stays unwaivable: tests/test_waivers.py (is_mandatory("UNLISTED", Source.GUARD))."""
    pack = tmp_path / "org-rules" / "nested"
    pack.mkdir(parents=True)
    (pack / "health.ruleset").write_text(ADVISORY_RULE.replace("CONTAINER_HEALTH_CHECK_SET",
                                                               "container_health_check_set"))
    waived = tmp_path / "waived.blueprint.yml"
    waived.write_text((REPO / "examples" / "seed.blueprint.yml").read_text() + (
        "\nwaivers:\n  - rule: container_health_check_set\n"
        "    reason: the load balancer health check covers the container\n"
        "    expires: 2099-12-31\n"))
    code, out, _ = run(capsys, "--no-lint", "--fail-on", "warning",
                       "--rules", str(tmp_path / "org-rules"), str(waived))
    assert code == 0, out
    assert " BP201 " not in out
    assert "warning container_health_check_set" in out and "[waived:" in out


def test_same_file_named_twice_is_checked_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    code, out, _ = run(capsys, "--no-lint", "examples/minimal.blueprint.yml",
                       "./examples/minimal.blueprint.yml")
    assert code == 0, out
    assert out.strip() == "1 file checked: no problems"


def test_render_of_a_template_says_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["render", str(SEED / "cluster.yml"), "-o", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 1
    assert "is a CloudFormation template, not a blueprint" in out + err
    assert not (tmp_path / "out").exists()
