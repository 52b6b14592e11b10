"""[tool.blueprint] in pyproject.toml, and which files ``blueprint validate`` finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from blueprint.config import DEFAULT_INCLUDE, Config, discover, glob_regex, load_config
from blueprint.errors import UsageError


def write(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("blueprint: v1\n", encoding="utf-8")


def pyproject(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n{body}", encoding="utf-8")


def test_defaults_without_pyproject(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config == Config()
    assert config.include == DEFAULT_INCLUDE
    assert config.exclude == config.templates == config.rules == ()
    assert config.fail_on is None
    assert config.source is None


def test_defaults_without_a_tool_blueprint_table(tmp_path: Path) -> None:
    pyproject(tmp_path, "[tool.ruff]\nline-length = 100\n")
    assert load_config(tmp_path) == Config()


def test_every_key(tmp_path: Path) -> None:
    pyproject(tmp_path, """
[tool.blueprint]
include = ["envs/*.yml"]
exclude = ["envs/old-*.yml"]
templates = ["cfn/**/*.yaml"]
rules = ["policies/extra", "more"]
fail-on = "warning"
""")
    config = load_config(tmp_path)
    assert config.include == ("envs/*.yml",)
    assert config.exclude == ("envs/old-*.yml",)
    assert config.templates == ("cfn/**/*.yaml",)
    assert config.rules == (tmp_path / "policies/extra", tmp_path / "more")
    assert config.fail_on == "warning"
    assert config.source == tmp_path / "pyproject.toml"


def test_this_projects_own_pyproject_loads() -> None:
    load_config(Path(__file__).resolve().parents[1])


@pytest.mark.parametrize(("body", "key"), [
    ('include = "x"\nexclude = 3', "exclude"),
    ("templates = [1, 2]", "templates"),
    ('rules = [""]', "rules"),
    ('fail-on = "info"', "fail-on"),
    ('fail-on = true', "fail-on"),
    ('failon = "error"', "failon"),
    ('include = ["/etc/*.yml"]', "include"),
    ('exclude = ["../x/*.yml"]', "exclude"),
    ('pack = ["control-towers"]', "pack"),
    ('pack = [3]', "pack"),
])
def test_invalid_settings_name_the_file_and_key(tmp_path: Path, body: str, key: str) -> None:
    pyproject(tmp_path, f"[tool.blueprint]\n{body}\n")
    with pytest.raises(UsageError) as raised:
        load_config(tmp_path)
    assert str(tmp_path / "pyproject.toml") in str(raised.value)
    assert key in str(raised.value)


def test_pack_names_installed_rule_packs(tmp_path: Path) -> None:
    pyproject(tmp_path, '[tool.blueprint]\npack = ["control-tower"]\n')
    assert load_config(tmp_path).packs == ("control-tower",)
    pyproject(tmp_path, '[tool.blueprint]\npack = ["controltower"]\n')
    with pytest.raises(UsageError) as raised:
        load_config(tmp_path)
    assert raised.value.hint == "did you mean 'control-tower'?"


def test_typo_gets_a_suggestion(tmp_path: Path) -> None:
    pyproject(tmp_path, '[tool.blueprint]\nexlude = ["x"]\n')
    with pytest.raises(UsageError) as raised:
        load_config(tmp_path)
    assert raised.value.hint == "did you mean 'exclude'?"


def test_a_single_string_is_a_one_item_list(tmp_path: Path) -> None:
    pyproject(tmp_path, '[tool.blueprint]\ninclude = "envs/*.yml"\n')
    assert load_config(tmp_path).include == ("envs/*.yml",)


def test_broken_toml_and_wrong_table_type(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.blueprint\n", encoding="utf-8")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_config(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool]\nblueprint = 3\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"\[tool.blueprint\] must be a table"):
        load_config(tmp_path)


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    ("**/*.blueprint.yml", "a.blueprint.yml", True),
    ("**/*.blueprint.yml", "x/y/a.blueprint.yml", True),
    ("**/*.blueprint.yml", "a.blueprint.yaml", False),
    ("blueprints/**/*.yml", "blueprints/a.yml", True),
    ("blueprints/**/*.yml", "blueprints/prod/eu/a.yml", True),
    ("blueprints/**/*.yml", "other/blueprints/a.yml", False),
    ("envs/*.yml", "envs/a.yml", True),
    ("envs/*.yml", "envs/x/a.yml", False),
    ("envs/?.yml", "envs/a.yml", True),
    ("envs/[ab].yml", "envs/b.yml", True),
    ("envs/[!ab].yml", "envs/b.yml", False),
    ("vendor/**", "vendor/x/y.yml", True),
    ("./envs/*.yml", "envs/a.yml", True),
])
def test_glob_semantics(pattern: str, path: str, expected: bool) -> None:
    assert bool(glob_regex(pattern).match(path)) is expected


def test_discover_with_defaults(tmp_path: Path) -> None:
    write(tmp_path, "a.blueprint.yml", "envs/b.blueprint.yaml", "blueprints/c.yml",
          "blueprints/prod/d.yaml", "notes.yml", "other/e.yml",
          ".git/x.blueprint.yml", ".venv/lib/y.blueprint.yml",
          "node_modules/pkg/z.blueprint.yml", ".tox/py/w.blueprint.yml",
          "sub/node_modules/v.blueprint.yml")
    assert discover(tmp_path, Config()) == [
        "a.blueprint.yml", "blueprints/c.yml", "blueprints/prod/d.yaml",
        "envs/b.blueprint.yaml"]


def test_discover_with_exclude_and_templates(tmp_path: Path) -> None:
    write(tmp_path, "a.blueprint.yml", "old/b.blueprint.yml", "envs/old-c.blueprint.yml",
          "cfn/x.yml", "cfn/nested/y.yml", "cfn/skip.yml")
    config = Config(exclude=("old", "envs/old-*", "cfn/skip.yml"), templates=("cfn/**/*.yml",))
    assert discover(tmp_path, config) == ["a.blueprint.yml", "cfn/nested/y.yml", "cfn/x.yml"]


def test_discover_from_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "envs/prod.yml", "envs/dev.yml", "a.blueprint.yml")
    pyproject(tmp_path, '[tool.blueprint]\ninclude = ["envs/*.yml"]\nexclude = ["envs/dev.yml"]\n')
    assert discover(tmp_path, load_config(tmp_path)) == ["envs/prod.yml"]


def test_discover_nothing(tmp_path: Path) -> None:
    assert discover(tmp_path, Config()) == []


def test_discover_this_repository_finds_the_examples() -> None:
    root = Path(__file__).resolve().parents[1]
    found = discover(root, Config())
    assert "examples/minimal.blueprint.yml" in found
    assert all(not f.startswith((".venv/", ".git/")) for f in found)


def test_gate_options_combine_the_command_line_and_the_project(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blueprint.config import gate_options
    from blueprint.finding import Severity
    from blueprint.guard import default_rule_packs

    (tmp_path / "policies").mkdir()
    (tmp_path / "extra").mkdir()
    pyproject(tmp_path, '[tool.blueprint]\nrules = ["policies"]\nfail-on = "warning"\n')
    monkeypatch.chdir(tmp_path)
    options, threshold = gate_options(extra_rules=[str(tmp_path / "extra")], use_cache=False)
    assert threshold is Severity.WARNING
    assert options.rule_packs[:1] == default_rule_packs()
    added = options.rule_packs[1:]
    assert [p.directory for p in added] == [tmp_path / "extra", tmp_path / "policies"]
    assert not any(p.mandatory for p in added)
    assert (options.lint, options.use_cache) == (True, False)
    assert gate_options(fail_on="error")[1] is Severity.ERROR  # the command line wins


def test_gate_options_add_a_pack_once_from_the_command_line_and_the_project(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blueprint import packs
    from blueprint.config import gate_options
    from blueprint.guard import RulePack, default_rule_packs

    pyproject(tmp_path, '[tool.blueprint]\npack = ["control-tower"]\n')
    monkeypatch.chdir(tmp_path)
    asked: list[str] = []

    def installed(name: str) -> RulePack:  # whether or not it is installed here
        asked.append(name)
        return RulePack(Path(name), mandatory=False)

    monkeypatch.setattr(packs, "rule_pack", installed)
    options, _ = gate_options(packs=["control-tower"])
    assert asked == ["control-tower"]
    assert options.rule_packs == (*default_rule_packs(), RulePack(Path("control-tower"), False))
    with pytest.raises(UsageError, match="unknown rule pack 'ct'"):
        gate_options(packs=["ct"])


def test_gate_options_refuse_a_rules_folder_that_is_not_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blueprint.config import gate_options

    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="not a directory"):
        gate_options(extra_rules=[str(tmp_path / "missing")])
