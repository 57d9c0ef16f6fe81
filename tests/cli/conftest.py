"""Fixtures of the CLI tests: one dev server per session (see ``harness``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli.harness import Cli, DevServer, start_dev_server


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    with start_dev_server(tmp_path_factory.mktemp("dev-server")) as server:
        yield server


@pytest.fixture
def cli(dev_server: DevServer) -> Cli:
    return Cli(dev_server.address)
