"""Run lifecycle: continue-as-new, children, external signals/cancels, timeouts, retries, cron, retention."""

from __future__ import annotations

import pytest

from legato.api.v1 import common_pb2, enums_pb2
from legato_server.common.errors import NotFound
from legato_server.history.workflow.events import duration
from tests.server.history import commands as cmd
from tests.server.history.conftest import Harness

ET = enums_pb2.EventType


async def _events_of(harness: Harness, workflow_id: str, run_id: str = "") -> list[str]:
    return await harness.event_types(workflow_id, run_id)


async def _wait_for_event(harness: Harness, workflow_id: str, name: str, run_id: str = "") -> None:
    for _ in range(1000):
        if name in await harness.event_types(workflow_id, run_id):
            return
        await harness.clock.advance(0)
    raise AssertionError(f"{workflow_id} never got {name}")


async def test_continue_as_new_closes_the_run_and_starts_the_next(harness: Harness) -> None:
    first = await harness.start("wf", memo=common_pb2.Memo(fields={"k": common_pb2.Payload(data=b"v")}))
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.continue_as_new(b"round-2"))
    closing = (await harness.history("wf", first))[-1]
    assert closing.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    new_run = closing.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    described = await harness.describe("wf")
    assert described.workflow_execution_info.execution.run_id == new_run
    started = (await harness.history("wf", new_run))[0].workflow_execution_started_event_attributes
    assert started.continued_execution_run_id == first
    assert started.input.payloads[0].data == b"round-2"
    assert started.first_execution_run_id == first
    assert started.memo.fields["k"].data == b"v"
    task = await harness.poll_workflow_task("wf")
    assert task.workflow_execution.run_id == new_run


