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
    # What the template lacks under ``pointer`` (``MetadataOptions.HttpTokens``),
    # "" when the node at ``pointer`` is itself the wrong value.
    missing: str = ""


@dataclass(frozen=True)
class RulePack:
    directory: Path
    mandatory: bool


def default_rule_packs() -> tuple[RulePack, ...]:
    return (RulePack(rules_dir(), mandatory=True),)


def guard_argv(guard: str, packs: Sequence[RulePack], data_files: Sequence[str], *,
               policy_data: Path | None = None) -> list[str]:
    """The one cfn-guard command line (the rule tests run it too): JSON out, no colour.

    ``policy_data`` is the folder of ``--input-params`` files, by default the shipped
    allow-list's; a template cannot redefine its keys (cfn-guard refuses the merge).
    """
    argv = [guard, "validate"]
    for pack in packs:
        argv += ["-r", str(pack.directory)]
    data = policy_data_dir() if policy_data is None else policy_data
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
    violations = list(parse_report(reports, data_files))
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
    """One violation per offending node of a failing rule: (rule, node, missing key).

    Guard reports every clause it evaluated inside a failing rule, including
    filter comparisons and the first branches of an ``or``; the clauses that
    matter are the ones carrying a custom message. Without any, the first
    clause's own error message is reported, so a failure is never lost. Two
    clauses failing on the same node are one problem: the first is reported.
    """
    rule_name = str(rule.get("name", "GUARD"))
    clauses = list(_clauses(rule.get("checks") or []))
    chosen = [c for c in clauses if c.message] or clauses[:1]
    if not chosen:
        messages = rule.get("messages") or {}
        text = messages.get("custom_message") or messages.get("error_message") or \
            f"rule {rule_name} is not satisfied"
        yield GuardViolation(file, rule_name, "", str(text).strip(), 0, 0)
        return
    seen: set[tuple[str, str]] = set()
    for clause in chosen:
        pointer, missing = _target(clause.check)
        if (pointer, missing) in seen:
            continue
        seen.add((pointer, missing))
        message = clause.message or clause.error or f"rule {rule_name} is not satisfied"
        line = column = 0
        found = _LINE_COL.search(clause.error)
        if found:  # cfn-guard counts lines and columns from 0
            line, column = int(found.group(1)) + 1, int(found.group(2)) + 1
        yield GuardViolation(file, rule_name, pointer, message, line, column, missing)


@dataclass(frozen=True)
class _Clause:
    """A failing clause as reported: where it failed, and the words that apply to it."""

    check: dict[str, Any]  # the clause's ``check`` (or ``unresolved``) object
    message: str  # the custom message that applies ("" when none does)
    error: str  # cfn-guard's own error text for the clause


def _custom(node: dict[str, Any]) -> str:
    return str((node.get("messages") or {}).get("custom_message") or "").strip()


def _clauses(checks: Any, caller_message: str = "") -> Iterator[_Clause]:
    """Every failing clause under a rule's checks, at any depth.

    A helper called with a message (``helper(x) <<words>>``) carries the words
    on its rule node: they apply to every clause inside it, in place of the
    helper's own. An ``a or b <<words>>`` is one clause: located at its first
    alternative, its words are those written on any alternative.
    """
    if isinstance(checks, list):
        for item in checks:
            yield from _clauses(item, caller_message)
        return
    if not isinstance(checks, dict):
        return
    for key, value in checks.items():
        if not isinstance(value, dict):
            if isinstance(value, list) and key not in _NOT_CLAUSES:
                yield from _clauses(value, caller_message)
            continue
        if key in ("Unary", "Binary", "Block"):
            error = str((value.get("messages") or {}).get("error_message") or "").strip()
            yield _Clause(value.get("check") or value.get("unresolved") or {},
                          caller_message or _custom(value), error)
        elif key == "Disjunctions":
            members = list(_clauses(value.get("checks") or [], caller_message))
            if members:
                words = [m.message for m in members if m.message]
                yield replace(members[0], message=words[-1] if words else "")
        elif key == "Rule":
            yield from _clauses(value.get("checks") or [], caller_message or _custom(value))
        elif key not in _NOT_CLAUSES:
            yield from _clauses(value, caller_message)


_NOT_CLAUSES = ("messages", "check", "context", "metadata", "unresolved")


def _target(check: dict[str, Any]) -> tuple[str, str]:
    """(JSON pointer of the offending node, dotted path of what is missing under it).

    The node is the template value the clause failed on: ``from`` first, then
    any path found. A pointer into an intrinsic function stops at the function
    (``/…/Subnets`` for a failing ``/…/Subnets/Fn::Split/1``), except that an
    ``Fn::If`` branch stays (each branch is a value of its own). A property
    missing from a plain mapping is named by what is left of the clause's
    query (``MetadataOptions.HttpTokens``); a missing ``Ref`` inside a literal
    or an intrinsic is not a property, and then nothing is missing.
    """
    stack: list[Any] = [check]
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict):
            for key in ("from", "value", "traversed_to"):
                inner = node.get(key)
                if isinstance(inner, dict) and isinstance(inner.get("path"), str) \
                        and inner["path"]:
                    missing = node.get("remaining_query") if key == "traversed_to" else None
                    return _offending(str(inner["path"]), inner.get("value"), missing)
            path = node.get("path")
            if isinstance(path, str) and path:
                return _offending(path, node.get("value"), None)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return "", ""


_INTRINSIC = re.compile(r"^(Ref|Condition|Fn::[A-Za-z]+)$")
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def is_intrinsic(value: Any) -> bool:
    """A one-key mapping that is a CloudFormation intrinsic function (``{"Ref": X}``)."""
    return isinstance(value, dict) and len(value) == 1 and \
        bool(_INTRINSIC.match(next(iter(value))))


def _offending(pointer: str, value: Any, remaining: Any) -> tuple[str, str]:
    parts = pointer.split("/")
    index = 1
    while index < len(parts):
        part = parts[index]
        if _INTRINSIC.match(part) and part != "Condition":
            if part == "Fn::If" and parts[index + 1:index + 2] in (["1"], ["2"]):
                index += 2
                continue
            return "/".join(parts[:index]), ""
        index += 1
    if not isinstance(remaining, str) or not isinstance(value, dict) or is_intrinsic(value):
        return pointer, ""
    missing: list[str] = []
    for raw in remaining.split("."):
        key = raw.strip().strip("'\"")
        if not _PLAIN_KEY.match(key) or _INTRINSIC.match(key):
            break
        missing.append(key)
    return pointer, ".".join(missing)


def to_finding(violation: GuardViolation, location: Location, *,
               mandatory: bool, hint: str | None = None) -> Finding:
    return Finding(
        Source.GUARD, violation.rule,
        Severity.ERROR if mandatory else Severity.WARNING,
        location, violation.message, hint,
    )
