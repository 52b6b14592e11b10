"""Tests for the CloudFormation Guard policy rules in rules/.

cfn-guard is located and run as blueprint does (``find_cfn_guard``, ``guard_argv``), and
a rule's name is read as the catalog reads it (``rule_index``). If cfn-guard cannot be
found these tests FAIL (they do not skip): the rules are the product's promise and must
never go untested silently.

Templates: ``fixtures/seed`` is the hand-written seed project the rules were written
against, ``fixtures/bad`` holds one violation each; the rendered templates are the
goldens of every example (``tests/golden/<example>/``), never a hand-kept copy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from _fixtures import golden_dir, golden_examples

from blueprint.catalog import rule_index
from blueprint.errors import ToolError
from blueprint.guard import GUARD_FAIL, GUARD_PASS, RulePack, guard_argv
from blueprint.tools import find_cfn_guard

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "rules"
RULE_TESTS_DIR = RULES_DIR / "tests"
DATA_DIR = RULES_DIR / "data"
ALLOW_LIST_FILE = DATA_DIR / "instance-types.yaml"
ALLOW_LIST_KEY = "BlueprintPolicyAllowedInstanceTypes"
CATALOG = RULES_DIR / "catalog.yaml"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
RENDERED = ("vpc.yml", "cluster.yml", "service.yml", "parent.yml")

EXIT_PASS = GUARD_PASS
EXIT_FAIL = GUARD_FAIL

RULE_FILES = sorted(RULES_DIR.glob("*.guard"))
EXPECTED_RULE_FILES = {
    "task_eni_private.guard": 1,
    "imdsv2.guard": 2,
    "service_ingress.guard": 3,
    "instance_types.guard": 4,
    # what the four policy files cannot see (conditions around what they read,
    # properties they do not read): each rule under the policy it protects
    "fail_closed.guard": None,
}
# The policy each rule of fail_closed.guard protects ("all": a child template
# the gate never reads could break any of them).
FAIL_CLOSED_POLICIES: dict[str, int | str] = {
    "ECS_TASK_SETTINGS_NOT_CONDITIONAL": 1,
    "PRIVATE_SUBNET_PARAMETER_NO_DEFAULT": 1,
    "ECS_TASKS_STARTED_OUTSIDE_THE_POLICY": 1,
    "EC2_LAUNCH_SETTINGS_NOT_CONDITIONAL": 2,
    "EC2_INSTANCE_METADATA_OPTIONS_REQUIRED": 2,
    "BATCH_LAUNCH_TEMPLATE_OVERRIDES_IMDSV2": 2,
    "IMAGE_BUILDER_IMDSV2_REQUIRED": 2,
    "SECURITY_GROUP_SETTINGS_NOT_CONDITIONAL": 3,
    "OTHER_EC2_CAPACITY_TYPES_ALLOWED": 4,
    "CHILD_TEMPLATE_NOT_CHECKED": "all",
}

# Every rule a file defines, helpers included (which of them are reported is the
# catalog's reading, `_named_rules` below).
ANY_RULE_RE = re.compile(r"^\s*rule\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)


def _find_cfn_guard() -> str | None:
    """The same lookup blueprint itself uses: $CFN_GUARD, PATH, the tools directory."""
    try:
        found = find_cfn_guard()
    except ToolError:
        return None
    return found if Path(found).is_file() and os.access(found, os.X_OK) else None


@pytest.fixture(scope="session")
def cfn_guard() -> str:
    path = _find_cfn_guard()
    if path is None:
        pytest.fail(
            "cfn-guard not found: set CFN_GUARD to the binary, put cfn-guard on PATH, "
            "or run `python -m blueprint.install_guard`. "
            "The policy rules cannot be verified without it.",
            pytrace=False,
        )
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, f"{path} --version failed: {out.stderr}"
    return path


def _validate(cfn_guard: str, *templates: Path,
              policy_data: Path = DATA_DIR) -> tuple[int, list[dict[str, Any]], str]:
    """Run cfn-guard with blueprint's own command line; return (rc, parsed json, stderr)."""
    argv = guard_argv(cfn_guard, [RulePack(RULES_DIR, mandatory=True)],
                      [str(t) for t in templates], policy_data=policy_data)
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    reports: list[dict[str, Any]] = []
    if proc.returncode in (EXIT_PASS, EXIT_FAIL):
        reports = json.loads(proc.stdout)
    return proc.returncode, reports, proc.stderr


