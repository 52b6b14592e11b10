"""The Guard policies: one cfn-guard process over all templates, JSON output parsed.

Fails closed: a missing, crashing, hanging or garbage-printing cfn-guard, a
rule syntax error, or a template cfn-guard did not report on raises
``ToolError``; it never turns into a pass.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from blueprint.errors import ToolError
from blueprint.finding import Finding, Location, Severity, Source
from blueprint.policy_data import policy_data_dir
from blueprint.resources import rules_dir
from blueprint.tools import DEFAULT_TIMEOUT_SECONDS, find_cfn_guard, run_tool

GUARD_PASS, GUARD_FAIL, GUARD_RULE_SYNTAX, GUARD_ERROR = 0, 19, 5, 255
_LINE_COL = re.compile(r"\[L:(\d+),C:(\d+)\]")


@dataclass(frozen=True)
class GuardViolation:
    """One failing clause: which rule, which file, which property, and why."""

    data_file: str
    rule: str
    pointer: str  # JSON pointer into the template, "" when Guard gave none
    message: str
    line: int
    column: int


@dataclass(frozen=True)
class RulePack:
    directory: Path
    mandatory: bool


def default_rule_packs() -> tuple[RulePack, ...]:
    return (RulePack(rules_dir(), mandatory=True),)


def guard_argv(guard: str, packs: Sequence[RulePack], data_files: Sequence[str]) -> list[str]:
    argv = [guard, "validate"]
    for pack in packs:
        argv += ["-r", str(pack.directory)]
    data = policy_data_dir()
    if data.is_dir():
        argv += ["-i", str(data)]
    for path in data_files:
        argv += ["-d", path]
    return [*argv, "-o", "json", "-z", "-S", "none"]


def guard_timeout() -> float:
    """Seconds cfn-guard may run: $BLUEPRINT_GUARD_TIMEOUT, default 120."""
    configured = os.environ.get("BLUEPRINT_GUARD_TIMEOUT", "")
    if not configured:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(configured)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or not 0 < seconds <= 86_400:
        raise ToolError(f"BLUEPRINT_GUARD_TIMEOUT={configured!r} is not a number of seconds "
                        "between 0 and 86400")
    return seconds


def run_guard(data_files: Sequence[str], packs: Sequence[RulePack] | None = None,
              *, timeout: float | None = None) -> list[GuardViolation]:
    """Violations of every rule in ``packs`` by every file in ``data_files``."""
    if not data_files:
        return []
    timeout = guard_timeout() if timeout is None else timeout
    absolute = [os.path.abspath(path) for path in data_files]
    result = run_tool(guard_argv(find_cfn_guard(), packs or default_rule_packs(), absolute),
                      timeout=timeout)
    if result.returncode not in (GUARD_PASS, GUARD_FAIL):
        detail = (result.stderr or result.stdout).strip().splitlines()
        reason = {GUARD_RULE_SYNTAX: "a rule file has a syntax error",
                  GUARD_ERROR: "cfn-guard reported an error"}.get(
            result.returncode, f"cfn-guard exited with code {result.returncode}")
        raise ToolError(f"{reason}: {detail[0][:300] if detail else 'no output'}")
    try:
        reports = json.loads(result.stdout)
    except json.JSONDecodeError as err:
        raise ToolError(f"cfn-guard printed output that is not JSON ({err.msg})") from err
    violations = collapse_list_items(list(parse_report(reports, data_files)))
    if result.returncode == GUARD_FAIL and not violations:
        raise ToolError("cfn-guard reported a failure but named no failing rule")
    if result.returncode == GUARD_PASS and violations:
        raise ToolError("cfn-guard exited 0 while reporting failing rules")
    return violations


def parse_report(reports: Any, data_files: Sequence[str]) -> Iterator[GuardViolation]:
    """Violations per file; names as the caller gave them, whatever form cfn-guard prints."""
    if not isinstance(reports, list):
        raise ToolError("cfn-guard's JSON output is not a list of file reports")
    aliases: dict[str, str] = {}
    for path in data_files:
        for form in (path, os.path.abspath(path), os.path.realpath(path)):
            aliases.setdefault(form, path)
    seen_files: set[str] = set()
    for report in reports:
        if not isinstance(report, dict) or not isinstance(report.get("name"), str):
            raise ToolError("cfn-guard's JSON output has a report without a file name")
        name = aliases.get(report["name"])
        if name is None:
            raise ToolError(f"cfn-guard reported on a file it was not given: {report['name']}")
        seen_files.add(name)
        failing = report.get("not_compliant") or []
        if report.get("status") == "FAIL" and not failing:
            yield GuardViolation(name, "GUARD", "", "cfn-guard marked the file FAIL", 0, 0)
        for entry in failing:
            rule = entry.get("Rule") if isinstance(entry, dict) else None
            if not isinstance(rule, dict):
                raise ToolError("cfn-guard's JSON output has an unreadable failure entry")
            yield from _rule_violations(name, rule)
    missing = [path for path in data_files if path not in seen_files]
    if missing:
        raise ToolError(f"cfn-guard did not report on {missing[0]}")


def _rule_violations(file: str, rule: dict[str, Any]) -> Iterator[GuardViolation]:
    """One violation per distinct (path, message) of a failing rule.

    Guard reports every clause it evaluated inside a failing rule, including
    filter comparisons and the first branches of an ``or``; the clauses that
    matter are the ones carrying a custom message. Without any, the first
    clause's own error message is reported, so a failure is never lost.
    """
    rule_name = str(rule.get("name", "GUARD"))
    clauses = list(_clauses(rule.get("checks") or []))
    explained = [c for c in clauses if ((c.get("messages") or {}).get("custom_message") or "")
                 .strip()]
    chosen = explained or clauses[:1]
    if not chosen:
        messages = rule.get("messages") or {}
        text = messages.get("custom_message") or messages.get("error_message") or \
            f"rule {rule_name} is not satisfied"
        yield GuardViolation(file, rule_name, "", str(text).strip(), 0, 0)
        return
    seen: set[tuple[str, str]] = set()
    for clause in chosen:
        messages = clause.get("messages") or {}
        custom = (messages.get("custom_message") or "").strip()
        error = (messages.get("error_message") or "").strip()
        pointer = _first_path(clause.get("check") or clause.get("unresolved") or {})
        message = custom or error or f"rule {rule_name} is not satisfied"
        if (pointer, message) in seen:
            continue
        seen.add((pointer, message))
        line = column = 0
        found = _LINE_COL.search(error)
        if found:
            line, column = int(found.group(1)), int(found.group(2))
        yield GuardViolation(file, rule_name, pointer, message, line, column)


def _clauses(checks: Any) -> Iterator[dict[str, Any]]:
    """Every leaf clause (unary, binary or block) under a rule's checks, at any depth."""
    if isinstance(checks, list):
        for item in checks:
            yield from _clauses(item)
    elif isinstance(checks, dict):
        for key, value in checks.items():
            if key in ("Unary", "Binary", "Block") and isinstance(value, dict):
                yield value
            elif key not in ("messages", "check", "context", "metadata", "unresolved"):
                yield from _clauses(value)


