"""Environments: merge semantics, provenance, errors at the override's line, one report."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from blueprint import environments
from blueprint.commands.show import annotated_yaml
from blueprint.environments import (
    BASE,
    DEFAULT,
    OVERRIDE,
    Environment,
    combine,
    effective,
    environment_names,
    merge,
    select,
    stack_name_findings,
)
from blueprint.errors import EXIT_CANNOT_CHECK, UsageError
from blueprint.expander import render
from blueprint.finding import Finding, Location, Severity, Source
from blueprint.loader import Document, load_text
from blueprint.model import apply_defaults, from_data
from blueprint.schema import check_blueprint, load_schema

FILE = "orders.blueprint.yml"
BASE_TEXT = """\
blueprint: v1
name: orders
tags:
  team: payments
cluster:
  instanceType: m6i.large
  maxSize: 10
service:
  image: nginx:1
  desiredCount: 2
  environment:
    LOG_LEVEL: info
loadBalancer:
  ingressCidrs: [10.0.0.0/8]
waivers:
  - {rule: E3012, reason: known false positive in the linter, expires: "2999-01-01"}
"""
BASE_LINES = BASE_TEXT.count("\n")


def with_environments(section: str, base: str = BASE_TEXT) -> Document:
    doc, problems = load_text(FILE, base + section)
    assert doc is not None, problems
    return doc


def env_block(overrides: str, name: str = "prod", extra: str = "") -> str:
    """An environments section; the overrides' first line is BASE_LINES + 6."""
    return (f"environments:\n  {name}:\n    account: \"222222222222\"\n    region: eu-west-1\n"
            f"    overrides:\n{overrides}{extra}")


# --- merge semantics --------------------------------------------------------------------

@pytest.mark.parametrize(("base", "override", "merged"), [
    ({"a": 1}, {"a": 2}, {"a": 2}),  # scalars replace
    ({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}, {"a": {"b": 1, "c": 3}}),  # mappings merge
    ({"a": {"b": {"c": 1, "d": 2}}}, {"a": {"b": {"d": 3}}}, {"a": {"b": {"c": 1, "d": 3}}}),
    ({"a": [1, 2, 3]}, {"a": [4]}, {"a": [4]}),  # lists replace, never concatenate
    ({"a": [{"x": 1}]}, {"a": [{"y": 2}]}, {"a": [{"y": 2}]}),  # list items do not merge
    ({"a": 1}, {"b": 2}, {"a": 1, "b": 2}),  # new keys are added
    ({"a": {"b": 1}}, {"a": 5}, {"a": 5}),  # a scalar replaces a mapping
    ({"a": 5}, {"a": {"b": 1}}, {"a": {"b": 1}}),  # and a mapping a scalar
    ({"a": {"b": 1}}, {"a": {}}, {"a": {"b": 1}}),  # an empty mapping changes nothing
    ({"a": 1}, {"a": None}, {"a": None}),  # null is a scalar: it replaces (the schema judges)
])
def test_merge(base: dict[str, Any], override: dict[str, Any], merged: dict[str, Any]) -> None:
    before = copy.deepcopy(base)
    assert merge(base, override) == merged
    assert base == before  # the base is never changed


def test_effective_blueprint_merges_adds_waivers_and_the_environment_tag() -> None:
    doc = with_environments(env_block(
        "      cluster: {instanceType: t3.large}\n"
        "      service: {desiredCount: 6, environment: {LOG_LEVEL: warn}}\n"
        "      loadBalancer: {ingressCidrs: [10.1.0.0/16]}\n",
        extra="    waivers:\n"
              "      - {rule: W3005, reason: prod keeps the explicit dependency, "
              "expires: \"2999-01-01\"}\n"))
    before = copy.deepcopy(doc.data)
    prod = effective(doc, "prod")
    assert doc.data == before
    assert prod.stack_name == "orders-prod"
    assert (prod.account, prod.region) == ("222222222222", "eu-west-1")
    assert "environments" not in prod.data
    assert prod.data["cluster"] == {"instanceType": "t3.large", "maxSize": 10}
    assert prod.data["service"] == {"image": "nginx:1", "desiredCount": 6,
                                    "environment": {"LOG_LEVEL": "warn"}}
    assert prod.data["loadBalancer"] == {"ingressCidrs": ["10.1.0.0/16"]}
    assert prod.data["tags"] == {"team": "payments", "environment": "prod"}
    assert [w["rule"] for w in prod.data["waivers"]] == ["E3012", "W3005"]


