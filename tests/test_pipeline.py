"""The check pipeline: one read, one rendering, and the texts checked are the texts returned."""

from __future__ import annotations

import builtins
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from blueprint import pipeline
from blueprint.api import CheckedBlueprint, ValidateOptions, check_blueprint, validate
from blueprint.errors import UsageError
from blueprint.expander import Rendering, render
from blueprint.guard import GuardViolation, RulePack, default_rule_packs, run_guard
from blueprint.lint import LintMatch
from blueprint.model import from_data
from blueprint.schema import load_schema

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "minimal.blueprint.yml"
SEED_TEMPLATE = REPO / "tests" / "rules" / "fixtures" / "seed" / "vpc.yml"


class Seen:
    """What cfn-guard and cfn-lint were given in a run (and how often cfn-guard ran)."""

    def __init__(self) -> None:
        self.guard_runs = 0
        self.guard_texts: list[str] = []
        self.lint_texts: list[str] = []


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Seen:
    """The real cfn-guard, watched; cfn-lint replaced by a recorder that finds nothing."""
    monkeypatch.setenv("BLUEPRINT_CACHE_DIR", str(tmp_path / "cache"))
    record = Seen()

    def watched_guard(data_files: Sequence[str],
                      packs: Sequence[RulePack] | None = None) -> list[GuardViolation]:
        if data_files:
            record.guard_runs += 1
        record.guard_texts += [Path(f).read_text(encoding="utf-8") for f in data_files]
        return run_guard(data_files, packs)

    class RecordingLint:
        def __init__(self, texts: list[str], *, region: str) -> None:
            record.lint_texts += texts
            self.texts = texts

        def results(self) -> dict[str, tuple[LintMatch, ...]]:
            return dict.fromkeys(self.texts, ())

    monkeypatch.setattr(pipeline, "run_guard", watched_guard)
    monkeypatch.setattr(pipeline, "LintBatch", RecordingLint)
    return record


def copy_example(tmp_path: Path, source: Path = EXAMPLE) -> str:
    target = tmp_path / source.name
    shutil.copy(source, target)
    return str(target)


def test_the_rendering_returned_is_the_one_whose_texts_were_checked(
        seen: Seen, tmp_path: Path) -> None:
    checked = check_blueprint(copy_example(tmp_path), ValidateOptions(use_cache=False))
    assert checked.report.exit_code() == 0, checked.report.findings
    assert checked.rendering is not None
    texts = list(checked.rendering.texts.values())
    assert sorted(seen.guard_texts) == sorted(texts)
    # cfn-lint was handed the very string objects the rendering holds
    assert len(seen.lint_texts) == len(texts)
    assert all(any(linted is text for text in texts) for linted in seen.lint_texts)


def test_the_bytes_read_are_returned_and_the_file_is_read_once(
        seen: Seen, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = copy_example(tmp_path)
    opened: list[str] = []
    real_open = builtins.open

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file) == path:
            opened.append(path)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    checked = check_blueprint(path, ValidateOptions(use_cache=False))
    assert opened == [path]
    assert checked.raw == Path(path).read_bytes()
    assert checked.path == path


def test_blueprint_and_report_are_those_validate_gives(seen: Seen, tmp_path: Path) -> None:
    path = copy_example(tmp_path, REPO / "examples" / "seed.blueprint.yml")
    options = ValidateOptions(use_cache=False)
    checked = check_blueprint(path, options)
    report = validate([path], options)
    assert (checked.report.files, checked.report.findings) == (report.files, report.findings)
    assert checked.report.rules == report.rules
    from blueprint.loader import load_bytes

    doc, _ = load_bytes(path, checked.raw)
    assert doc is not None
    assert checked.blueprint == from_data(doc.data, load_schema())


def test_a_cache_hit_returns_a_rendering_with_the_texts_checked(
        seen: Seen, tmp_path: Path) -> None:
    path = copy_example(tmp_path)
    first = check_blueprint(path)
    assert seen.guard_runs == 1
    second = check_blueprint(path)
    assert seen.guard_runs == 1, "the second run should have been a cache hit"
    assert first.rendering is not None and second.rendering is not None
    assert second.rendering.texts == first.rendering.texts
    assert second.report.findings == first.report.findings