def collapse_list_items(violations: list[GuardViolation]) -> list[GuardViolation]:
    """One violation for many items of one list failing the same way.

    The seed's cluster.yml offers ~600 instance types; one finding at the
    first bad item, with a count, is more useful than 600 identical lines.
    """
    groups: dict[tuple[str, str, str, str], list[GuardViolation]] = {}
    for violation in violations:
        head, _, last = violation.pointer.rpartition("/")
        list_key = head if last.isdigit() else violation.pointer
        groups.setdefault((violation.data_file, violation.rule, violation.message, list_key),
                          []).append(violation)
    result = []
    for group in groups.values():
        first = group[0]
        count = len({violation.pointer for violation in group})
        if count > 1:
            first = replace(first, message=f"{first.message} ({count} items of this list)")
        result.append(first)
    return result


def _first_path(check: dict[str, Any]) -> str:
    """The template path a clause failed at: ``from`` first, then any path found."""
    stack: list[Any] = [check]
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict):
            for key in ("from", "value", "traversed_to"):
                inner = node.get(key)
                if isinstance(inner, dict) and isinstance(inner.get("path"), str) \
                        and inner["path"]:
                    return str(inner["path"])
            path = node.get("path")
            if isinstance(path, str) and path:
                return path
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return ""


def to_finding(violation: GuardViolation, location: Location, *,
               mandatory: bool, hint: str | None = None) -> Finding:
    return Finding(
        Source.GUARD, violation.rule,
        Severity.ERROR if mandatory else Severity.WARNING,
        location, violation.message, hint,
    )