ORIGIN_CASES = [
    (("cluster", "instanceType"), OVERRIDE, BASE_LINES + 7),
    (("cluster", "maxSize"), BASE, 7),
    (("service", "image"), BASE, 9),
    (("service", "desiredCount"), OVERRIDE, BASE_LINES + 8),
    (("loadBalancer", "ingressCidrs", 0), OVERRIDE, BASE_LINES + 9),
    (("waivers", 0, "rule"), BASE, 16),
    (("waivers", 1, "rule"), OVERRIDE, BASE_LINES + 11),
    (("cluster", "ami"), DEFAULT, 0),
    (("tags", "environment"), "environment", BASE_LINES + 2),
]


@pytest.mark.parametrize(("path", "kind", "line"), ORIGIN_CASES)
def test_each_value_knows_where_it_came_from(path: tuple[Any, ...], kind: str,
                                             line: int) -> None:
    doc = with_environments(env_block(
        "      cluster:\n        instanceType: t3.large\n"
        "      service: {desiredCount: 6}\n"
        "      loadBalancer: {ingressCidrs: [10.1.0.0/16]}\n",
        extra="    waivers:\n"
              "      - {rule: W3005, reason: prod keeps the explicit dependency, "
              "expires: \"2999-01-01\"}\n"))
    origin = effective(doc, "prod").origin(path)
    assert (origin.kind, origin.line) == (kind, line)


def test_a_replaced_list_leaves_no_base_provenance_behind() -> None:
    doc = with_environments(
        "loadBalancer: {ingressCidrs: [10.0.0.0/8, 10.2.0.0/16]}\n",
        base=BASE_TEXT.replace("loadBalancer:\n  ingressCidrs: [10.0.0.0/8]\n", "")
    )
    assert doc.data["loadBalancer"]["ingressCidrs"] == ["10.0.0.0/8", "10.2.0.0/16"]
    doc = with_environments(env_block("      loadBalancer: {ingressCidrs: [10.1.0.0/16]}\n"))
    prod = effective(doc, "prod")
    assert ("loadBalancer", "ingressCidrs", 1) not in prod.origins
    assert prod.origin(("loadBalancer", "ingressCidrs")).kind == OVERRIDE


# --- errors, located ---------------------------------------------------------------------

ERROR_CASES = [
    # (overrides, rule, line, column, text in the message, text in the hint)
    ("      cluster: {instanceTyp: t3.large}\n", "BP101", BASE_LINES + 6, 17,
     "unknown key 'instanceTyp'", "did you mean 'instanceType'?"),
    ("      service:\n        desiredCont: 3\n", "BP101", BASE_LINES + 7, 9,
     "unknown key 'desiredCont'", "did you mean 'desiredCount'?"),
    ("      service: {cpu: lots}\n", "BP103", BASE_LINES + 6, 22, "service.cpu must be", None),
    ("      cluster: {instanceType: z9.huge}\n", "BP107", BASE_LINES + 6, 31,
     "'z9.huge' is not on the policy allow-list", None),
    ("      cluster: {maxSize: 0}\n", "BP105", BASE_LINES + 6, 26, "at least", None),
    ("      service: {cpu: 4096, memory: 512}\n", "BP108", BASE_LINES + 6, 22,
     "does not fit on m6i.large", None),
    ("      loadBalancer: {ingressCidrs: [10.1.2.3/16]}\n", "BP104", BASE_LINES + 6, 37,
     "has host bits set", "did you mean 10.1.0.0/16?"),
]


@pytest.mark.parametrize(("overrides", "rule", "line", "column", "message", "hint"),
                         ERROR_CASES)
def test_an_error_an_override_causes_is_at_the_override(
        overrides: str, rule: str, line: int, column: int, message: str,
        hint: str | None) -> None:
    doc = with_environments(env_block(overrides))
    assert check_blueprint(doc) == []  # the base and its section are fine
    found = check_blueprint(effective(doc, "prod").document or doc)
    assert [(f.rule_id, f.line, f.column) for f in found] == [(rule, line, column)], found
    assert message in found[0].message
    if hint is not None:
        assert found[0].hint is not None and hint in found[0].hint