async def test_child_workflow_start_and_completion_reach_the_parent(harness: Harness) -> None:
    await harness.start("parent")
    task = await harness.poll_workflow_task("parent")
    await harness.complete_workflow_task(task, cmd.start_child("child"))
    await _wait_for_event(harness, "parent", "CHILD_WORKFLOW_EXECUTION_STARTED")
    child_started = (await harness.history("child"))[0].workflow_execution_started_event_attributes
    assert child_started.parent_workflow_execution.workflow_id == "parent"
    assert child_started.parent_initiated_event_id == 5
    described = await harness.describe("parent")
    assert [c.workflow_id for c in described.pending_children] == ["child"]

    child_task = await harness.poll_workflow_task("child")
    await harness.complete_workflow_task(child_task, cmd.complete(b"child-result"))
    await _wait_for_event(harness, "parent", "CHILD_WORKFLOW_EXECUTION_COMPLETED")
    events = await harness.history("parent")
    completed = next(e for e in events if e.event_type == ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED)
    attrs = completed.child_workflow_execution_completed_event_attributes
    assert attrs.result.payloads[0].data == b"child-result"
    assert attrs.initiated_event_id == 5
    started_event = next(e for e in events if e.event_type == ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
    assert attrs.started_event_id == started_event.event_id
    assert (await harness.describe("parent")).pending_children == []


async def test_child_start_fails_when_the_id_is_taken(harness: Harness) -> None:
    await harness.start("child")
    await harness.start("parent")
    task = await harness.poll_workflow_task("parent")
    await harness.complete_workflow_task(task, cmd.start_child("child"))
    await _wait_for_event(harness, "parent", "START_CHILD_WORKFLOW_EXECUTION_FAILED")
    failed = next(
        e
        for e in await harness.history("parent")
        if e.event_type == ET.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED
    )
    assert failed.start_child_workflow_execution_failed_event_attributes.cause == "WORKFLOW_ALREADY_EXISTS"


async def test_parent_close_terminates_open_children(harness: Harness) -> None:
    await harness.start("parent")
    task = await harness.poll_workflow_task("parent")
    await harness.complete_workflow_task(task, cmd.start_child("child"))
    await _wait_for_event(harness, "parent", "CHILD_WORKFLOW_EXECUTION_STARTED")
    task = await harness.poll_workflow_task("parent")
    await harness.complete_workflow_task(task, cmd.complete())
    await _wait_for_event(harness, "child", "WORKFLOW_EXECUTION_TERMINATED")


async def test_signal_and_cancel_external(harness: Harness) -> None:
    await harness.start("target")
    await harness.start("source")
    task = await harness.poll_workflow_task("source")
    await harness.complete_workflow_task(
        task, cmd.signal_external("target", "ping"), cmd.cancel_external("target")
    )
    await _wait_for_event(harness, "source", "EXTERNAL_WORKFLOW_EXECUTION_SIGNALED")
    await _wait_for_event(harness, "source", "EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED")
    target = await harness.history("target")
    signaled = next(e for e in target if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    assert signaled.workflow_execution_signaled_event_attributes.signal_name == "ping"
    cancel = next(e for e in target if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    assert (
        cancel.workflow_execution_cancel_requested_event_attributes.external_workflow_execution.workflow_id
        == "source"
    )


async def test_signal_external_to_missing_workflow_fails(harness: Harness) -> None:
    await harness.start("source")
    task = await harness.poll_workflow_task("source")
    await harness.complete_workflow_task(task, cmd.signal_external("nobody"))
    await _wait_for_event(harness, "source", "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED")


async def test_cancel_external_to_missing_workflow_fails(harness: Harness) -> None:
    await harness.start("source")
    task = await harness.poll_workflow_task("source")
    await harness.complete_workflow_task(task, cmd.cancel_external("nobody"))
    await _wait_for_event(harness, "source", "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED")
    events = await harness.history("source")
    failed = next(
        e for e in events if e.event_type == ET.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED
    )
    attrs = failed.request_cancel_external_workflow_execution_failed_event_attributes
    assert attrs.cause == "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"
    assert attrs.workflow_execution.workflow_id == "nobody"
    assert attrs.initiated_event_id > 0


async def test_run_timeout_times_out_the_workflow(harness: Harness) -> None:
    await harness.start("wf", workflow_run_timeout=duration(60))
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task)
    await harness.clock.advance(61)
    await _wait_for_event(harness, "wf", "WORKFLOW_EXECUTION_TIMED_OUT")
    assert (
        await harness.describe("wf")
    ).workflow_execution_info.status == enums_pb2.WORKFLOW_EXECUTION_STATUS_TIMED_OUT


async def test_failed_workflow_is_retried_per_its_retry_policy(harness: Harness) -> None:
    first = await harness.start(
        "wf", retry_policy=common_pb2.RetryPolicy(initial_interval=duration(10), maximum_attempts=2)
    )
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.fail("bad"))
    failed = (await harness.history("wf", first))[-1].workflow_execution_failed_event_attributes
    assert failed.new_execution_run_id and failed.retry_state == enums_pb2.RETRY_STATE_IN_PROGRESS
    second_started = (await harness.history("wf", failed.new_execution_run_id))[0]
    attrs = second_started.workflow_execution_started_event_attributes
    assert attrs.attempt == 2 and attrs.initiator == enums_pb2.CONTINUE_AS_NEW_INITIATOR_RETRY
    assert attrs.first_workflow_task_backoff.seconds == 10
    await harness.clock.advance(10)
    task = await harness.poll_workflow_task("wf")
    assert task.workflow_execution.run_id == failed.new_execution_run_id
    await harness.complete_workflow_task(task, cmd.fail("bad again"))
    last = (await harness.history("wf"))[-1].workflow_execution_failed_event_attributes
    assert not last.new_execution_run_id
    assert last.retry_state == enums_pb2.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED


async def test_cron_workflow_runs_on_schedule(harness: Harness) -> None:
    # The fake clock starts at 2027-01-15 08:00:00 UTC; "*/10 * * * *" fires at :10, :20, ...
    first = await harness.start("wf", cron_schedule="*/10 * * * *")
    started = (await harness.history("wf"))[0].workflow_execution_started_event_attributes
    backoff = started.first_workflow_task_backoff.seconds
    assert 0 < backoff <= 600
    await harness.clock.advance(backoff)
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.complete(b"r1"))
    completed = (await harness.history("wf", first))[-1].workflow_execution_completed_event_attributes
    assert completed.new_execution_run_id
    nxt = (await harness.history("wf", completed.new_execution_run_id))[
        0
    ].workflow_execution_started_event_attributes
    assert nxt.initiator == enums_pb2.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
    assert nxt.last_completion_result.payloads[0].data == b"r1"
    assert nxt.first_workflow_task_backoff.seconds == 600


async def test_closed_run_is_deleted_after_retention(harness: Harness) -> None:
    run_id = await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.complete())
    await harness.clock.advance(24 * 3600 + 1)  # the fake namespace keeps runs for a day

    async def gone() -> bool:
        try:
            await harness.describe("wf", run_id)
        except NotFound:
            return True
        return False

    for _ in range(200):
        if await gone():
            break
        await harness.clock.advance(1)
    assert await gone()
    with pytest.raises(NotFound):
        await harness.history("wf", run_id)


async def test_visibility_records_start_and_close(harness: Harness) -> None:
    from legato_server.persistence.interface import VisibilityFilter
    from tests.server.history.conftest import NS_ID

    run_id = await harness.start("wf")

    async def records() -> list:  # type: ignore[type-arg]
        found, _ = await harness.persistence.visibility.list_executions(
            namespace_id=NS_ID, filter=VisibilityFilter(workflow_id="wf"), page_size=10
        )
        return found

    for _ in range(100):
        if await records():
            break
        await harness.clock.advance(0)
    [running] = await records()
    assert running.run_id == run_id and running.status == enums_pb2.WORKFLOW_EXECUTION_STATUS_RUNNING
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.complete())
    for _ in range(100):
        if (await records())[0].status == enums_pb2.WORKFLOW_EXECUTION_STATUS_COMPLETED:
            break
        await harness.clock.advance(0)
    [closed] = await records()
    assert closed.status == enums_pb2.WORKFLOW_EXECUTION_STATUS_COMPLETED
    assert closed.close_time_ms == harness.clock.now_ms()
    assert closed.history_length == 5
