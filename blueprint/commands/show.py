"""``blueprint show FILE [--env NAME]``: the effective blueprint, and where each value came from.

The output is YAML (it loads back to the effective blueprint with every
default filled in); each line ends in a comment naming its origin:
``# default``, ``# base line 12`` or ``# override (prod) line 31``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import yaml

from blueprint import environments
from blueprint.api import load_effective
from blueprint.commands._common import report_problems
from blueprint.environments import DEFAULT_ORIGIN, ValueOrigin
from blueprint.loader import Path
from blueprint.model import apply_defaults
from blueprint.schema import load_schema

OriginOf = Callable[[Path], ValueOrigin]
COMMENT_COLUMN_MAX = 64  # values longer than this push their comment further right


def run(path: str, *, env: str | None = None) -> int:
    doc, chosen, blueprint, findings = load_effective(path, env)
    if doc is None or blueprint is None:
        return report_problems(path, findings)
    schema = load_schema()
    if chosen is None:
        origins = environments.base_origins(doc)
        data = doc.data
        header = f"# {path}: the blueprint with every default filled in"
    else:
        origins = dict(chosen.origins)
        data = chosen.data
        header = (f"# {path}, environment {chosen.name}: stack {chosen.stack_name}, "
                  f"account {chosen.account}, region {chosen.region}")
    full = apply_defaults(schema, data)
    body = annotated_yaml(full, lambda p: origins.get(p, DEFAULT_ORIGIN), schema)
    sys.stdout.write(f"{header}\n{body}")
    return 0


def annotated_yaml(data: dict[str, Any], origin_of: OriginOf,
                   schema: dict[str, Any] | None = None) -> str:
    """``data`` as block YAML, each line commented with ``origin_of(its path).describe()``."""
    lines = _mapping_lines(data, (), 0, origin_of, schema or {})
    width = min(max((len(text) for text, _ in lines), default=0), COMMENT_COLUMN_MAX)
    return "".join(f"{text.ljust(width)}  # {comment}\n" for text, comment in lines)


def _mapping_lines(data: dict[str, Any], path: Path, indent: int, origin_of: OriginOf,
                   schema: dict[str, Any]) -> list[tuple[str, str]]:
    pad = " " * indent
    lines: list[tuple[str, str]] = []
    for key in _ordered(data, schema):
        child, child_path = data[key], (*path, key)
        label = origin_of(child_path).describe()
        child_schema = _child_schema(schema, key)
        if isinstance(child, dict) and child:
            lines.append((f"{pad}{_scalar(key)}:", label))
            lines += _mapping_lines(child, child_path, indent + 2, origin_of, child_schema)
        elif isinstance(child, list) and child:
            lines.append((f"{pad}{_scalar(key)}:", label))
            lines += _list_lines(child, child_path, indent + 2, origin_of, child_schema)
        else:
            lines.append((f"{pad}{_scalar(key)}: {_scalar(child)}", label))
    return lines


def _list_lines(items: list[Any], path: Path, indent: int, origin_of: OriginOf,
                schema: dict[str, Any]) -> list[tuple[str, str]]:
    pad = " " * indent
    item_schema = schema.get("items") if isinstance(schema.get("items"), dict) else {}
    lines: list[tuple[str, str]] = []
    for index, item in enumerate(items):
        item_path = (*path, index)
        if isinstance(item, dict) and item:
            nested = _mapping_lines(item, item_path, indent + 2, origin_of, item_schema or {})
            first, comment = nested[0]
            lines.append((f"{pad}- {first[indent + 2:]}", comment))
            lines += nested[1:]
        elif isinstance(item, list) and item:
            lines.append((f"{pad}-", origin_of(item_path).describe()))
            lines += _list_lines(item, item_path, indent + 2, origin_of, item_schema or {})
        else:
            lines.append((f"{pad}- {_scalar(item)}", origin_of(item_path).describe()))
    return lines


def _ordered(data: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """The schema's order of properties (the order the format documents), then the rest."""
    known = [key for key in schema.get("properties", {}) if key in data]
    return known + [key for key in data if key not in known]


def _child_schema(schema: dict[str, Any], key: str) -> dict[str, Any]:
    found = schema.get("properties", {}).get(key)
    if not isinstance(found, dict):
        found = schema.get("additionalProperties")
    return found if isinstance(found, dict) else {}


def _scalar(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"  # an empty mapping (a non-empty one is written as a block)
    if isinstance(value, list):
        return "[]"
    if isinstance(value, str):
        dumped = yaml.safe_dump({"k": value}, default_flow_style=False, width=2**31,
                                allow_unicode=True).rstrip("\n")
        if dumped.startswith("k: ") and "\n" not in dumped:
            return dumped[3:]
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML string
    return json.dumps(value)
