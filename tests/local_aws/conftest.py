"""Fixtures for the local AWS endpoint tests: one endpoint per session, reset per test.

``aws`` is the product's endpoint, a child process (``local_aws_server`` of the
top-level conftest); ``in_process_aws`` serves moto on a thread of the test
process, for tests that look into moto's backends or the patches themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _local_aws_support import TIMINGS

from blueprint.local_aws.server import LocalAws, fake_aws_env, start_in_process


@pytest.fixture
def aws(local_aws_server: LocalAws) -> LocalAws:
    """The session's endpoint, emptied before the test."""
    local_aws_server.reset()
    return local_aws_server


@pytest.fixture(scope="session")
def in_process_aws_server() -> Iterator[LocalAws]:
    with fake_aws_env(), start_in_process() as server:
        yield server


@pytest.fixture
def in_process_aws(in_process_aws_server: LocalAws) -> LocalAws:
    """An endpoint in this process, emptied before the test."""
    in_process_aws_server.reset()
    return in_process_aws_server


@pytest.fixture
def cfn(aws: LocalAws) -> Any:
    return aws.client("cloudformation")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("local AWS timings")
        for key, value in TIMINGS.items():
            terminalreporter.write_line(f"{key}: {value:.3f}")
