"""Every sample runs, as a user would run it, against a real server on every store.

Each sample is executed as its own process (``python samples/X.py``) with
LEGATO_ADDRESS pointing at a real server started for this module - the dev
server on SQLite, and ``legato-server start`` on MySQL and on Cassandra - and
its printed outcome is checked. Between them the samples exercise activities,
retries with heartbeats, timers, signals, queries, child workflows,
cancellation and continue-as-new: the SDK's features on each production store.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.store_servers import STORES, running_server

SAMPLES = Path(__file__).resolve().parents[2] / "samples"

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=STORES)
async def address(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    async with running_server(request.param, tmp_path_factory.mktemp(request.param)) as address:
        yield address


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        pytest.param("hello_activity.py", "Workflow result: Hello, World!", id="hello-activity"),
        pytest.param(
            "local_activity.py", "Signed up: ada@example.org (example.org): approved", id="local-activity"
        ),
        pytest.param("signals_queries.py", "Approved by: alice, bob", id="signals-and-queries"),
        pytest.param(
            "updates.py",
            "Sold 6 seats, 2 left; rejected: only 3 seats left, asked for 10",
            id="updates",
        ),
        pytest.param("child_workflows.py", "1^2 + 2^2 + 3^2 + 4^2 = 30", id="child-workflows"),
        pytest.param(
            "saga.py", "rolled back: cancelled hotel for lisbon; cancelled flight for lisbon", id="saga"
        ),
        pytest.param("timer_cancellation.py", "cleanup: released table for two", id="timer-cancellation"),
        pytest.param("continue_as_new.py", "counted to 10", id="continue-as-new"),
        pytest.param(
            "heartbeat_retry.py",
            "attempt 2 resumed at item 6 and finished 10 items",
            id="heartbeat-retry",
        ),
    ],
)
async def test_sample_runs(address: str, sample: str, expected: str) -> None:
    env = {**os.environ, "LEGATO_ADDRESS": address}
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(SAMPLES / sample)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"{sample} failed:\n{proc.stdout}\n{proc.stderr}"
    assert expected in proc.stdout, proc.stdout
