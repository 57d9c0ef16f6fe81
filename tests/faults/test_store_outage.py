"""A database outage under load, on real MariaDB and real Cassandra: nothing lost, nothing left, a quiet log.

200 workflows (durable timers and an activity each) are in flight when the
database is stopped for 20 seconds with the project's own infra script, then
started again. Afterwards:

* every workflow finished with the right result and no history holds a
  duplicated event id;
* no client call (the starter's, the worker's) saw INTERNAL: an outage is
  UNAVAILABLE, which clients retry;
* no overdue timer task, no transfer task and no backlog task row is left in
  the store (deletes that failed during the outage are redone);
* the server logged fewer than 50 lines from the stop to the end.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from cassandra.cluster import Cluster

from legato import activity, workflow
from legato.client import Client, WorkflowHandle
from legato.exceptions import RPCError
from legato.worker import Worker
from legato_server.persistence.cassandra.shards import ROW_TIMER, ROW_TRANSFER
from legato_server.persistence.cassandra.task_queues import ROW_TASK
from tests import infra
from tests.store_servers import running_server_process

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = 200
OUTAGE_S = 20
MAX_OUTAGE_LOG_LINES = 50
SCRIPTS = {"mysql": "scripts/infra/mariadb.sh", "cassandra": "scripts/infra/cassandra.sh"}


@activity.defn
async def double(value: int) -> int:
    return value * 2


@workflow.defn
class OutageWorkflow:
    @workflow.run
    async def run(self, value: int) -> int:
        await asyncio.sleep(1 + value % 5)
        doubled = await workflow.execute_activity(double, value, start_to_close_timeout=timedelta(seconds=10))
        await asyncio.sleep(1)
        return doubled + 1


def _database(script: str, action: str) -> None:
    subprocess.run([str(REPO / script), action], check=True, capture_output=True, timeout=300)


async def _result(handle: WorkflowHandle[int], statuses: list[grpc.StatusCode]) -> int:
    """The workflow's result, asking again after retryable failures (recording every status seen)."""
    deadline = time.monotonic() + 300
    while True:
        try:
            return await handle.result()
        except RPCError as err:
            statuses.append(err.status)
            if err.status == grpc.StatusCode.INTERNAL or time.monotonic() > deadline:
                raise


def _leftovers(kind: str, database: str) -> dict[str, int]:
    """Rows that should be gone: overdue timer tasks, transfer tasks, backlog tasks."""
    overdue_before = int(time.time() * 1000) - 5_000
    if kind == "mysql":
        connection = infra.mysql_connect(database)
        try:
            with connection.cursor() as cursor:
                counts = {}
                for name, sql in (
                    (
                        "overdue timer tasks",
                        f"SELECT COUNT(*) FROM timer_tasks WHERE visibility_time_ms < {overdue_before}",
                    ),
                    ("transfer tasks", "SELECT COUNT(*) FROM transfer_tasks"),
                    ("backlog tasks", "SELECT COUNT(*) FROM queued_tasks"),
                ):
                    cursor.execute(sql)
                    counts[name] = int(cursor.fetchone()[0])
                return counts
        finally:
            connection.close()
    cluster = Cluster([infra.CASSANDRA_HOST], port=infra.CASSANDRA_PORT, protocol_version=5)
    try:
        session = cluster.connect(database)
        rows = list(session.execute("SELECT row_type, visibility_time_ms FROM executions"))
        tasks = list(session.execute("SELECT row_type FROM tasks"))
        return {
            "overdue timer tasks": sum(
                1 for r in rows if r.row_type == ROW_TIMER and r.visibility_time_ms < overdue_before
            ),
            "transfer tasks": sum(1 for r in rows if r.row_type == ROW_TRANSFER),
            "backlog tasks": sum(1 for r in tasks if r.row_type == ROW_TASK),
        }
    finally:
        cluster.shutdown()


@pytest.mark.parametrize("kind", ["mysql", "cassandra"])
async def test_a_database_outage_under_load_loses_nothing_and_leaves_nothing(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    {"mysql": infra.require_mysql, "cassandra": infra.require_cassandra}[kind]()
    caplog.set_level(logging.WARNING, logger="legato")
    async with running_server_process(kind, tmp_path) as server:
        log_file = server.log
        database = server.database
        client = await Client.connect(server.address)
        task_queue = f"outage-{kind}"
        statuses: list[grpc.StatusCode] = []
        async with Worker(client, task_queue=task_queue, workflows=[OutageWorkflow], activities=[double]):
            handles = [
                await client.start_workflow(OutageWorkflow.run, n, id=f"outage-{n}", task_queue=task_queue)
                for n in range(WORKFLOWS)
            ]
            lines_before = len(log_file.read_text().splitlines())
            _database(SCRIPTS[kind], "stop")
            try:
                await asyncio.sleep(OUTAGE_S)  # the outage itself, not a wait for a condition
            finally:
                _database(SCRIPTS[kind], "start")
            results = await asyncio.gather(*(_result(h, statuses) for h in handles))

        assert results == [n * 2 + 1 for n in range(WORKFLOWS)]
        assert grpc.StatusCode.INTERNAL not in statuses
        internal = [r.getMessage() for r in caplog.records if "internal error" in r.getMessage().lower()]
        assert internal == [], f"the worker saw INTERNAL: {internal[:3]}"
        for handle in handles[:: WORKFLOWS // 20]:
            ids = [e.event_id for e in (await handle.fetch_history()).events]
            assert ids == list(range(1, len(ids) + 1)), f"{handle.id}: event ids {ids}"

        deadline = time.monotonic() + 60
        while (left := await asyncio.to_thread(_leftovers, kind, database)) != {
            "overdue timer tasks": 0,
            "transfer tasks": 0,
            "backlog tasks": 0,
        }:
            assert time.monotonic() < deadline, f"rows left behind after the outage: {left}"
            await asyncio.sleep(1)

        outage_lines = log_file.read_text().splitlines()[lines_before:]
        assert len(outage_lines) < MAX_OUTAGE_LOG_LINES, "\n".join(outage_lines[:80])
        assert not any("Traceback" in line for line in outage_lines), "\n".join(outage_lines[:80])
