"""Fixtures for the local AWS endpoint tests: one moto server per session, reset per test."""

from __future__ import annotations

from typing import Any

import pytest
from _local_aws_support import TIMINGS

from blueprint.local_aws.server import LocalAws


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
