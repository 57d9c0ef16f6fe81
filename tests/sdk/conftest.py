"""Fixtures for the SDK tests.

The integration tests (``tests/sdk/integration``) run against a real
``legato-server start-dev --in-memory`` started once per session by
``legato.testing``; they share the session's event loop, since the client's
gRPC channel belongs to the loop it was created on. If the server cannot be
started the integration tests fail in CI and are skipped elsewhere, with the
server's output as the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from legato.client import Client
from legato.testing import ServerStartError, WorkflowEnvironment, start_local_environment

IN_CI = bool(os.environ.get("CI"))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    try:
        environment = await start_local_environment(startup_timeout=60.0)
    except (ServerStartError, FileNotFoundError) as err:
        message = f"could not start legato-server start-dev for the SDK integration tests: {err}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield environment
    finally:
        await environment.shutdown()


@pytest.fixture
def client(env: WorkflowEnvironment) -> Client:
    return env.client


@pytest.fixture
def task_queue(request: pytest.FixtureRequest) -> str:
    """A queue of this test's own, so workers of different tests never take each other's tasks."""
    return f"tq-{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def workflow_id(request: pytest.FixtureRequest) -> str:
    return f"wf-{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"
