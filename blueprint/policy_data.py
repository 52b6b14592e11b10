"""The organisation-swappable policy data in ``rules/data/`` (the instance-type allow-list).

The Guard rules read the same files through ``cfn-guard --input-params``;
this module is how the schema check and the expander read them, so the
allow-list lives in exactly one place.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from blueprint.errors import BlueprintError
from blueprint.resources import rules_dir

ALLOW_LIST_FILE = "instance-types.yaml"


def policy_data_dir() -> Path:
    return rules_dir() / "data"


@cache
def allowed_instance_types() -> tuple[str, ...]:
    path = policy_data_dir() / ALLOW_LIST_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise BlueprintError(f"cannot read the instance-type allow-list {path}: {err}") from err
    values = next((v for v in data.values() if isinstance(v, list)), None) \
        if isinstance(data, dict) else None
    if not values or not all(isinstance(v, str) for v in values):
        raise BlueprintError(f"{path} must map one key to a non-empty list of instance types")
    return tuple(values)
