"""The policy data in rules/data/: the allow-list and the size of every type on it."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from blueprint import policy_data
from blueprint import resources as blueprint_resources
from blueprint.errors import EXIT_CANNOT_CHECK, BlueprintError
from blueprint.loader import load_text
from blueprint.policy_data import (
    SIZES_FILE,
    SIZES_KEY,
    InstanceSize,
    allowed_instance_types,
    instance_size,
    instance_sizes,
)
from blueprint.schema import check_blueprint

REPO_DATA = Path(__file__).resolve().parents[1] / "rules" / "data"


@cache
def _moto_instance_types() -> dict[str, Any]:
    """moto's offline dump of EC2 DescribeInstanceTypes, the source instance-sizes.yaml
    was generated from (moto is a test dependency, so this never skips)."""
    dump = resources.files("moto.ec2") / "resources" / "instance_types.json.gz"
    types: dict[str, Any] = json.loads(gzip.decompress(dump.read_bytes()))
    return types


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    """Forget cached data before and after a test that points the loaders elsewhere."""
    def clear() -> None:
        blueprint_resources.data_dir.cache_clear()
        allowed_instance_types.cache_clear()
        instance_sizes.cache_clear()

    clear()
    yield
    clear()


def test_every_allow_listed_type_has_a_size_and_nothing_else_does() -> None:
    assert set(instance_sizes()) == set(allowed_instance_types())


@pytest.mark.parametrize("instance_type", allowed_instance_types())
def test_sizes_match_ec2_as_moto_records_it(instance_type: str) -> None:
    ec2 = _moto_instance_types()[instance_type]
    assert instance_size(instance_type) == InstanceSize(
        vcpus=ec2["VCpuInfo"]["DefaultVCpus"], memory_mib=ec2["MemoryInfo"]["SizeInMiB"])


@pytest.mark.parametrize(("instance_type", "units", "usable"), [
    ("c5.xlarge", 4096, 7536),     # 8 GiB: floor(0.92 * 8192)
    ("t3.medium", 2048, 3768),
    ("m6i.large", 2048, 7536),
    ("r7i.4xlarge", 16384, 120586),
])
def test_what_a_task_may_use(instance_type: str, units: int, usable: int) -> None:
    size = instance_size(instance_type)
    assert (size.cpu_units, size.usable_memory_mib) == (units, usable)


def test_sizes_load_from_the_wheel_layout(tmp_path: Path, fresh_caches: None,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed wheel has rules/ as blueprint/_data/rules (pyproject force-include)."""
    package = tmp_path / "blueprint"
    shutil.copytree(REPO_DATA, package / "_data" / "rules" / "data")
    monkeypatch.setattr(blueprint_resources, "_PACKAGE_DIR", package)
    assert policy_data.policy_data_dir() == package / "_data" / "rules" / "data"
    assert instance_size("c5.xlarge") == InstanceSize(vcpus=4, memory_mib=8192)


def _swap_sizes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(REPO_DATA / "instance-types.yaml", data)
    (data / SIZES_FILE).write_text(text, encoding="utf-8")
    monkeypatch.setattr(policy_data, "policy_data_dir", lambda: data)


@pytest.mark.parametrize("text", [
    "",
    "Other: {}\n",
    f"{SIZES_KEY}: [c5.xlarge]\n",
    f"{SIZES_KEY}:\n  c5.xlarge: {{vcpus: 4}}\n",
    f"{SIZES_KEY}:\n  c5.xlarge: {{vcpus: 0, memoryMiB: 8192}}\n",
    f"{SIZES_KEY}:\n  c5.xlarge: {{vcpus: true, memoryMiB: 8192}}\n",
    f"{SIZES_KEY}:\n  c5.xlarge: {{vcpus: 4, memoryMiB: '8192'}}\n",
    f"{SIZES_KEY}: [unclosed\n",
])
def test_a_malformed_sizes_file_cannot_check(text: str, tmp_path: Path, fresh_caches: None,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _swap_sizes(tmp_path, monkeypatch, text)
    with pytest.raises(BlueprintError) as caught:
        instance_sizes()
    assert caught.value.exit_code == EXIT_CANNOT_CHECK
    assert SIZES_FILE in caught.value.message


def test_an_allow_listed_type_without_a_size_cannot_be_checked(
        tmp_path: Path, fresh_caches: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A swapped allow-list that outgrows the sizes stops the check; it is no finding."""
    _swap_sizes(tmp_path, monkeypatch, yaml.safe_dump(
        {SIZES_KEY: {"m5.large": {"vcpus": 2, "memoryMiB": 8192}}}))
    doc, _ = load_text("b.yml", "blueprint: v1\nname: demo\nservice:\n  image: nginx\n")
    assert doc is not None
    with pytest.raises(BlueprintError) as caught:
        check_blueprint(doc)
    assert "no size for c6i.xlarge" in caught.value.message
    assert caught.value.hint is not None and "memoryMiB" in caught.value.hint