def _statuses(report: dict[str, Any]) -> dict[str, str]:
    out = dict.fromkeys(report["compliant"], "PASS")
    out.update(dict.fromkeys(report["not_applicable"], "SKIP"))
    out.update({nc["Rule"]["name"]: "FAIL" for nc in report["not_compliant"]})
    return out


def _named_rules(path: Path) -> list[str]:
    """The rules blueprint reports from this one file: the catalog's reading of it as a pack."""
    with tempfile.TemporaryDirectory() as pack:
        shutil.copy(path, pack)
        return list(rule_index([RulePack(Path(pack), mandatory=True)]))


def _custom_messages(node: Any) -> list[str]:
    """All non-empty custom messages below a not_compliant entry."""
    found: list[str] = []
    if isinstance(node, dict):
        msgs = node.get("messages")
        if isinstance(msgs, dict) and (msgs.get("custom_message") or "").strip():
            found.append(msgs["custom_message"].strip())
        for v in node.values():
            found += _custom_messages(v)
    elif isinstance(node, list):
        for v in node:
            found += _custom_messages(v)
    return found


# --------------------------------------------------------------------------
# layout and catalog


def test_expected_rule_files_exist() -> None:
    assert sorted(p.name for p in RULE_FILES) == sorted(EXPECTED_RULE_FILES)


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_every_rule_file_has_a_tests_file(rule_file: Path) -> None:
    tests_file = RULE_TESTS_DIR / f"{rule_file.stem}_tests.yaml"
    assert tests_file.is_file(), f"missing cfn-guard unit tests {tests_file}"


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_named_rules_are_upper_snake_case_and_helpers_are_not(rule_file: Path) -> None:
    names = ANY_RULE_RE.findall(rule_file.read_text())
    named = set(_named_rules(rule_file))
    assert named, f"{rule_file.name} defines no named rule"
    for name in names:
        if name not in named:
            assert name == name.lower(), f"helper rule {name} must be lower-case"


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_every_clause_has_a_custom_message(rule_file: Path) -> None:
    """Each clause line that checks something carries << ... >>."""
    check_ops = re.compile(
        r"\b(exists|empty|is_string|is_list|is_struct|==|!=|\bin\b)", re.IGNORECASE
    )
    let_depth = 0  # open brackets of a multi-line `let ... = Resources.*[ ... ]`
    for lineno, line in enumerate(rule_file.read_text().splitlines(), 1):
        stripped = line.strip()
        if let_depth > 0 or stripped.startswith("let "):
            let_depth = max(0, let_depth + stripped.count("[") - stripped.count("]"))
            continue
        if (
            not stripped
            or stripped.startswith(("#", "let ", "rule ", "when ", "}"))
            or stripped.endswith("{")
        ):
            continue
        if check_ops.search(stripped):
            assert "<<" in stripped and stripped.endswith(">>"), (
                f"{rule_file.name}:{lineno} clause without a custom message: {stripped}"
            )


def test_catalog_lists_exactly_the_named_rules() -> None:
    catalog = yaml.safe_load(CATALOG.read_text())
    entries = catalog["rules"]
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids)), "duplicate ids in catalog.yaml"
    named: dict[str, str] = {}
    for f in RULE_FILES:
        for name in _named_rules(f):
            assert name not in named, f"rule {name} defined in {named.get(name)} and {f.name}"
            named[name] = f.name
    assert set(ids) == set(named)
    assert {n for n, f in named.items() if f == "fail_closed.guard"} == set(FAIL_CLOSED_POLICIES)
    for e in entries:
        assert set(e) >= {"id", "policy", "title", "help", "hint", "mandatory"}, e
        assert e["mandatory"] is True
        expected = EXPECTED_RULE_FILES[named[e["id"]]] or FAIL_CLOSED_POLICIES[e["id"]]
        assert e["policy"] == expected, e["id"]
        if "file" in e:
            assert e["file"] == named[e["id"]]
        for key in ("title", "help", "hint"):
            assert isinstance(e[key], str) and e[key].strip(), (e["id"], key)
    assert {e["policy"] for e in entries} == {1, 2, 3, 4, "all"}


