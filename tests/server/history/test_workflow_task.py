"""Workflow tasks: started, completed with commands, failed, timeouts, sticky queues, buffering."""

from __future__ import annotations

import pytest

from legato.api.v1 import common_pb2, enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import InvalidArgument, NotFound
from legato_server.history.workflow.events import duration
from tests.server.history import commands as cmd
from tests.server.history.conftest import Harness


async def test_record_started_returns_full_history_and_token(harness: Harness) -> None:
    run_id = await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    assert task.task_token
    assert task.workflow_execution.run_id == run_id
    assert task.workflow_type.name == "MyWorkflow"
    assert task.started_event_id == 3 and task.previous_started_event_id == 0 and task.attempt == 1
    assert [e.event_id for e in task.history.events] == [1, 2, 3]


async def test_record_started_is_idempotent_by_request_id(harness: Harness) -> None:
    await harness.start("wf")
    dispatch = await harness.next_workflow_task_dispatch("wf")
    first = await harness.record_workflow_task_started(dispatch, request_id="poll-1")
    again = await harness.record_workflow_task_started(dispatch, request_id="poll-1")
    assert again.task_token == first.task_token
    with pytest.raises(NotFound):
        await harness.record_workflow_task_started(dispatch, request_id="poll-2")


async def test_complete_with_activity_and_timer_writes_events_and_tasks(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(
        task, cmd.schedule_activity("a1"), cmd.start_timer("t1", 30), cmd.record_marker()
    )
    assert await harness.event_types("wf") == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "ACTIVITY_TASK_SCHEDULED",
        "TIMER_STARTED",
        "MARKER_RECORDED",
    ]
    dispatch = await harness.next_activity_dispatch("wf")
    assert dispatch.scheduled_event_id == 5
    described = await harness.describe("wf")
    assert [a.activity_id for a in described.pending_activities] == ["a1"]


async def test_complete_workflow_closes_it(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.complete(b"result"))
    events = await harness.history("wf")
    assert events[-1].event_type == enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert events[-1].workflow_execution_completed_event_attributes.result.payloads[0].data == b"result"
    assert (
        await harness.describe("wf")
    ).workflow_execution_info.status == enums_pb2.WORKFLOW_EXECUTION_STATUS_COMPLETED


async def test_responding_twice_is_not_found(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.start_timer())
    with pytest.raises(NotFound, match="workflow task not found or already completed"):
        await harness.complete_workflow_task(task, cmd.start_timer("t2"))


async def test_malformed_token_is_invalid_argument(harness: Harness) -> None:
    await harness.start("wf")
    with pytest.raises(InvalidArgument, match="task_token"):
        await harness.complete_workflow_task(ws.PollWorkflowTaskQueueResponse(task_token=b"\xff\xff garbage"))


