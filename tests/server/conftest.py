"""A real Legato server for tests: every role in-process, real gRPC, in-memory SQLite.

Fixtures (function-scoped; each test gets a fresh server and database):

* ``running_server`` -> ``RunningServer`` (``.address``, ``.namespaces``,
  ``.matching``, ``.persistence``, ...), with the ``default`` namespace.
* ``server_address_and_stub`` -> ``(address, WorkflowServiceStub)`` over a
  channel to it: what most API tests need.
* ``grpc_channel`` -> the ``grpc.aio.Channel`` behind that stub.

Other test folders can use them by importing from here in their own
conftest (``from tests.server.conftest import *``) or by living under
``tests/server/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import pytest

from legato.api.v1 import workflow_service_pb2_grpc
from legato_server.matching import MatchingConfig
from legato_server.persistence.config import PersistenceConfig, SQLiteConfig
from legato_server.server import RunningServer, ServerConfig, start_server

DEFAULT_NAMESPACE = "default"


def server_config_for_tests(**overrides: object) -> ServerConfig:
    """A ServerConfig for tests: free port, in-memory SQLite, the default namespace, short polls."""
    values: dict[str, object] = {
        "port": 0,
        "persistence": PersistenceConfig(kind="sqlite", sqlite=SQLiteConfig(path=None)),
        "namespaces": (DEFAULT_NAMESPACE,),
        "matching": MatchingConfig(poll_timeout=timedelta(seconds=10)),
        "shutdown_grace": timedelta(seconds=1),
    }
    values.update(overrides)
    return ServerConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
async def running_server() -> AsyncIterator[RunningServer]:
    server = await start_server(server_config_for_tests())
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def grpc_channel(running_server: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(running_server.address) as channel:
        yield channel


@pytest.fixture
async def server_address_and_stub(
    running_server: RunningServer, grpc_channel: grpc.aio.Channel
) -> tuple[str, workflow_service_pb2_grpc.WorkflowServiceStub]:
    return running_server.address, workflow_service_pb2_grpc.WorkflowServiceStub(grpc_channel)
