"""What each rule is: Guard rule names per pack, plus ``catalog.yaml`` metadata.

A pack is a directory of ``.guard`` files. Its optional ``catalog.yaml``
lists ``{id, title, help, hint, mandatory}`` per rule. Rules of the shipped
pack are always mandatory; rules of an added pack (``--rules DIR``) are
advisory unless its catalog marks them mandatory.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from blueprint.errors import ToolError
from blueprint.finding import RuleInfo, Source
from blueprint.guard import RulePack

# Reported rules are named in UPPER_SNAKE_CASE and take no parameters; lower-case
# and parameterised rules are helpers that cfn-guard does not report on their own.
_RULE_NAME = re.compile(r"^\s*rule\s+([A-Z][A-Z0-9_]*)\b(?!\s*\()", re.MULTILINE)

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
}


@dataclass(frozen=True)
class RuleMeta:
    rule_id: str
    title: str
    help: str
    hint: str | None
    mandatory: bool


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


def rules_for_report(packs: Sequence[RulePack]) -> tuple[RuleInfo, ...]:
    infos = [RuleInfo(rule_id, Source.LOADER, title) for rule_id, title in LOADER_RULES.items()]
    infos += [RuleInfo(rule_id, Source.SCHEMA, title, mandatory=True)
              for rule_id, title in SCHEMA_RULES.items()]
    from blueprint.waivers import WAIVER_RULES

    infos += [RuleInfo(rule_id, Source.WAIVER, title, mandatory=True)
              for rule_id, title in WAIVER_RULES.items()]
    infos += [RuleInfo(meta.rule_id, Source.GUARD, meta.title, meta.help, meta.mandatory)
              for meta in rule_index(packs).values()]
    return tuple(infos)