@pytest.mark.parametrize(
    "commands",
    [
        pytest.param([cmd.cancel_timer("nope")], id="cancel-unknown-timer"),
        pytest.param([cmd.cancel_activity(99)], id="cancel-unknown-activity"),
        pytest.param([cmd.schedule_activity("a"), cmd.schedule_activity("a")], id="duplicate-activity-id"),
        pytest.param([cmd.start_timer("t"), cmd.start_timer("t")], id="duplicate-timer-id"),
        pytest.param([cmd.schedule_activity("a", start_to_close=0)], id="missing-activity-timeouts"),
        pytest.param([cmd.start_timer("t", 0)], id="zero-timer"),
        pytest.param([cmd.complete(), cmd.start_timer()], id="command-after-close"),
    ],
)
async def test_bad_commands_fail_the_task_and_change_nothing_else(harness: Harness, commands) -> None:  # type: ignore[no-untyped-def]
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    with pytest.raises(InvalidArgument):
        await harness.complete_workflow_task(task, *commands)
    # The retry is transient: its WorkflowTaskScheduled is written only when it completes.
    assert await harness.event_types("wf") == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_FAILED",
    ]
    failed = (await harness.history("wf"))[3].workflow_task_failed_event_attributes
    assert failed.cause == enums_pb2.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMMAND
    retry = await harness.poll_workflow_task("wf")
    assert retry.attempt == 2
    assert [e.event_type for e in retry.history.events][-2:] == [
        enums_pb2.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        enums_pb2.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
    assert harness.matching.activity_tasks == []


async def test_signal_during_started_task_is_buffered_then_delivered(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.signal("wf", "hello")
    assert (await harness.event_types("wf"))[-1] == "WORKFLOW_TASK_STARTED"
    await harness.complete_workflow_task(task, cmd.start_timer())
    assert (await harness.event_types("wf"))[-4:] == [
        "WORKFLOW_TASK_COMPLETED",
        "TIMER_STARTED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    nxt = await harness.poll_workflow_task("wf")
    assert nxt.previous_started_event_id == 3


async def test_close_command_with_buffered_signal_is_refused_as_unhandled(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.signal("wf", "late")
    await harness.complete_workflow_task(task, cmd.complete())
    types = await harness.event_types("wf")
    assert types[-3:] == ["WORKFLOW_TASK_FAILED", "WORKFLOW_EXECUTION_SIGNALED", "WORKFLOW_TASK_SCHEDULED"]
    assert (await harness.history("wf"))[-3].workflow_task_failed_event_attributes.cause == (
        enums_pb2.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
    )


async def test_return_new_workflow_task_inline(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.signal("wf", "hello")
    dispatched = len(harness.matching.workflow_tasks)
    response = await harness.complete_workflow_task(task, return_new_workflow_task=True)
    new_task = response.workflow_task
    assert new_task.task_token and new_task.previous_started_event_id == 3
    assert [e.event_type for e in new_task.history.events][-2:] == [
        enums_pb2.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        enums_pb2.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
    assert len(harness.matching.workflow_tasks) == dispatched  # not dispatched through matching
    await harness.complete_workflow_task(new_task, cmd.complete())
    assert (await harness.event_types("wf"))[-1] == "WORKFLOW_EXECUTION_COMPLETED"


async def test_failed_task_is_retried_with_higher_attempt(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.fail_workflow_task(task)
    retry = await harness.poll_workflow_task("wf")
    assert retry.attempt == 2
    with pytest.raises(NotFound):
        await harness.fail_workflow_task(task)


async def test_start_to_close_timeout_reschedules(harness: Harness) -> None:
    await harness.start("wf", workflow_task_timeout=duration(5))
    await harness.poll_workflow_task("wf")
    await harness.clock.advance(6)
    retry = await harness.poll_workflow_task("wf")
    assert retry.attempt == 2
    assert "WORKFLOW_TASK_TIMED_OUT" in await harness.event_types("wf")


async def test_sticky_queue_gets_partial_history_and_falls_back_on_timeout(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    sticky = ws.StickyExecutionAttributes(
        worker_task_queue=common_pb2.TaskQueue(name="worker-1-sticky", kind=enums_pb2.TASK_QUEUE_KIND_STICKY),
        schedule_to_start_timeout=duration(5),
    )
    await harness.complete_workflow_task(task, cmd.start_timer("t", 1), sticky_attributes=sticky)
    await harness.clock.advance(2)  # the timer fires -> a task on the sticky queue
    dispatch = await harness.next_workflow_task_dispatch("wf")
    assert dispatch.task_queue.name == "worker-1-sticky"
    assert dispatch.schedule_to_start_timeout.seconds == 5
    sticky_task = await harness.record_workflow_task_started(dispatch)
    assert sticky_task.history.events[0].event_id == 4  # only what came after the previous task
    await harness.complete_workflow_task(sticky_task, cmd.start_timer("t2", 1), sticky_attributes=sticky)
    await harness.clock.advance(2)
    await harness.next_workflow_task_dispatch("wf")  # sticky again; nobody picks it up
    await harness.clock.advance(6)
    fallback = await harness.next_workflow_task_dispatch("wf")
    assert fallback.task_queue.name == "tq"
    full = await harness.record_workflow_task_started(fallback)
    assert full.history.events[0].event_id == 1


async def test_sticky_task_moves_to_normal_queue_at_once_when_no_worker_polls_it(harness: Harness) -> None:
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    sticky = ws.StickyExecutionAttributes(
        worker_task_queue=common_pb2.TaskQueue(name="gone-sticky", kind=enums_pb2.TASK_QUEUE_KIND_STICKY),
        schedule_to_start_timeout=duration(5),
    )
    await harness.complete_workflow_task(task, cmd.start_timer("t", 1), sticky_attributes=sticky)
    harness.matching.sticky_unpolled = True
    await harness.clock.advance(2)  # the timer fires; the sticky dispatch is rejected
    fallback = await harness.next_workflow_task_dispatch("wf")
    assert fallback.task_queue.name == "tq"  # without waiting the 5 s schedule-to-start timeout
    full = await harness.record_workflow_task_started(fallback)
    assert full.history.events[0].event_id == 1


async def test_reset_sticky_task_queue(harness: Harness) -> None:
    from legato_server.internal.v1 import history_service_pb2 as hsvc

    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    sticky = ws.StickyExecutionAttributes(
        worker_task_queue=common_pb2.TaskQueue(name="s"), schedule_to_start_timeout=duration(5)
    )
    await harness.complete_workflow_task(task, sticky_attributes=sticky)
    await harness.handler.ResetStickyTaskQueue(
        hsvc.ResetStickyTaskQueueRequest(
            namespace_id="ns-default-id",
            request=ws.ResetStickyTaskQueueRequest(execution=common_pb2.WorkflowExecution(workflow_id="wf")),
        )
    )
    await harness.signal("wf")
    assert (await harness.next_workflow_task_dispatch("wf")).task_queue.name == "tq"


async def test_close_command_without_attributes_is_accepted(harness: Harness) -> None:
    from legato.api.v1 import command_pb2

    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    bare = command_pb2.Command(command_type=enums_pb2.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION)
    await harness.complete_workflow_task(task, bare)
    assert (await harness.event_types("wf"))[-1] == "WORKFLOW_EXECUTION_CANCELED"


async def test_repeatedly_failing_task_backs_off(harness: Harness) -> None:
    await harness.start("wf")
    for attempt in (1, 2):
        task = await harness.poll_workflow_task("wf")
        assert task.attempt == attempt
        await harness.fail_workflow_task(task)
    task = await harness.poll_workflow_task("wf")  # attempt 3 is dispatched at once
    await harness.fail_workflow_task(task)
    dispatched = len(harness.matching.workflow_tasks)
    await harness.clock.advance(0.5)  # attempt 4 waits 1s, attempt 5 2s, ... up to a minute
    assert len(harness.matching.workflow_tasks) == dispatched
    await harness.clock.advance(0.6)
    task = await harness.poll_workflow_task("wf")
    assert task.attempt == 4


async def test_a_task_that_keeps_failing_writes_only_its_first_failure(harness: Harness) -> None:
    await harness.start("wf")
    for attempt in range(1, 4):
        task = await harness.poll_workflow_task("wf")
        assert task.attempt == attempt
        await harness.fail_workflow_task(task)
    await harness.clock.advance(1.1)  # attempt 4 backs off a second
    task = await harness.poll_workflow_task("wf")
    await harness.clock.advance(20)  # ... and times out
    await harness.clock.advance(2.1)
    written = await harness.event_types("wf")
    assert written == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_FAILED",
    ]
    description = await harness.describe("wf")
    assert description.pending_workflow_task.attempt == 5
    assert description.workflow_execution_info.history_length == 4

    # The attempt that finally works writes its own Scheduled/Started with the ids the worker saw.
    task = await harness.poll_workflow_task("wf")
    assert task.attempt == 5
    assert [e.event_id for e in task.history.events] == [1, 2, 3, 4, 5, 6]
    await harness.complete_workflow_task(task, cmd.complete())
    history = await harness.history("wf")
    assert [e.event_id for e in history] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [enums_pb2.EventType.Name(e.event_type)[11:] for e in history[4:]] == [
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    assert history[4].workflow_task_scheduled_event_attributes.attempt == 5
    assert history[6].workflow_task_completed_event_attributes.started_event_id == 6


async def test_a_signal_during_a_failing_retry_is_written_after_its_events(harness: Harness) -> None:
    await harness.start("wf")
    await harness.fail_workflow_task(await harness.poll_workflow_task("wf"))
    retry = await harness.poll_workflow_task("wf")  # transient attempt 2, started
    await harness.signal("wf", "news")  # buffered while it runs
    await harness.fail_workflow_task(retry)  # the workflow must see the signal: written in full
    assert (await harness.event_types("wf"))[4:] == [
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_FAILED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    task = await harness.poll_workflow_task("wf")
    assert task.attempt == 3
    assert [e.event_id for e in task.history.events] == list(range(1, 11))


async def test_a_signal_to_a_retry_not_yet_started_writes_it_first(harness: Harness) -> None:
    await harness.start("wf")
    await harness.fail_workflow_task(await harness.poll_workflow_task("wf"))
    await harness.signal("wf", "news")  # the transient attempt 2 is scheduled, not started
    assert (await harness.event_types("wf"))[4:] == ["WORKFLOW_TASK_SCHEDULED", "WORKFLOW_EXECUTION_SIGNALED"]
    task = await harness.poll_workflow_task("wf")
    assert task.attempt == 2
    assert [e.event_id for e in task.history.events] == list(range(1, 8))
    await harness.complete_workflow_task(task, cmd.complete())
    assert (await harness.event_types("wf"))[-1] == "WORKFLOW_EXECUTION_COMPLETED"
