"""Fixtures for the local AWS endpoint tests: one moto server per session, reset per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # the package may not be installed in the venv
    sys.path.insert(0, str(REPO_ROOT))

from _local_aws_support import TIMINGS  # noqa: E402

from blueprint.local_aws.server import LocalAws, fake_aws_env, start_local_aws  # noqa: E402


@pytest.fixture(scope="session")
def local_aws_server() -> Iterator[LocalAws]:
    with fake_aws_env():
        server = start_local_aws()
        TIMINGS["session server start, moto already imported (s)"] = server.started_seconds
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def aws(local_aws_server: LocalAws) -> LocalAws:
    """The session's endpoint, emptied before the test."""
    local_aws_server.reset()
    return local_aws_server


@pytest.fixture
def cfn(aws: LocalAws) -> Any:
    return aws.client("cloudformation")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("local AWS timings")
        for key, value in TIMINGS.items():
            terminalreporter.write_line(f"{key}: {value:.3f}")