@pytest.mark.parametrize("key", ["name", "blueprint"])
def test_name_and_version_cannot_be_overridden(key: str) -> None:
    doc = with_environments(env_block(f"      {key}: other\n"))
    [finding] = environments.explain(check_blueprint(doc))
    assert finding.message.startswith(f"{key!r} cannot be overridden (environment prod)")
    assert (finding.line, finding.column) == (BASE_LINES + 6, 7)
    assert effective(doc, "prod").data[key] == doc.data[key]


def test_an_unknown_top_level_override_key_is_caught_by_the_base_schema() -> None:
    doc = with_environments(env_block("      servce: {desiredCount: 3}\n"))
    [finding] = check_blueprint(doc)
    assert (finding.rule_id, finding.line) == ("BP101", BASE_LINES + 6)
    assert finding.hint == "did you mean 'service'?"


def test_environment_names_and_select() -> None:
    doc = with_environments(env_block("      service: {desiredCount: 6}\n", name="prod")
                            + "  dev:\n    account: \"111111111111\"\n    region: eu-west-1\n")
    assert environment_names(doc.data) == ["prod", "dev"]
    chosen = select(doc, "dev")
    assert isinstance(chosen, Environment) and chosen.stack_name == "orders-dev"
    with pytest.raises(UsageError) as missing:
        select(doc, None)
    assert "has environments prod, dev: pass --env NAME" in missing.value.message
    assert missing.value.exit_code == EXIT_CANNOT_CHECK
    with pytest.raises(UsageError) as typo:
        select(doc, "prd")
    assert "unknown environment 'prd'" in typo.value.message
    assert typo.value.hint is not None and "did you mean 'prod'?" in typo.value.hint


def test_select_without_environments() -> None:
    doc = with_environments("")
    assert environment_names(doc.data) == []
    assert select(doc, None) is None
    with pytest.raises(UsageError, match="has no environments"):
        select(doc, "prod")


def test_a_stack_name_over_the_limit_is_located_at_the_environment() -> None:
    long_name = "o" * 60
    doc = with_environments(env_block("      {}\n", name="production"),
                            base=BASE_TEXT.replace("name: orders", f"name: {long_name}"))
    [finding] = stack_name_findings(doc)
    assert (finding.rule_id, finding.line, finding.column) == ("BP105", BASE_LINES + 2, 3)
    assert f"'{long_name}-production' (71 characters)" in finding.message
    assert stack_name_findings(with_environments(env_block("      {}\n"))) == []


# --- one report --------------------------------------------------------------------------

def _finding(line: int, rule: str = "X1", message: str = "bad") -> Finding:
    return Finding(Source.GUARD, rule, Severity.ERROR, Location(FILE, line, 1), message)


def test_combine_reports_each_problem_once_and_names_the_environments() -> None:
    shared, base_only = _finding(3), _finding(4)
    prod_only, both = _finding(30), _finding(5, message="interplay")
    result = combine([shared, base_only],
                     {"dev": [shared, both], "prod": [shared, both, prod_only]})
    assert sorted((f.line, f.message) for f in result) == [
        (3, "bad (environments dev, prod)"),
        (4, "bad (base blueprint only: not in any environment)"),
        (5, "interplay (environments dev, prod)"),
        (30, "bad (environment prod)"),
    ]


def test_an_unused_base_waiver_is_unused_only_if_every_environment_leaves_it() -> None:
    unused = _finding(16, "BP205", "waiver for 'E3012' matches no finding")
    assert [f.line for f in combine([unused], {"dev": [unused], "prod": []},
                                    [unused.location])] == []
    assert [f.line for f in combine([], {"prod": [unused]}, [unused.location])] == []
    everywhere = combine([unused], {"dev": [unused], "prod": [unused]}, [unused.location])
    assert [f.line for f in everywhere] == [16]
    env_waiver = _finding(40, "BP205", "waiver for 'W3005' matches no finding")
    assert [f.message for f in combine([], {"prod": [env_waiver]}, [unused.location])] == [
        "waiver for 'W3005' matches no finding (environment prod)"]


