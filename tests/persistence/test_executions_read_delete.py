"""Reading runs that do not exist, and deleting runs with their history and current row."""

from __future__ import annotations

import pytest

from legato_server.persistence.interface import CreateMode, NotFoundError, Persistence, ShardInfo
from tests.persistence.builders import (
    batch,
    close_run,
    find_current,
    find_run,
    history_of,
    new_run,
    start_run,
)


async def test_missing_run_and_missing_current_row_raise_not_found(
    persistence: Persistence, shard: ShardInfo
) -> None:
    run = new_run()

    with pytest.raises(NotFoundError):
        await persistence.executions.get_workflow_execution(
            shard_id=shard.shard_id,
            namespace_id=run.namespace_id,
            workflow_id=run.workflow_id,
            run_id=run.run_id,
        )
    with pytest.raises(NotFoundError):
        await persistence.executions.get_current_execution(
            shard_id=shard.shard_id, namespace_id=run.namespace_id, workflow_id=run.workflow_id
        )


async def test_runs_are_scoped_by_shard(persistence: Persistence, shard: ShardInfo) -> None:
    run = new_run()
    await start_run(persistence, shard, run)

    assert await find_run(persistence, shard.shard_id + 1, run) is None
    assert await find_current(persistence, shard.shard_id + 1, run) is None


async def test_delete_removes_run_history_and_the_current_row_naming_it(
    persistence: Persistence, shard: ShardInfo
) -> None:
    run = new_run()
    await start_run(persistence, shard, run)
    await close_run(persistence, shard, run)

    await persistence.executions.delete_workflow_execution(
        shard_id=shard.shard_id, namespace_id=run.namespace_id, workflow_id=run.workflow_id, run_id=run.run_id
    )

    assert await find_run(persistence, shard.shard_id, run) is None
    assert await find_current(persistence, shard.shard_id, run) is None
    assert await history_of(persistence, run) == []


async def test_delete_of_an_older_run_keeps_the_current_row_of_the_newer(
    persistence: Persistence, shard: ShardInfo
) -> None:
    old = new_run()
    await start_run(persistence, shard, old)
    await close_run(persistence, shard, old)
    newer = old.with_new_run_id()
    await start_run(persistence, shard, newer, mode=CreateMode.WORKFLOW_ID_REUSE, previous_run_id=old.run_id)

    await persistence.executions.delete_workflow_execution(
        shard_id=shard.shard_id, namespace_id=old.namespace_id, workflow_id=old.workflow_id, run_id=old.run_id
    )

    assert await find_run(persistence, shard.shard_id, old) is None
    current = await find_current(persistence, shard.shard_id, newer)
    assert current is not None and current.run_id == newer.run_id
    assert await find_run(persistence, shard.shard_id, newer) is not None
    assert await history_of(persistence, newer) == [batch(newer, 1, 2)]


async def test_delete_of_a_missing_run_is_not_an_error(persistence: Persistence, shard: ShardInfo) -> None:
    run = new_run()

    await persistence.executions.delete_workflow_execution(
        shard_id=shard.shard_id, namespace_id=run.namespace_id, workflow_id=run.workflow_id, run_id=run.run_id
    )

    assert await find_run(persistence, shard.shard_id, run) is None