# --------------------------------------------------------------------------
# cfn-guard unit tests


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_cfn_guard_unit_tests(cfn_guard: str, rule_file: Path) -> None:
    tests_file = RULE_TESTS_DIR / f"{rule_file.stem}_tests.yaml"
    proc = subprocess.run(
        [cfn_guard, "test", "-r", str(rule_file), "-t", str(tests_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    failing = [ln for ln in proc.stdout.splitlines() if "Evaluated" in ln]
    assert proc.returncode == 0, (
        f"cfn-guard test failed (rc={proc.returncode}) for {rule_file.name}:\n"
        + "\n".join(failing)
        + proc.stderr
    )


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_unit_tests_cover_pass_and_fail_for_every_named_rule(rule_file: Path) -> None:
    cases = yaml.safe_load((RULE_TESTS_DIR / f"{rule_file.stem}_tests.yaml").read_text())
    seen: dict[str, set[str]] = {}
    for case in cases:
        for rule, expected in case["expectations"]["rules"].items():
            seen.setdefault(rule, set()).add(expected)
    for name in _named_rules(rule_file):
        assert {"PASS", "FAIL"} <= seen.get(name, set()), (
            f"{rule_file.name}: {name} needs both PASS and FAIL cases, has {seen.get(name)}"
        )


# --------------------------------------------------------------------------
# validate, the way blueprint runs it


def test_seed_cluster_fails_the_instance_type_rule(cfn_guard: str) -> None:
    rc, reports, err = _validate(cfn_guard, FIXTURES / "seed" / "cluster.yml")
    assert rc == EXIT_FAIL, err
    statuses = _statuses(reports[0])
    assert statuses["INSTANCE_TYPE_ALLOWED"] == "FAIL"
    failing = next(
        nc for nc in reports[0]["not_compliant"] if nc["Rule"]["name"] == "INSTANCE_TYPE_ALLOWED"
    )
    msgs = _custom_messages(failing)
    assert any("allow-list" in m for m in msgs), msgs


def test_seed_service_passes_policies_1_and_3(cfn_guard: str) -> None:
    rc, reports, err = _validate(cfn_guard, FIXTURES / "seed" / "service.yml")
    assert rc == EXIT_PASS, err
    statuses = _statuses(reports[0])
    for rule in (
        "ECS_TASK_ENI_NO_PUBLIC_IP",
        "ECS_TASK_ENI_PRIVATE_SUBNETS",
        "SERVICE_SECURITY_GROUPS_IN_TEMPLATE",
        "SERVICE_INGRESS_ONLY_FROM_LOAD_BALANCER",
    ):
        assert statuses[rule] == "PASS", (rule, statuses)


def test_seed_vpc_passes_everything(cfn_guard: str) -> None:
    rc, reports, err = _validate(cfn_guard, FIXTURES / "seed" / "vpc.yml")
    assert rc == EXIT_PASS, err
    assert reports[0]["not_compliant"] == []


def test_golden_examples_exist() -> None:
    assert {"minimal", "seed"} <= set(golden_examples())
    for example in golden_examples():
        assert sorted(p.name for p in golden_dir(example).glob("*.yml")) == sorted(RENDERED)


@pytest.mark.parametrize("example", golden_examples())
def test_rendered_templates_pass_everything_in_one_run(cfn_guard: str, example: str) -> None:
    names = list(RENDERED)
    rc, reports, err = _validate(cfn_guard, *(golden_dir(example) / n for n in names))
    assert rc == EXIT_PASS, err
    assert len(reports) == len(names)
    by_name = {Path(r["name"]).name: r for r in reports}
    for n in names:
        assert by_name[n]["status"] in ("PASS", "SKIP"), by_name[n]
        assert by_name[n]["not_compliant"] == []
    assert {"INSTANCE_TYPE_ALLOWED", "LAUNCH_TEMPLATE_IMDSV2_REQUIRED"} <= set(
        by_name["cluster.yml"]["compliant"]
    )
    assert {
        "ECS_TASK_ENI_NO_PUBLIC_IP",
        "ECS_TASK_ENI_PRIVATE_SUBNETS",
        "SERVICE_SECURITY_GROUPS_IN_TEMPLATE",
        "SERVICE_INGRESS_ONLY_FROM_LOAD_BALANCER",
    } <= set(by_name["service.yml"]["compliant"])
    # the parent passes only wiring now (settings are literals in the children)
    assert {"PRIVATE_SUBNET_PARAMETER_WIRING"} <= set(by_name["parent.yml"]["compliant"])


@pytest.mark.parametrize(
    ("fixture", "failing_rules"),
    [
        ("parent_public_into_private.yml", {"PRIVATE_SUBNET_PARAMETER_WIRING"}),
        ("parent_accelerated_type.yml", {"INSTANCE_TYPE_ALLOWED"}),
        (
            "cluster_imdsv1.yml",
            {"LAUNCH_TEMPLATE_IMDSV2_REQUIRED", "AUTOSCALING_GROUP_IMDSV2_LAUNCH_TEMPLATE"},
        ),
        (
            "service_public_ip_cidr_ingress.yml",
            {"ECS_TASK_ENI_NO_PUBLIC_IP", "SERVICE_INGRESS_ONLY_FROM_LOAD_BALANCER",
             "PUBLIC_INGRESS_ONLY_ON_LOAD_BALANCER"},
        ),
        # review regressions: these templates used to pass every rule. Those naming a task
        # definition by literal ARN also fail ECS_TASK_NETWORK_MODE_AWSVPC (not provable).
        ("service_ingress_getatt_id.yml",
         {"SERVICE_INGRESS_ONLY_FROM_LOAD_BALANCER", "PUBLIC_INGRESS_ONLY_ON_LOAD_BALANCER",
          "ECS_TASK_NETWORK_MODE_AWSVPC"}),
        ("taskset_open_sg.yml",
         {"SERVICE_INGRESS_ONLY_FROM_LOAD_BALANCER", "PUBLIC_INGRESS_ONLY_ON_LOAD_BALANCER",
          "ECS_TASK_NETWORK_MODE_AWSVPC"}),
        ("fleet_external_launch_template.yml", {"EC2_FLEET_IMDSV2_LAUNCH_TEMPLATE"}),
        ("spot_fleet_launch_specifications.yml", {"SPOT_FLEET_IMDSV2_LAUNCH_TEMPLATE"}),
        (
            "pipe_public_ip_literal_subnets.yml",
            {
                "ECS_TASK_ENI_NO_PUBLIC_IP",
                "ECS_TASK_ENI_PRIVATE_SUBNETS",
                "SERVICE_SECURITY_GROUPS_IN_TEMPLATE",
                "ECS_TASK_NETWORK_MODE_AWSVPC",
            },
        ),
    ],
)
def test_bad_variants_fail(cfn_guard: str, fixture: str, failing_rules: set[str]) -> None:
    rc, reports, err = _validate(cfn_guard, FIXTURES / "bad" / fixture)
    assert rc == EXIT_FAIL, err
    statuses = _statuses(reports[0])
    assert {r for r, s in statuses.items() if s == "FAIL"} == failing_rules
    for nc in reports[0]["not_compliant"]:
        assert _custom_messages(nc), f"{nc['Rule']['name']} failed without a custom message"


def test_template_cannot_bring_its_own_allow_list(cfn_guard: str) -> None:
    """A template defining the allow-list key clashes with -i and never passes."""
    rc, _reports, err = _validate(cfn_guard, FIXTURES / "bad" / "cluster_spoofed_allow_list.yml")
    assert rc not in (EXIT_PASS, EXIT_FAIL), "expected cfn-guard to refuse the merge"
    assert ALLOW_LIST_KEY in err


def test_instance_type_rule_reads_the_data_file(cfn_guard: str, tmp_path: Path) -> None:
    """Swapping the data file changes the verdict without touching rule logic."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "instance-types.yaml").write_text(yaml.safe_dump({ALLOW_LIST_KEY: ["m5.large"]}))
    # the cluster template carries the instance types as literals (c6i/c7i by default)
    cluster = golden_dir("minimal") / "cluster.yml"
    assert _validate(cfn_guard, cluster)[0] == EXIT_PASS
    rc, reports, err = _validate(cfn_guard, cluster, policy_data=data)
    assert rc == EXIT_FAIL, err
    assert _statuses(reports[0])["INSTANCE_TYPE_ALLOWED"] == "FAIL"


# --------------------------------------------------------------------------
# the allow-list data itself

NEVER_PREFIXES = ("p", "g", "inf", "trn", "dl", "u-", "x", "vt", "f")
PREVIOUS_GENERATION = re.compile(r"^(t1|t2|m1|m2|m3|m4|c1|c3|c4|cc1|cc2|cg1|cr1|r3|r4|i2|d2|hs1)\.")


def _allow_list() -> list[Any]:
    data = yaml.safe_load(ALLOW_LIST_FILE.read_text())
    assert isinstance(data, dict) and list(data) == [ALLOW_LIST_KEY], (
        f"{ALLOW_LIST_FILE} must hold exactly one top-level key, {ALLOW_LIST_KEY}"
    )
    return data[ALLOW_LIST_KEY]


def test_data_dir_holds_only_the_policy_data() -> None:
    """cfn-guard merges every file of the folder into each template (-i): nothing else."""
    files = sorted(p.name for p in DATA_DIR.iterdir())
    assert files == ["instance-sizes.yaml", "instance-types.yaml"], files
    keys = [key for name in files for key in yaml.safe_load((DATA_DIR / name).read_text())]
    assert keys == ["BlueprintInstanceSizes", ALLOW_LIST_KEY], keys


def test_allow_list_is_well_formed() -> None:
    types = _allow_list()
    assert isinstance(types, list) and types
    assert len(types) == len(set(types)), "duplicates in the allow-list"
    for t in types:
        assert isinstance(t, str)
        assert re.fullmatch(r"[a-z][a-z0-9-]*\.[0-9]*[a-z]+", t), f"malformed type {t!r}"


def test_allow_list_holds_the_required_defaults() -> None:
    required = {
        "t3.medium", "t3.large", "m5.large", "m5.xlarge", "m6i.large", "m6i.xlarge",
        "c5.large", "c5.xlarge", "c6i.large", "c6i.xlarge", "r5.large", "r5.xlarge",
    }  # fmt: skip
    assert required <= set(_allow_list())
    assert "c5.xlarge" in _allow_list(), "the blueprint default must be allowed"


@pytest.mark.parametrize("instance_type", _allow_list() if ALLOW_LIST_FILE.exists() else [])
def test_allow_list_obeys_the_never_rules(instance_type: str) -> None:
    family, _, size = instance_type.partition(".")
    assert not family.startswith(NEVER_PREFIXES), f"{instance_type}: accelerated/high-memory"
    assert "metal" not in size, f"{instance_type}: bare metal"
    assert not PREVIOUS_GENERATION.match(instance_type), f"{instance_type}: previous generation"
    assert family[0] in "tmcr", f"{instance_type}: only general purpose, compute, memory"


# --------------------------------------------------------------------------
# fail closed: bypasses a red-team review found (each passed every rule before
# fail_closed.guard); the templates are in the corpus with their exact findings

CORPUS_TEMPLATES = REPO / "tests" / "corpus" / "templates"
BYPASSES = {
    "62-events-target-if-item.yaml": "ECS_TASK_SETTINGS_NOT_CONDITIONAL",
    "63-events-targets-if.yaml": "ECS_TASK_SETTINGS_NOT_CONDITIONAL",
    "64-scheduler-target-if.yaml": "ECS_TASK_SETTINGS_NOT_CONDITIONAL",
    "65-pipe-target-parameters-if.yaml": "ECS_TASK_SETTINGS_NOT_CONDITIONAL",
    "66-service-security-group-properties-if.yaml": "SECURITY_GROUP_SETTINGS_NOT_CONDITIONAL",
    "67-security-group-properties-if.yaml": "SECURITY_GROUP_SETTINGS_NOT_CONDITIONAL",
    "68-batch-properties-if.yaml": "EC2_LAUNCH_SETTINGS_NOT_CONDITIONAL",
    "69-host-security-group-inline-if.yaml": "SECURITY_GROUP_SETTINGS_NOT_CONDITIONAL",
    "70-asg-override-if.yaml": "EC2_LAUNCH_SETTINGS_NOT_CONDITIONAL",
    "71-ec2-fleet-override-if.yaml": "EC2_LAUNCH_SETTINGS_NOT_CONDITIONAL",
    "72-instance-metadata-options-override.yaml": "EC2_INSTANCE_METADATA_OPTIONS_REQUIRED",
    "73-batch-launch-template-overrides.yaml": "BATCH_LAUNCH_TEMPLATE_OVERRIDES_IMDSV2",
    "74-step-functions-run-task.yaml": "ECS_TASKS_STARTED_OUTSIDE_THE_POLICY",
    "75-scheduler-universal-target-run-task.yaml": "ECS_TASKS_STARTED_OUTSIDE_THE_POLICY",
    "76-stackset-and-module.yaml": "CHILD_TEMPLATE_NOT_CHECKED",
    "79-other-ec2-capacity.yaml": "OTHER_EC2_CAPACITY_TYPES_ALLOWED",
    "80-private-subnet-parameter-default.yaml": "PRIVATE_SUBNET_PARAMETER_NO_DEFAULT",
}


def test_the_red_team_bypasses_fail_only_the_fail_closed_rules(cfn_guard: str) -> None:
    names = sorted(BYPASSES)
    rc, reports, err = _validate(cfn_guard, *(CORPUS_TEMPLATES / n for n in names))
    assert rc == EXIT_FAIL, err
    fail_closed = set(FAIL_CLOSED_POLICIES)
    by_name = {Path(r["name"]).name: r for r in reports}
    for name in names:
        failing = {r for r, s in _statuses(by_name[name]).items() if s == "FAIL"}
        assert BYPASSES[name] in failing, (name, failing)
        # the four policy files passed them: that was the hole
        assert failing <= fail_closed, (name, failing - fail_closed)
