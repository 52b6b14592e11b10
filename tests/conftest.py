"""Shared fixtures: a local AWS endpoint (moto server on 127.0.0.1) for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from blueprint.local_aws.server import LocalAws, fake_aws_env, start_local_aws


@pytest.fixture(scope="session")
def local_aws_server() -> Iterator[LocalAws]:
    with fake_aws_env():
        server = start_local_aws()
        try:
            yield server
        finally:
            server.stop()
