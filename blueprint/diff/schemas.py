"""What CloudFormation can change in place, read from cfn-lint's bundled resource schemas.

A resource schema lists ``createOnlyProperties`` ("Update requires: Replacement")
and ``conditionalCreateOnlyProperties`` ("Replacement: Conditional"). The files
shipped inside the installed cfn-lint are read directly, not through its schema
manager, which prefers a newer download in ``~/.cache`` when there is one: the
same cfn-lint then always gives the same answer. The package is located without
importing it (importing cfn-lint takes seconds).
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

# The create-only lists are the same in every commercial, China and GovCloud region.
SCHEMA_REGION = "us-east-1"
_PREFIX = "/properties/"


@dataclass(frozen=True)
class CreateOnly:
    """Property paths (``A/B``, ``*`` for each list item) whose change replaces the resource."""

    always: tuple[str, ...] = ()
    conditional: tuple[str, ...] = ()


def _schemas_dir() -> Path | None:
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas"


@lru_cache(maxsize=1)
def _providers() -> dict[str, str]:
    directory = _schemas_dir()
    if directory is None:
        raise RuntimeError("cfn-lint is not installed: its resource schemas are needed")
    found: dict[str, str] = json.loads(
        (directory / "providers" / f"{SCHEMA_REGION}.json").read_text(encoding="utf-8"))
    return found


@cache
def resource_schema(resource_type: str) -> dict[str, Any] | None:
    """The CloudFormation schema of a type, or None for a type cfn-lint does not know
    (``Custom::*``)."""
    digest = _providers().get(resource_type)
    directory = _schemas_dir()
    if digest is None or directory is None:
        return None
    schema: dict[str, Any] = json.loads(
        (directory / "resources" / f"{digest}.json").read_text(encoding="utf-8"))
    return schema


@cache
def create_only(resource_type: str) -> CreateOnly:
    schema = resource_schema(resource_type) or {}
    return CreateOnly(_strip(schema.get("createOnlyProperties", [])),
                      _strip(schema.get("conditionalCreateOnlyProperties", [])))


def _strip(paths: list[str]) -> tuple[str, ...]:
    return tuple(p.removeprefix(_PREFIX) for p in paths if p.startswith(_PREFIX))


_MISSING = "<absent>"


def values_at(properties: Any, path: str) -> list[Any]:
    """Every value at ``path`` (one per list item under ``*``); ``<absent>`` where none is set."""
    found: list[Any] = []
    _walk(properties, path.split("/"), found)
    return found


def _walk(node: Any, parts: list[str], found: list[Any]) -> None:
    if not parts:
        found.append(node)
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        for item in node if isinstance(node, list) else []:
            _walk(item, rest, found)
    elif isinstance(node, dict) and head in node:
        _walk(node[head], rest, found)
    else:
        found.append(_MISSING)


def custom_name_property(resource_type: str) -> str | None:
    """The create-only property that names the resource (``ServiceName``, ``Name``...), if any.

    CloudFormation cannot replace a resource whose custom name stays the same.
    """
    always = create_only(resource_type).always
    suffix = resource_type.rsplit("::", 1)[-1]
    for candidate in (f"{suffix}Name", _NAME_OVERRIDES.get(resource_type), "Name"):
        if candidate and candidate in always:
            return candidate
    return None


# Types whose name property does not follow "<Type>Name".
_NAME_OVERRIDES = {
    "AWS::EC2::SecurityGroup": "GroupName",
    "AWS::ECS::TaskDefinition": None,  # a family gets new revisions: replacing is routine
}