# --- properties --------------------------------------------------------------------------

SCHEMA = load_schema()
SECTIONS = ("cluster", "service", "loadBalancer", "network")
TYPOS = ("instanceTyp", "desiredCont", "protcol", "cidrs")


def _section_overrides(section: str) -> st.SearchStrategy[dict[str, Any]]:
    properties = SCHEMA["properties"][section]["properties"]
    keys = st.sampled_from(sorted(properties) + list(TYPOS))
    return st.dictionaries(keys, st.one_of(
        st.integers(-5, 5000), st.sampled_from(["t3.large", "HTTPS", "10.1.0.0/16", "x"]),
        st.booleans(), st.lists(st.sampled_from(["10.1.0.0/16", "0.0.0.0/0"]), max_size=2),
    ), max_size=3).map(lambda drawn: _valid_where_possible(section, drawn))


def _valid_where_possible(section: str, drawn: dict[str, Any]) -> dict[str, Any]:
    """Half of the drawn values replaced by ones of the right kind, so valid merges occur."""
    properties = SCHEMA["properties"][section]["properties"]
    result = {}
    for index, (key, value) in enumerate(sorted(drawn.items())):
        default = properties.get(key, {}).get("default")
        result[key] = default if index % 2 == 0 and default is not None else value
    return result


overrides_strategy = st.fixed_dictionaries({}, optional={
    section: _section_overrides(section) for section in SECTIONS
} | {"tags": st.dictionaries(st.sampled_from(["team", "owner"]), st.sampled_from(["a", "b"]),
                             max_size=2)})


@pytest.mark.slow
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(overrides_strategy)
def test_any_override_set_is_valid_and_renders_as_its_flat_form_or_is_rejected_located(
        overrides: dict[str, Any]) -> None:
    section = {"environments": {"prod": {"account": "222222222222", "region": "eu-west-1",
                                         "overrides": overrides}}}
    doc = with_environments(yaml.safe_dump(section, sort_keys=False))
    assert [f for f in check_blueprint(doc) if f.severity is Severity.ERROR] == []
    prod = effective(doc, "prod")
    assert prod.document is not None
    found = check_blueprint(prod.document)
    flat, problems = load_text("flat.blueprint.yml", yaml.safe_dump(prod.data, sort_keys=False))
    assert flat is not None, problems
    # Located at the lines the values come from, and otherwise exactly the flat file's findings
    assert sorted((f.rule_id, f.message) for f in found) == \
        sorted((f.rule_id, f.message) for f in check_blueprint(flat))
    environment_start = BASE_LINES + 1
    for finding in found:
        assert finding.line >= 1 and finding.file == FILE
        if finding.rule_id == "BP101":  # an unknown key can only come from an override
            assert finding.line > environment_start
    if not any(f.severity is Severity.ERROR for f in found):
        assert render(from_data(prod.data, SCHEMA)).texts == \
            render(from_data(flat.data, SCHEMA)).texts
        # `blueprint show` prints exactly the effective blueprint with its defaults
        full = apply_defaults(SCHEMA, prod.data)
        shown = annotated_yaml(full, prod.origin, SCHEMA)
        assert yaml.safe_load(shown) == full
        overridden = [path for path, origin in prod.origins.items() if origin.kind == OVERRIDE]
        assert ("# override (prod) line" in shown) == bool(overridden)


def test_drawn_schema_sections_merge_to_valid_blueprints() -> None:
    """Whole sections drawn from the schema, as overrides, are never rejected as unknown."""
    @settings(max_examples=15, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(from_schema(SCHEMA["properties"]["network"]))
    def check(network: dict[str, Any]) -> None:
        doc = with_environments(yaml.safe_dump({"environments": {"prod": {
            "account": "222222222222", "region": "eu-west-1",
            "overrides": {"network": network}}}}))
        prod = effective(doc, "prod")
        assert prod.document is not None
        assert not [f for f in check_blueprint(prod.document) if f.rule_id == "BP101"]
        for key, value in network.items():
            assert prod.data["network"][key] == value
            assert prod.origin(("network", key)).kind == OVERRIDE

    check()
