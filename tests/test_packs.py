"""``validate --pack control-tower``: AWS Control Tower's proactive controls, advisory.

The rules are the ones ``scripts/setup`` installs (``python -m blueprint.install_guard``);
nothing here downloads them. Without them these tests fail, saying how to install.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from blueprint import catalog, packs
from blueprint.commands import validate as validate_command
from blueprint.errors import EXIT_CANNOT_CHECK, ToolError, UsageError
from blueprint.finding import Finding, Report, Severity, Source
from blueprint.formatters import sarif
from blueprint.guard import RulePack, default_rule_packs, run_guard
from blueprint.pipeline import ValidateOptions, check_blueprint, validate
from blueprint.waivers import MANDATORY_WAIVER, UNKNOWN_RULE

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "examples" / "minimal.blueprint.yml"
# One instance type, chosen on purpose: an Auto Scaling group of a single type fails
# CT.AUTOSCALING.PR.6 (several instance types), whatever the defaults become.
ONE_TYPE = MINIMAL.read_text(encoding="utf-8") + "cluster:\n  instanceType: c5.large\n"
SEVERAL_TYPES = "CT.AUTOSCALING.PR.6"
NITRO = "CT.EC2.PR.15"
NITRO_RULE = "ec2_launch_template_nitro_instance_type_check"
MONITORING = "CT.EC2.PR.10"

LAUNCH_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        InstanceType: {instance_type}
        Monitoring:
          Enabled: {monitoring}
        MetadataOptions:
          HttpTokens: required
          HttpPutResponseHopLimit: 1
"""


@pytest.fixture(scope="module")
def pack() -> RulePack:
    try:
        return packs.rule_pack(packs.CONTROL_TOWER)
    except ToolError as err:
        pytest.fail(f"the Control Tower rules are not installed as pinned ({err}): run "
                    "scripts/setup, or `python -m blueprint.install_guard`")


