"""A blueprint's ``waivers:``: advisory rules one environment may skip, for a while.

``apply_waivers`` is pure: findings and the loaded ``waivers:`` list in, the
findings out, waived ones marked and problems with the waivers added.

A waiver ``{rule, reason, expires}`` of blueprint file F

* marks every active finding of ``rule`` located in F with
  ``waived_by="<reason> (expires YYYY-MM-DD)"``: still reported, no longer
  failing. Findings of other files are never touched;
* is an error itself (``Source.WAIVER``, located at the waiver's field) and
  waives nothing when it

  - names a mandatory rule (BP201): one ``is_mandatory`` says yes to (the
    caller passes ``catalog.mandatory_rules_of``, the one place that decides);
  - names a rule no check knows (BP202);
  - is past its date (BP203): ``expires`` is the last day it applies, so from
    the day after, the findings it covered are active again;
  - gives no meaningful reason (BP204): empty, too short, a single word or
    placeholders such as "TODO" or "n/a";
* is noted (BP205, info) when it is valid but matches no finding of F, so
  stale waivers get cleaned up; not when F has loader or schema errors (then
  the policies did not run, so nothing could match).

Entries the schema rejects (not a mapping, a missing key, a date that is not
a real date) are skipped here: the schema check already reports them.
A known rule is one in ``known_rules``, one some finding names, or a cfn-lint
id (a letter E, W or I and four digits): cfn-lint's rule set is its own.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from blueprint.finding import Finding, Location, Severity, Source

MANDATORY_WAIVER, UNKNOWN_RULE, EXPIRED_WAIVER, NO_REASON, UNUSED_WAIVER = (
    "BP201", "BP202", "BP203", "BP204", "BP205")

WAIVER_RULES = {
    MANDATORY_WAIVER: "Waiver names a mandatory rule, which cannot be waived",
    UNKNOWN_RULE: "Waiver names a rule no check knows",
    EXPIRED_WAIVER: "Waiver is past its expiry date; its findings apply again",
    NO_REASON: "Waiver gives no meaningful reason",
    UNUSED_WAIVER: "Waiver matches no finding of its blueprint",
}
WAIVER_RULE_SEVERITY = dict.fromkeys(WAIVER_RULES, Severity.ERROR) | {
    UNUSED_WAIVER: Severity.INFO}

_LINT_RULE_ID = re.compile(r"^[EWI]\d{4}$")
_WORD = re.compile(r"[^\W\d_]+")
MIN_REASON_CHARS = 10
PLACEHOLDER_WORDS = frozenset({
    "a", "an", "the", "na", "n", "none", "null", "nil", "todo", "tbd", "tba", "fixme", "xxx",
    "wip", "temp", "temporary", "test", "testing", "reason", "because", "later", "skip",
    "ignore", "waive", "waived", "waiver", "ok", "okay", "yes", "no", "fix", "asdf", "foo",
    "bar", "blah", "lorem", "ipsum", "dummy", "placeholder", "something", "whatever", "it",
    "is", "for", "now", "this", "rule",
})


def is_meaningful_reason(reason: str, rule: str = "") -> bool:
    """At least ``MIN_REASON_CHARS`` non-space characters and two real words."""
    text = reason.strip()
    if len("".join(text.split())) < MIN_REASON_CHARS:
        return False
    words = [w.lower() for w in _WORD.findall(text.replace(rule, " ") if rule else text)]
    real = [w for w in words if w not in PLACEHOLDER_WORDS and len(set(w)) > 1]
    return len(real) >= 2


@dataclass(frozen=True)
class _Waiver:
    index: int
    rule: str
    reason: str
    expires: str
    until: date

    @property
    def label(self) -> str:
        return f"{self.reason.strip()} (expires {self.expires})"


def _parse(index: int, entry: Any) -> _Waiver | None:
    if not isinstance(entry, dict):
        return None
    rule, reason, expires = entry.get("rule"), entry.get("reason"), entry.get("expires")
    if not isinstance(rule, str) or not isinstance(expires, str):
        return None
    if reason is not None and not isinstance(reason, str):
        return None
    try:
        until = date.fromisoformat(expires)
    except ValueError:
        return None
    return _Waiver(index, rule, reason or "", expires, until)


def apply_waivers(
    findings: Sequence[Finding],
    waivers: list[dict[str, Any]],
    *,
    blueprint_file: str,
    waiver_location: Callable[[int, str], Location],
    is_mandatory: Callable[[str], bool],
    known_rules: frozenset[str],
    today: date,
) -> list[Finding]:
    """``findings`` with those the valid waivers cover marked, plus the waivers' own findings.

    ``waiver_location(index, field)`` is where ``waivers[index].<field>`` sits
    in the blueprint (``field`` is ``rule``, ``reason`` or ``expires``).
    The result is sorted by ``Finding.sort_key``.
    """
    problems: list[Finding] = []

    def problem(rule_id: str, waiver: _Waiver, field: str, message: str, hint: str) -> None:
        problems.append(Finding(
            Source.WAIVER, rule_id, WAIVER_RULE_SEVERITY[rule_id],
            waiver_location(waiver.index, field), message, hint,
            blueprint_path=f"waivers[{waiver.index}].{field}",
        ))

    known = known_rules | {f.rule_id for f in findings}
    valid: dict[str, _Waiver] = {}
    for index, entry in enumerate(waivers or []):
        waiver = _parse(index, entry)
        if waiver is None:
            continue
        rule = waiver.rule
        if is_mandatory(rule):
            problem(MANDATORY_WAIVER, waiver, "rule",
                    f"rule {rule!r} is mandatory and cannot be waived",
                    "fix what the rule reports instead; only advisory rules (from an added "
                    "--rules pack, or cfn-lint) can be waived")
            continue
        if rule not in known and not _LINT_RULE_ID.match(rule):
            close = difflib.get_close_matches(rule, sorted(known), n=1, cutoff=0.6)
            problem(UNKNOWN_RULE, waiver, "rule",
                    f"waiver names unknown rule {rule!r}",
                    f"did you mean {close[0]!r}?" if close
                    else "name a rule id as reported by `blueprint validate`")
            continue
        if not is_meaningful_reason(waiver.reason, rule):
            problem(NO_REASON, waiver, "reason",
                    f"waiver for {rule!r} gives no meaningful reason",
                    "say in a sentence why this environment may skip the rule")
            continue
        if today > waiver.until:
            problem(EXPIRED_WAIVER, waiver, "expires",
                    f"waiver for {rule!r} expired on {waiver.expires}; its findings apply again",
                    "fix what the rule reports, or renew the waiver with a new date "
                    "and an up-to-date reason")
            continue
        valid.setdefault(rule, waiver)

    used: set[str] = set()
    result: list[Finding] = []
    for finding in findings:
        waiver = valid.get(finding.rule_id)
        if (waiver is not None and finding.file == blueprint_file
                and finding.waived_by is None and finding.source is not Source.WAIVER):
            used.add(waiver.rule)
            result.append(replace(finding, waived_by=waiver.label))
        else:
            result.append(finding)

    blocked = any(f.file == blueprint_file and f.severity is Severity.ERROR
                  and f.source in (Source.LOADER, Source.SCHEMA) for f in findings)
    if not blocked:
        for rule, waiver in valid.items():
            if rule not in used:
                problem(UNUSED_WAIVER, waiver, "rule",
                        f"waiver for {rule!r} matches no finding in this blueprint",
                        "remove the waiver if the rule no longer reports anything here")
    return sorted(result + problems, key=Finding.sort_key)
