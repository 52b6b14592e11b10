"""Shared fixtures, and which tests belong to the slow tier.

Plain ``pytest`` runs the default tier (``-m "not slow"`` in pyproject.toml);
``pytest -m "slow or not slow"`` (what ``scripts/test`` and CI run) runs both.
A test is slow when its owner marks it, or when it is in a module listed in
``SLOW_MODULES`` (property tests, fuzzing, pre-commit in fresh virtualenvs,
installs) or named in ``SLOW_TESTS``, or when it needs the local AWS endpoint
(a moto server).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from blueprint.local_aws.server import LocalAws, fake_aws_env, start_local_aws

TESTS = Path(__file__).resolve().parent

# Paths relative to tests/: a folder (ending in "/") covers every module below it.
SLOW_MODULES = (
    "local_aws/",
    "test_precommit.py",
    "test_install.py",
    "test_fuzz.py",
    "test_expander_properties.py",
)
# Single slow tests in modules that are otherwise fast: "module::function".
SLOW_TESTS = (
    # plain cfn-lint over every golden, seconds each; the default tier lints the same
    # renderings through `blueprint validate` (test_validate: every example is clean)
    "test_golden.py::test_goldens_pass_cfn_lint",
    # imports moto's EC2 data to cross-check the instance sizes
    "test_policy_data.py::test_sizes_match_ec2_as_moto_records_it",
    # several processes racing on one cache entry
    "test_cache.py::test_concurrent_processes_never_see_a_partial_entry",
    # a whole validate run in a subprocess, checked against the SARIF schema
    "formatters/test_sarif.py::test_a_real_validate_run_is_valid_sarif",
)
# Fixtures that start a server: any test needing one (directly or not) is slow.
SLOW_FIXTURES = frozenset({"local_aws_server"})


def is_slow(relative_path: str, fixture_names: set[str], function: str = "") -> bool:
    in_slow_module = any(
        relative_path.startswith(module) if module.endswith("/") else relative_path == module
        for module in SLOW_MODULES)
    return (in_slow_module or f"{relative_path}::{function}" in SLOW_TESTS
            or bool(SLOW_FIXTURES & fixture_names))


def _only_fast_tier(config: pytest.Config) -> bool:
    return " ".join(str(config.option.markexpr).split()) == "not slow"


def _named_below_tests(path: Path, config: pytest.Config) -> bool:
    """Whether the command line names this file, or a folder below tests/ holding it."""
    for arg in config.args:
        named = Path(arg.split("::")[0]).resolve()
        if named == path or (named != TESTS and TESTS in named.parents and named in path.parents):
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """In the default tier, do not even import a slow module (hypothesis strategies, moto)
    unless the command line names it (then it is collected, and shown deselected)."""
    if not _only_fast_tier(config) or collection_path.suffix != ".py":
        return None
    path = collection_path.resolve()
    try:
        relative = path.relative_to(TESTS).as_posix()
    except ValueError:
        return None
    if is_slow(relative, set()) and not _named_below_tests(path, config):
        return True
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        try:
            relative = item.path.resolve().relative_to(TESTS).as_posix()
        except ValueError:  # a test outside tests/ (e.g. given by path): leave it alone
            continue
        function = getattr(getattr(item, "function", None), "__name__", "")
        if item.get_closest_marker("slow") is None and is_slow(
                relative, set(getattr(item, "fixturenames", ())), function):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def local_aws_server() -> Iterator[LocalAws]:
    with fake_aws_env():
        server = start_local_aws()
        try:
            yield server
        finally:
            server.stop()