@pytest.fixture(scope="module")
def results_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One result cache for the module: later runs of the same check are hits."""
    with pytest.MonkeyPatch.context() as patch:
        path = tmp_path_factory.mktemp("results")
        patch.setenv("BLUEPRINT_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="module")
def one_type(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("blueprints") / "one-type.blueprint.yml"
    path.write_text(ONE_TYPE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def one_type_report(pack: RulePack, results_cache: Path, one_type: Path) -> Report:
    options = ValidateOptions(lint=False, rule_packs=(*default_rule_packs(), pack))
    return validate([str(one_type)], options)


def control_findings(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.rule_id.startswith("CT.")]


def template(tmp_path: Path, instance_type: str, *, monitoring: bool = True) -> Path:
    path = tmp_path / f"lt-{instance_type}.yml"
    path.write_text(LAUNCH_TEMPLATE.format(instance_type=instance_type,
                                           monitoring=str(monitoring).lower()),
                    encoding="utf-8")
    return path


def test_the_pack_reports_controls_as_warnings_named_by_control_id(
        one_type_report: Report) -> None:
    found = control_findings(one_type_report)
    assert {f.severity for f in found} == {Severity.WARNING}
    assert {f.source for f in found} == {Source.GUARD}
    [several] = [f for f in found if f.rule_id == SEVERAL_TYPES]
    meta = json.loads((packs.pack_root(packs.CONTROL_TOWER) / "metadata" / "ec2autoscaling"
                       / "ct-autoscaling-pr-6.metadata.json").read_text(encoding="utf-8"))
    assert several.message.startswith(meta["DisplayName"])
    assert several.hint == meta["RemediationMessage"]
    assert several.blueprint_path is not None  # traced back to the blueprint
    assert not any(f.severity is Severity.ERROR for f in one_type_report.findings)


def test_one_finding_per_control_and_resource(one_type_report: Report) -> None:
    seen = [(f.rule_id, f.rendered_location.file if f.rendered_location else "", f.resource)
            for f in control_findings(one_type_report)]
    assert len(seen) == len(set(seen))


def test_sarif_rule_help_carries_the_remediation(one_type_report: Report) -> None:
    document = json.loads(sarif.render(one_type_report))
    rules = {rule["id"]: rule for rule in document["runs"][0]["tool"]["driver"]["rules"]}
    nitro = rules[NITRO]  # every control of the pack is described, failing or not
    assert "Fix: When InstanceType in LaunchTemplateData" in nitro["help"]["text"]
    assert nitro["shortDescription"]["text"].startswith("Require an Amazon EC2 instance")
    assert nitro["properties"]["mandatory"] is False
    assert nitro["defaultConfiguration"]["level"] == "warning"
    several = rules[SEVERAL_TYPES]
    assert "Fix: Within a 'MixedInstancePolicy' configuration" in several["help"]["text"]
    [result] = [r for r in document["runs"][0]["results"] if r["ruleId"] == SEVERAL_TYPES]
    assert result["level"] == "warning"


def test_exit_0_by_default_and_1_with_fail_on_warning(
        one_type_report: Report, one_type: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # no [tool.blueprint] of this checkout
    run = validate_command.run  # the very check of one_type_report: a cache hit
    assert run([str(one_type)], lint=False, packs=[packs.CONTROL_TOWER]) == 0
    assert SEVERAL_TYPES in capsys.readouterr().out
    assert run([str(one_type)], lint=False, packs=[packs.CONTROL_TOWER], fail_on="warning") == 1


def test_pack_in_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str], pack: RulePack,
                           results_cache: Path) -> None:
    # the template passes the shipped policies and fails one control only
    path = template(tmp_path, "m5.large", monitoring=False)
    monkeypatch.chdir(tmp_path)
    for fail_on, code in (("error", 0), ("warning", 1)):
        (tmp_path / "pyproject.toml").write_text(
            f'[tool.blueprint]\npack = ["control-tower"]\nfail-on = "{fail_on}"\n',
            encoding="utf-8")
        assert validate_command.run([str(path)], lint=False) == code  # then a cache hit
        assert f"warning {MONITORING} " in capsys.readouterr().out


@pytest.mark.parametrize("mode", ["directory", "file"])
def test_a_known_failure_is_reported_in_directory_and_per_file_mode(
        pack: RulePack, tmp_path: Path, mode: str) -> None:
    # In directory mode cfn-guard also lists every rule under not_applicable, the failing
    # one included: the failure must still come out, and a compliant type must not fail.
    rules = pack if mode == "directory" else RulePack(
        pack.directory / "ec2" / "ct-ec2-pr-15.guard", mandatory=False)
    failing, passing = template(tmp_path, "c4.large"), template(tmp_path, "m5.large")
    violations = run_guard([str(failing), str(passing)], [rules])
    assert {(Path(v.data_file).name, v.rule) for v in violations} == {
        (failing.name, NITRO_RULE)}


def test_a_hand_written_template_gets_the_pack_with_the_shipped_rules(
        pack: RulePack, tmp_path: Path) -> None:
    options = ValidateOptions(lint=False, rule_packs=(*default_rule_packs(), pack),
                              use_cache=False)
    report = validate([str(template(tmp_path, "c4.large")),
                       str(template(tmp_path, "m6i.large"))], options)
    nitro = [f for f in report.findings if f.rule_id == NITRO]
    assert [(Path(f.file).name, f.severity, f.resource) for f in nitro] == [
        ("lt-c4.large.yml", Severity.WARNING, "Template")]


def test_a_waiver_names_the_control_id_not_the_guard_rule(
        pack: RulePack, tmp_path: Path) -> None:
    several_rule = "autoscaling_mixed_instances_policy_multiple_instance_types_check"
    path = tmp_path / "waived.blueprint.yml"
    path.write_text(ONE_TYPE + "waivers:\n" + "".join(
        f"  - rule: {rule}\n    reason: one instance type until the capacity reservation "
        "ends\n    expires: 2099-12-31\n" for rule in (SEVERAL_TYPES, several_rule)),
        encoding="utf-8")
    options = ValidateOptions(lint=False, rule_packs=(*default_rule_packs(), pack),
                              use_cache=False)
    report = validate([str(path)], options)
    assert [f.waived_by is not None for f in report.findings
            if f.rule_id == SEVERAL_TYPES] == [True]
    # the guard rule's own name is no rule of this run: only the control id waives
    assert [(f.rule_id, f.message) for f in report.findings if f.source is Source.WAIVER] == [
        (UNKNOWN_RULE, f"waiver names unknown rule {several_rule!r}")]


def test_lower_case_rules_of_an_added_pack_are_advisory_and_waivable(tmp_path: Path) -> None:
    # Before: the catalog listed only upper-case names, so this came out as an error
    # and its waiver was refused as mandatory.
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "tags.guard").write_text(
        "let clusters = Resources.*[ Type == 'AWS::ECS::Cluster' ]\n"
        "rule cluster_marker_set when %clusters not empty {\n"
        "    %clusters.Properties.TeamMarker exists <<set the team marker>>\n}\n",
        encoding="utf-8")
    index = catalog.rule_index([RulePack(rules, mandatory=False)])
    assert not index["cluster_marker_set"].mandatory
    path = tmp_path / "waived.blueprint.yml"
    path.write_text(MINIMAL.read_text(encoding="utf-8") + (
        "waivers:\n  - rule: cluster_marker_set\n    reason: the marker comes with "
        "the next platform release\n    expires: 2099-12-31\n"), encoding="utf-8")
    options = ValidateOptions(lint=False, use_cache=False, rule_packs=(
        *default_rule_packs(), RulePack(rules, mandatory=False)))
    report = validate([str(path)], options)
    found = [f for f in report.findings if f.rule_id == "cluster_marker_set"]
    assert [(f.severity, f.waived_by is not None) for f in found] == [(Severity.WARNING, True)]
    assert MANDATORY_WAIVER not in {f.rule_id for f in report.findings}


def test_pack_controls_are_advisory(pack: RulePack) -> None:
    index = catalog.rule_index([pack])
    assert len(index) == 237
    assert NITRO in index and not index[NITRO].mandatory
    assert index[NITRO].guard_name == NITRO_RULE
    assert not catalog.is_mandatory(NITRO, Source.GUARD, index[NITRO].mandatory)


@pytest.fixture
def copied_pack(pack: RulePack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BLUEPRINT_TOOLS_DIR", str(tmp_path / "tools"))
    root = packs.pack_root(packs.CONTROL_TOWER)
    shutil.copytree(pack.directory.parent, root)
    packs.rule_pack(packs.CONTROL_TOWER)  # a faithful copy passes
    return root


@pytest.mark.parametrize("damage", ["missing", "altered", "added", "metadata"])
def test_missing_or_altered_rules_stop_the_run(copied_pack: Path, damage: str) -> None:
    rule = copied_pack / "cfn-guard" / "ec2" / "ct-ec2-pr-15.guard"
    if damage == "missing":
        shutil.rmtree(copied_pack)
    elif damage == "altered":
        rule.write_text(rule.read_text(encoding="utf-8").replace("/^c5\\..+?$/,", "/^c4\\./,"),
                        encoding="utf-8")
    elif damage == "added":
        (rule.parent / "mine.guard").write_text("rule always_passes { }\n", encoding="utf-8")
    else:
        (copied_pack / "metadata" / "ec2" / "ct-ec2-pr-15.metadata.json").write_text(
            "{}", encoding="utf-8")
    with pytest.raises(ToolError) as raised:
        packs.rule_pack(packs.CONTROL_TOWER)
    assert raised.value.exit_code == EXIT_CANNOT_CHECK
    assert "python -m blueprint.install_guard" in str(raised.value)


def test_validate_with_an_uninstalled_pack_exits_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUEPRINT_TOOLS_DIR", str(tmp_path / "tools"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ToolError) as raised:
        validate_command.run([str(MINIMAL)], packs=[packs.CONTROL_TOWER])
    assert raised.value.exit_code == EXIT_CANNOT_CHECK


def test_an_unknown_pack_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="control-tower"):
        validate_command.run([str(MINIMAL)], packs=["control-towers"])


def test_a_rule_name_in_two_packs_is_refused(pack: RulePack, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "clash.guard").write_text(f"rule {NITRO_RULE} {{ }}\n", encoding="utf-8")
    index = catalog.rule_index([pack, RulePack(rules, mandatory=False)])
    with pytest.raises(UsageError, match=NITRO_RULE):
        catalog.as_listed([], index)


@pytest.mark.slow  # 237 cfn-guard processes
def test_directory_mode_reports_exactly_what_each_rule_file_reports_alone(
        pack: RulePack, one_type: Path, tmp_path: Path) -> None:
    """The one process the pipeline runs (shipped pack and this one) loses no failure."""
    rendering = check_blueprint(str(one_type), ValidateOptions(lint=False, use_cache=False))
    assert rendering.rendering is not None
    files = []
    for name, text in rendering.rendering.texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        files.append(str(tmp_path / name))
    files.append(str(template(tmp_path, "c4.large", monitoring=False)))
    together = {(v.data_file, v.rule) for v in run_guard(files, [*default_rule_packs(), pack])
                if not v.rule.isupper()}
    alone = {(v.data_file, v.rule) for rule_file in sorted(pack.directory.rglob("*.guard"))
             for v in run_guard(files, [RulePack(rule_file, mandatory=False)])}
    assert together == alone
    assert {(Path(file).name, rule) for file, rule in together} >= {
        ("cluster.yml", "autoscaling_mixed_instances_policy_multiple_instance_types_check"),
        ("lt-c4.large.yml", NITRO_RULE),
        ("lt-c4.large.yml", "ec2_launch_template_monitoring_enabled_check")}