def test_the_cache_key_covers_the_rendered_texts(
        seen: Seen, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same bytes, another rendering (say, a changed expander): checked again, not a hit."""
    path = copy_example(tmp_path)
    check_blueprint(path)

    def other_render(blueprint: Any) -> Rendering:
        rendering = render(blueprint)
        texts = {name: text + "# rendered differently\n"
                 for name, text in rendering.texts.items()}
        return Rendering(rendering.templates, texts, rendering.provenance)

    monkeypatch.setattr(pipeline, "render", other_render)
    checked = check_blueprint(path)
    assert seen.guard_runs == 2
    assert checked.rendering is not None
    assert all(text.endswith("# rendered differently\n")
               for text in checked.rendering.texts.values())


def test_an_invalid_blueprint_has_no_blueprint_and_no_rendering(
        seen: Seen, tmp_path: Path) -> None:
    path = tmp_path / "bad.blueprint.yml"
    path.write_text("blueprint: v1\nname: demo\nservice:\n  image: nginx\n  cpu: lots\n")
    checked = check_blueprint(str(path), ValidateOptions(use_cache=False))
    assert (checked.blueprint, checked.rendering) == (None, None)
    assert [f.rule_id for f in checked.report.findings] == ["BP103"]
    assert seen.guard_texts == []


def test_a_template_is_checked_but_is_no_blueprint(seen: Seen, tmp_path: Path) -> None:
    path = copy_example(tmp_path, SEED_TEMPLATE)
    checked = check_blueprint(path, ValidateOptions(use_cache=False))
    assert (checked.blueprint, checked.rendering) == (None, None)
    # cfn-guard read the text that was loaded, from the bytes read once
    assert seen.guard_texts == [checked.raw.decode("utf-8")]


def test_an_unreadable_file_is_a_finding(seen: Seen, tmp_path: Path) -> None:
    checked: CheckedBlueprint = check_blueprint(str(tmp_path / "missing.yml"))
    assert checked.raw == b""
    assert [f.rule_id for f in checked.report.findings] == ["BP001"]
    assert checked.report.exit_code() == 1


def test_a_sam_template_is_read_once_linted_as_written_and_guarded_expanded(
        seen: Seen, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = copy_example(tmp_path, REPO / "tests" / "fixtures" / "seed_sam_parent.yml")
    opened: list[str] = []
    real_open = builtins.open

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file) == path:
            opened.append(path)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    report = validate([path], ValidateOptions(use_cache=False))
    assert report.exit_code() == 0, report.findings
    assert opened == [path]
    assert seen.lint_texts == [Path(path).read_text(encoding="utf-8")]  # cfn-lint reads SAM
    [guarded] = seen.guard_texts
    assert "AWS::CloudFormation::Stack" in guarded and "AWS::Serverless::" not in guarded


def test_a_repeated_key_reaches_neither_checker(seen: Seen, tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text("Resources:\n  B:\n    Type: AWS::SQS::Queue\n    Type: AWS::SNS::Topic\n")
    report = validate([str(path)], ValidateOptions(use_cache=False))
    assert [(f.rule_id, f.line) for f in report.findings] == [("BP003", 4)]
    blanked = "Resources:\n  B:\n                         \n    Type: AWS::SNS::Topic\n"
    assert seen.lint_texts == [blanked] and seen.guard_texts == [blanked]


# --- environments (issue 11) -------------------------------------------------------------

ENVIRONMENTS_BLUEPRINT = """\
blueprint: v1
name: orders
cluster:
  instanceType: m6i.large
service:
  image: nginx:1
  desiredCount: {base_count}
environments:
  dev:
    account: "111111111111"
    region: eu-west-1
    overrides:
      service: {{desiredCount: 1}}
  prod:
    account: "222222222222"
    region: eu-west-1
    overrides:
      cluster:
        instanceType: {prod_type}
      service:
        desiredCount: {prod_count}
"""
PROD_TYPE_LINE, PROD_COUNT_LINE, BASE_COUNT_LINE = 19, 21, 7
# An advisory policy on the rendered parent template: at most four tasks per service.
AT_MOST_FOUR_TASKS = """\
let services = Resources.*[ Type == 'AWS::ECS::Service' ]
rule at_most_four_tasks when %services not empty {
    %services.Properties.DesiredCount <= 4 <<run at most four tasks>>
}
"""


def environments_blueprint(tmp_path: Path, *, base_count: int = 2, prod_count: int = 3,
                           prod_type: str = "m6i.xlarge") -> str:
    path = tmp_path / "orders.blueprint.yml"
    path.write_text(ENVIRONMENTS_BLUEPRINT.format(base_count=base_count, prod_count=prod_count,
                                                  prod_type=prod_type), encoding="utf-8")
    return str(path)


def with_task_policy(tmp_path: Path) -> ValidateOptions:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "tasks.guard").write_text(AT_MOST_FOUR_TASKS, encoding="utf-8")
    return ValidateOptions(use_cache=False, rule_packs=(
        *default_rule_packs(), RulePack(rules, mandatory=False)))


def test_a_base_with_environments_and_no_environment_problem_validates_clean(
        seen: Seen, tmp_path: Path) -> None:
    report = validate([environments_blueprint(tmp_path)], ValidateOptions(use_cache=False))
    assert report.findings == ()
    # the base and both environments were checked, each rendered once
    assert len(seen.guard_texts) == 3 * len(render_names())


def render_names() -> list[str]:
    from blueprint.expander import TEMPLATE_NAMES

    return list(TEMPLATE_NAMES)


def test_a_prod_override_off_the_allow_list_is_at_its_line_naming_prod(
        seen: Seen, tmp_path: Path) -> None:
    report = validate([environments_blueprint(tmp_path, prod_type="m4.large")],
                      ValidateOptions(use_cache=False))
    assert [(f.rule_id, f.line) for f in report.findings] == [("BP107", PROD_TYPE_LINE)]
    assert report.findings[0].message.endswith("(environment prod)")
    assert report.exit_code() == 1


def test_a_rendered_finding_an_override_causes_is_at_the_override_naming_prod(
        seen: Seen, tmp_path: Path) -> None:
    report = validate([environments_blueprint(tmp_path, prod_count=6)],
                      with_task_policy(tmp_path))
    found = [(f.rule_id, f.line, f.blueprint_path, f.message.endswith("(environment prod)"))
             for f in report.findings]
    assert found == [("at_most_four_tasks", PROD_COUNT_LINE, "service.desiredCount", True)]


def test_a_base_problem_is_reported_once_at_the_base_line_naming_the_environments(
        seen: Seen, tmp_path: Path) -> None:
    report = validate([environments_blueprint(tmp_path, base_count=6, prod_count=5)],
                      with_task_policy(tmp_path))
    found = sorted((f.line, f.message.rsplit("(", 1)[-1]) for f in report.findings)
    # dev overrides the count away; prod has its own count, at its own line
    assert found == [(BASE_COUNT_LINE, "base blueprint only: not in any environment)"),
                     (PROD_COUNT_LINE, "environment prod)")]


def test_check_blueprint_returns_the_environment_asked_for(seen: Seen, tmp_path: Path) -> None:
    checked = check_blueprint(environments_blueprint(tmp_path, prod_count=3),
                              ValidateOptions(use_cache=False), environment="prod")
    assert checked.environment is not None
    assert (checked.environment.name, checked.environment.stack_name) == ("prod", "orders-prod")
    assert checked.rendering is not None and checked.blueprint is not None
    assert checked.blueprint.service.desired_count == 3
    assert checked.blueprint.cluster.instance_type == "m6i.xlarge"
    assert checked.rendering.texts == render(checked.blueprint).texts
    assert checked.rendering.texts["parent.yml"] in seen.guard_texts  # what was checked


@pytest.mark.parametrize(("environment", "message"), [
    (None, "has environments dev, prod: pass --env NAME"),
    ("prd", "unknown environment 'prd'"),
])
def test_check_blueprint_refuses_a_missing_or_unknown_environment_before_checking(
        seen: Seen, tmp_path: Path, environment: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        check_blueprint(environments_blueprint(tmp_path), environment=environment)
    assert seen.guard_runs == 0


def test_check_blueprint_refuses_an_environment_of_a_blueprint_without(
        seen: Seen, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="has no environments"):
        check_blueprint(copy_example(tmp_path), environment="prod")


def test_the_cache_key_covers_each_environment_rendering(
        seen: Seen, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = environments_blueprint(tmp_path, prod_count=3)
    first = check_blueprint(path, environment="dev")
    assert seen.guard_runs == 1
    assert check_blueprint(path, environment="dev").report == first.report
    assert seen.guard_runs == 1, "a second run of the same file should be a cache hit"

    def prod_renders_differently(blueprint: Any) -> Rendering:
        rendering = render(blueprint)
        if blueprint.service.desired_count != 3:
            return rendering
        texts = {name: text + "# prod only\n" for name, text in rendering.texts.items()}
        return Rendering(rendering.templates, texts, rendering.provenance)

    monkeypatch.setattr(pipeline, "render", prod_renders_differently)
    check_blueprint(path, environment="dev")
    assert seen.guard_runs == 2, "prod's rendering changed: its findings must be recomputed"


def test_waivers_of_an_environment_apply_to_it_and_a_base_waiver_to_all(
        seen: Seen, tmp_path: Path) -> None:
    path = Path(environments_blueprint(tmp_path, prod_count=6))
    waiver = ("{rule: at_most_four_tasks, reason: the launch week needs more tasks, "
              "expires: '2999-12-31'}")
    path.write_text(path.read_text(encoding="utf-8") + f"    waivers:\n      - {waiver}\n",
                    encoding="utf-8")
    report = validate([str(path)], with_task_policy(tmp_path))
    [found] = report.findings  # waived, and the waiver is used: no BP205
    assert (found.rule_id, found.line, found.waived_by is not None) == \
        ("at_most_four_tasks", PROD_COUNT_LINE, True)
    assert report.exit_code() == 0
    # The same waiver in the base: prod uses it, so it is not unused, though base and dev are
    text = path.read_text(encoding="utf-8").replace(f"    waivers:\n      - {waiver}\n", "")
    path.write_text(text + f"waivers:\n  - {waiver}\n", encoding="utf-8")
    report = validate([str(path)], with_task_policy(tmp_path))
    assert [(f.rule_id, f.waived_by is not None) for f in report.findings] == \
        [("at_most_four_tasks", True)]
    # An environment's waiver nothing matches is reported at its line, naming the environment
    path.write_text(ENVIRONMENTS_BLUEPRINT.format(base_count=2, prod_count=3, prod_type="m6i.large")
                    + f"    waivers:\n      - {waiver}\n", encoding="utf-8")
    report = validate([str(path)], with_task_policy(tmp_path))
    assert [(f.rule_id, f.line, f.message.endswith("(environment prod)"))
            for f in report.findings] == [("BP205", 23, True)]
