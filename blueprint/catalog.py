"""What each rule is: Guard rule names per pack, plus ``catalog.yaml`` metadata.

A pack is a directory of ``.guard`` files. Its optional ``catalog.yaml``
lists ``{id, title, help, hint, mandatory}`` per rule. A pack in AWS Control
Tower's layout (``--pack control-tower``, see ``blueprint.packs``) is described
by its metadata files instead: each rule is known by its control id
(``CT.EC2.PR.15``), which findings and waivers use in place of the Guard rule
name cfn-guard reports (``as_listed``).

``is_mandatory`` is the one place that decides which rules no waiver can
switch off: every ``BPnnn`` rule (loader, schema, waiver) except the schema
warnings listed in ``ADVISORY_SCHEMA_RULES``, every rule of the shipped pack,
every rule an added pack (``--rules DIR``) marks ``mandatory: true``, and a
Guard rule no pack lists (cfn-guard's catch-all, or a rule the scan of the
pack's ``.guard``/``.ruleset`` files missed). Everything else (the rest of an
added pack, cfn-lint's rules, the advisory schema warnings) is advisory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from blueprint import packs
from blueprint.errors import ToolError, UsageError
from blueprint.finding import Finding, RuleInfo, Source
from blueprint.guard import GuardViolation, RulePack

# cfn-guard reports every rule that takes no parameters, whatever its case
# (Control Tower's are lower-case); parameterised rules are helpers.
_RULE_NAME = re.compile(r"^\s*rule\s+([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()", re.MULTILINE)
# Rules of blueprint itself: loader (BP0nn), schema (BP1nn) and waiver (BP2nn) rules.
BLUEPRINT_RULE_ID = re.compile(r"^BP\d{3}\Z")
_ALWAYS_MANDATORY_SOURCES = frozenset({Source.LOADER, Source.SCHEMA, Source.WAIVER})

LOADER_RULES = {
    "BP001": "File cannot be read as text (size, encoding, binary)",
    "BP002": "YAML syntax error",
    "BP003": "Duplicate mapping key",
    "BP004": "YAML tag or merge key not allowed",
    "BP005": "Document too large or too deeply nested (alias bomb)",
    "BP006": "Not a single blueprint or CloudFormation template",
    "BP007": "Unknown top-level section in a CloudFormation template",
    "BP008": "Template uses a transform (macro) whose output cannot be checked",
}
SCHEMA_RULES = {
    "BP101": "Unknown key",
    "BP102": "Missing required key",
    "BP103": "Wrong type",
    "BP104": "Invalid value",
    "BP105": "Value out of range",
    "BP106": "Inconsistent settings",
    "BP107": "Instance type not on the policy allow-list",
    "BP108": "Task does not fit its instance type",
    "BP109": "Image named by a moving tag (:latest or none)",
}
# Schema rules that warn about a choice a team may make on purpose (a tag meant to
# move): waivable with a reason, unlike the schema errors AWS or the policy rejects.
ADVISORY_SCHEMA_RULES = frozenset({"BP109"})


@dataclass(frozen=True)
class RuleMeta:
    rule_id: str
    title: str
    help: str
    hint: str | None
    mandatory: bool
    # The rule name cfn-guard reports, when findings name the rule otherwise
    # (a Control Tower control: ``rule_id`` CT.EC2.PR.15, reported as ec2_launch_...).
    guard_name: str | None = None


def _read_catalog(directory: Path) -> dict[str, dict[str, Any]]:
    path = directory / "catalog.yaml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ToolError(f"cannot read the rule catalog {path}: {err}".splitlines()[0]) from err
    entries = data.get("rules", data) if isinstance(data, dict) else data
    result: dict[str, dict[str, Any]] = {}
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                result[entry["id"]] = entry
    elif isinstance(entries, dict):
        for key, entry in entries.items():
            if isinstance(entry, dict):
                result[str(key)] = {"id": str(key), **entry}
    return result


@cache
def _pack_rules(directory: Path, shipped: bool) -> tuple[RuleMeta, ...]:
    if packs.has_control_metadata(directory):
        return tuple(RuleMeta(rule_id=control.control_id, title=control.display_name,
                              help=control.help, hint=control.remediation or None,
                              mandatory=shipped, guard_name=control.rule_name)
                     for control in packs.controls(directory))
    meta = _read_catalog(directory)
    names: list[str] = []
    # The files cfn-guard itself loads from a rules directory, subfolders included.
    for rule_file in sorted(p for pattern in ("*.guard", "*.ruleset")
                            for p in directory.rglob(pattern)):
        try:
            names += _RULE_NAME.findall(rule_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeError) as err:
            raise ToolError(f"cannot read the rule file {rule_file}: {err}") from err
    rules = []
    for name in dict.fromkeys(names):
        entry = meta.get(name, {})
        rules.append(RuleMeta(
            rule_id=name,
            title=str(entry.get("title") or name.replace("_", " ").capitalize()),
            help=str(entry.get("help") or ""),
            hint=entry.get("hint"),
            mandatory=shipped or bool(entry.get("mandatory", False)),
        ))
    return tuple(rules)


def rule_index(packs: Sequence[RulePack]) -> dict[str, RuleMeta]:
    index: dict[str, RuleMeta] = {}
    for pack in packs:
        for rule in _pack_rules(pack.directory.resolve(), pack.mandatory):
            index.setdefault(rule.rule_id, rule)
    return index


def as_listed(violations: Sequence[GuardViolation],
              index: Mapping[str, RuleMeta]) -> list[GuardViolation]:
    """Violations of rules known by another name, under that name and with its words.

    A Control Tower rule's violation becomes one of its control id, with the
    control's display name as message (its remediation is the rule's hint);
    one per control and resource, at the first clause that failed there (the
    rules report several clauses of one problem: ``Key`` and ``Value`` of one
    attribute, each missing zone).
    """
    by_guard_name = {meta.guard_name: meta for meta in index.values() if meta.guard_name}
    clash = sorted(set(by_guard_name) & set(index))
    if clash:  # a violation of that name could not be told apart
        raise UsageError(f"two rule packs of this run define the rule {clash[0]!r}",
                         hint=f"rename it in the pack that is not "
                              f"{by_guard_name[clash[0]].rule_id}'s")
    result: list[GuardViolation] = []
    seen: set[tuple[str, str, str]] = set()
    for violation in violations:
        meta = by_guard_name.get(violation.rule)
        if meta is None:
            result.append(violation)
            continue
        resource = "/".join(violation.pointer.split("/")[:3])
        if (violation.data_file, meta.rule_id, resource) not in seen:
            seen.add((violation.data_file, meta.rule_id, resource))
            result.append(replace(violation, rule=meta.rule_id, message=meta.title))
    return result


def is_mandatory(rule_id: str, source: Source | None = None, listed: bool | None = None) -> bool:
    """Whether no waiver may switch ``rule_id`` off.

    ``source`` is the check that reports the rule (None: not known, e.g. a rule
    a waiver names); ``listed`` is what the rule's pack says (``RuleMeta.mandatory``),
    None when no pack of this run lists the rule.
    """
    if rule_id in ADVISORY_SCHEMA_RULES and source in (Source.SCHEMA, None):
        return False
    if source in _ALWAYS_MANDATORY_SOURCES or BLUEPRINT_RULE_ID.match(rule_id):
        return True
    if listed is not None:
        return listed
    # A Guard rule no catalog lists may be a policy nobody reviewed as advisory.
    return source is Source.GUARD


def mandatory_rules_of(index: Mapping[str, RuleMeta],
                       findings: Iterable[Finding]) -> Callable[[str], bool]:
    """``is_mandatory`` for the rules of one run: its packs, and the checks its findings name."""
    sources = {finding.rule_id: finding.source for finding in findings}

    def mandatory(rule_id: str) -> bool:
        meta = index.get(rule_id)
        return is_mandatory(rule_id, sources.get(rule_id), meta.mandatory if meta else None)

    return mandatory


def rules_for_report(packs: Sequence[RulePack]) -> tuple[RuleInfo, ...]:
    from blueprint.waivers import WAIVER_RULES

    own = [(LOADER_RULES, Source.LOADER), (SCHEMA_RULES, Source.SCHEMA),
           (WAIVER_RULES, Source.WAIVER)]
    infos = [RuleInfo(rule_id, source, title, mandatory=is_mandatory(rule_id, source))
             for rules, source in own for rule_id, title in rules.items()]
    infos += [RuleInfo(meta.rule_id, Source.GUARD, meta.title, meta.help,
                       is_mandatory(meta.rule_id, Source.GUARD, meta.mandatory))
              for meta in rule_index(packs).values()]
    return tuple(infos)

