"""The organisation-swappable policy data in ``rules/data/``: the instance-type allow-list
and the size of every type on it.

The Guard rules read the same files through ``cfn-guard --input-params``;
this module is how the schema check and the expander read them, so the
allow-list lives in exactly one place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from blueprint.errors import BlueprintError
from blueprint.resources import rules_dir

ALLOW_LIST_FILE = "instance-types.yaml"
SIZES_FILE = "instance-sizes.yaml"
SIZES_KEY = "BlueprintInstanceSizes"

CPU_UNITS_PER_VCPU = 1024  # ECS ContainerDefinition.cpu: "multiplying the vCPUs ... by 1,024"
# The ECS agent registers the memory the OS reports, not the installed memory ("platform
# memory overhead and memory occupied by the system kernel"): 7985 of 8192 MiB, about
# 97.5%, in AWS's m4.large example, and a task asking for more than is registered is never
# placed (docs.aws.amazon.com/AmazonECS/latest/developerguide/memory-management.html).
# One data point only, so the check assumes a conservative 92% is usable.
USABLE_MEMORY_FACTOR = 0.92


@dataclass(frozen=True)
class InstanceSize:
    vcpus: int
    memory_mib: int

    @property
    def cpu_units(self) -> int:
        """The most CPU units a task on this instance type can ask for."""
        return self.vcpus * CPU_UNITS_PER_VCPU

    @property
    def usable_memory_mib(self) -> int:
        """The most memory (MiB) a task on this instance type can safely ask for."""
        return math.floor(USABLE_MEMORY_FACTOR * self.memory_mib)


def policy_data_dir() -> Path:
    return rules_dir() / "data"


def _read(name: str, what: str) -> Any:
    path = policy_data_dir() / name
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, yaml.YAMLError) as err:
        raise BlueprintError(f"cannot read the {what} {path}: {err}") from err


@cache
def allowed_instance_types() -> tuple[str, ...]:
    data = _read(ALLOW_LIST_FILE, "instance-type allow-list")
    values = next((v for v in data.values() if isinstance(v, list)), None) \
        if isinstance(data, dict) else None
    if not values or not all(isinstance(v, str) for v in values):
        raise BlueprintError(f"{policy_data_dir() / ALLOW_LIST_FILE} must map one key to a "
                             "non-empty list of instance types")
    return tuple(values)


@cache
def instance_sizes() -> Mapping[str, InstanceSize]:
    """vCPUs and memory of each instance type ``rules/data/instance-sizes.yaml`` lists."""
    data = _read(SIZES_FILE, "instance sizes")
    entries = data.get(SIZES_KEY) if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise BlueprintError(f"{policy_data_dir() / SIZES_FILE} must map {SIZES_KEY} to "
                             "instance types")
    sizes = {}
    for name, entry in entries.items():
        if not (isinstance(entry, dict) and _positive_int(entry.get("vcpus"))
                and _positive_int(entry.get("memoryMiB"))):
            raise BlueprintError(f"{policy_data_dir() / SIZES_FILE}: {name} needs whole "
                                 "positive numbers vcpus and memoryMiB")
        sizes[str(name)] = InstanceSize(entry["vcpus"], entry["memoryMiB"])
    return sizes


def instance_size(instance_type: str) -> InstanceSize:
    """The size of an allow-listed instance type; a type without one cannot be checked."""
    size = instance_sizes().get(instance_type)
    if size is None:
        raise BlueprintError(
            f"{policy_data_dir() / SIZES_FILE} has no size for {instance_type}, "
            "which the allow-list permits",
            hint="add its vcpus and memoryMiB (EC2 DescribeInstanceTypes) next to the others")
    return size


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
