"""Activities: start, complete, server-side retries with backoff, timeouts, heartbeats, cancellation."""

from __future__ import annotations

import pytest

from legato.api.v1 import common_pb2, enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import NotFound
from legato_server.history.workflow.events import duration
from legato_server.internal.v1 import history_service_pb2 as hsvc
from tests.server.history import commands as cmd
from tests.server.history.conftest import NS_ID, Harness


async def _schedule(harness: Harness, **fields) -> None:  # type: ignore[no-untyped-def]
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(task, cmd.schedule_activity("a1", **fields))


def _payloads(data: bytes) -> common_pb2.Payloads:
    return common_pb2.Payloads(payloads=[common_pb2.Payload(data=data)])


async def _fail(
    harness: Harness, token: bytes, *, message: str = "nope", non_retryable: bool = False, type: str = ""
) -> None:
    failure = common_pb2.Failure(message=message)
    failure.application_failure_info.non_retryable = non_retryable
    failure.application_failure_info.type = type
    await harness.handler.RespondActivityTaskFailed(
        hsvc.RespondActivityTaskFailedRequest(
            namespace_id=NS_ID,
            failed_request=ws.RespondActivityTaskFailedRequest(task_token=token, failure=failure),
        )
    )


async def _heartbeat(harness: Harness, token: bytes, data: bytes = b"") -> bool:
    response = await harness.handler.RecordActivityTaskHeartbeat(
        hsvc.RecordActivityTaskHeartbeatRequest(
            namespace_id=NS_ID,
            heartbeat_request=ws.RecordActivityTaskHeartbeatRequest(
                task_token=token, details=_payloads(data) if data else None
            ),
        )
    )
    return response.cancel_requested


async def test_complete_writes_started_and_completed_and_a_workflow_task(harness: Harness) -> None:
    await _schedule(harness, input=_payloads(b"in"))
    task = await harness.poll_activity_task("wf")
    assert task.activity_id == "a1" and task.attempt == 1 and task.input.payloads[0].data == b"in"
    assert task.start_to_close_timeout.seconds == 10
    assert (await harness.event_types("wf"))[-1] == "ACTIVITY_TASK_SCHEDULED"  # started is not written yet
    await harness.handler.RespondActivityTaskCompleted(
        hsvc.RespondActivityTaskCompletedRequest(
            namespace_id=NS_ID,
            complete_request=ws.RespondActivityTaskCompletedRequest(
                task_token=task.task_token, result=_payloads(b"ok")
            ),
        )
    )
    events = await harness.history("wf")
    assert [enums_pb2.EventType.Name(e.event_type)[11:] for e in events[-4:]] == [
        "ACTIVITY_TASK_SCHEDULED",
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    completed = events[-2].activity_task_completed_event_attributes
    assert completed.scheduled_event_id == 5 and completed.started_event_id == 6
    with pytest.raises(NotFound):
        await harness.handler.RespondActivityTaskCompleted(
            hsvc.RespondActivityTaskCompletedRequest(
                namespace_id=NS_ID,
                complete_request=ws.RespondActivityTaskCompletedRequest(task_token=task.task_token),
            )
        )


async def test_failure_is_retried_with_exponential_backoff(harness: Harness) -> None:
    policy = common_pb2.RetryPolicy(initial_interval=duration(2), backoff_coefficient=3.0, maximum_attempts=3)
    await _schedule(harness, retry_policy=policy)
    first = await harness.poll_activity_task("wf")
    await _fail(harness, first.task_token)
    # attempt 2 after 2s
    await harness.clock.advance(1.5)
    assert len(harness.matching.activity_tasks) == 1
    await harness.clock.advance(0.6)
    second = await harness.poll_activity_task("wf")
    assert second.attempt == 2
    await _fail(harness, second.task_token)
    # attempt 3 after 2 * 3 = 6s
    await harness.clock.advance(5.5)
    assert len(harness.matching.activity_tasks) == 2
    await harness.clock.advance(0.6)
    third = await harness.poll_activity_task("wf")
    assert third.attempt == 3
    with pytest.raises(NotFound):  # the old attempt's token is stale
        await _fail(harness, first.task_token)
    await _fail(harness, third.task_token, message="final")
    events = await harness.history("wf")
    assert [enums_pb2.EventType.Name(e.event_type)[11:] for e in events[-3:]] == [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_FAILED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert events[-3].activity_task_started_event_attributes.attempt == 3
    failed = events[-2].activity_task_failed_event_attributes
    assert failed.failure.message == "final"
    assert failed.retry_state == enums_pb2.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED


@pytest.mark.parametrize(
    ("non_retryable", "error_type"),
    [
        pytest.param(True, "", id="flagged-non-retryable"),
        pytest.param(False, "BadInput", id="type-in-policy"),
    ],
)
async def test_non_retryable_failures_are_final(
    harness: Harness, non_retryable: bool, error_type: str
) -> None:
    await _schedule(harness, retry_policy=common_pb2.RetryPolicy(non_retryable_error_types=["BadInput"]))
    task = await harness.poll_activity_task("wf")
    await _fail(harness, task.task_token, non_retryable=non_retryable, type=error_type)
    failed = (await harness.history("wf"))[-2].activity_task_failed_event_attributes
    assert failed.retry_state == enums_pb2.RETRY_STATE_NON_RETRYABLE_FAILURE


async def test_retry_stops_at_schedule_to_close(harness: Harness) -> None:
    await _schedule(harness, schedule_to_close_timeout=duration(3), start_to_close=0)
    task = await harness.poll_activity_task("wf")
    await _fail(harness, task.task_token)  # retry in 1s: ok
    await harness.clock.advance(1.1)
    task = await harness.poll_activity_task("wf")
    await harness.clock.advance(2)  # schedule-to-close elapses during attempt 2
    await _wait_event(harness, "ACTIVITY_TASK_TIMED_OUT")
    timed_out = (await harness.history("wf"))[-2].activity_task_timed_out_event_attributes
    assert timed_out.failure.timeout_failure_info.timeout_type == enums_pb2.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE


async def _wait_event(harness: Harness, name: str) -> None:
    for _ in range(500):
        if name in await harness.event_types("wf"):
            return
        await harness.clock.advance(0)
    raise AssertionError(f"wf never got {name}")


async def test_start_to_close_timeout_retries_then_times_out(harness: Harness) -> None:
    await _schedule(harness, start_to_close=5, retry_policy=common_pb2.RetryPolicy(maximum_attempts=2))
    await harness.poll_activity_task("wf")
    await harness.clock.advance(5.1)
    await harness.clock.advance(1.1)  # retry backoff 1s
    second = await harness.poll_activity_task("wf")
    assert second.attempt == 2
    await harness.clock.advance(5.1)
    await _wait_event(harness, "ACTIVITY_TASK_TIMED_OUT")
    timed_out = (await harness.history("wf"))[-2].activity_task_timed_out_event_attributes
    assert timed_out.retry_state == enums_pb2.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert timed_out.failure.timeout_failure_info.timeout_type == enums_pb2.TIMEOUT_TYPE_START_TO_CLOSE


async def test_heartbeat_timeout_carries_details_and_details_reach_the_next_attempt(harness: Harness) -> None:
    await _schedule(harness, start_to_close=60, heartbeat_timeout=duration(3))
    task = await harness.poll_activity_task("wf")
    await harness.clock.advance(2)
    assert not await _heartbeat(harness, task.task_token, b"progress-1")
    await harness.clock.advance(2)  # 4s since start but only 2s since the heartbeat: alive
    assert "ACTIVITY_TASK_TIMED_OUT" not in await harness.event_types("wf")
    await harness.clock.advance(1.5)  # now 3.5s since the heartbeat: heartbeat timeout, retried
    await harness.clock.advance(1.1)
    second = await harness.poll_activity_task("wf")
    assert second.attempt == 2
    assert second.heartbeat_details.payloads[0].data == b"progress-1"
    described = await harness.describe("wf")
    assert (
        described.pending_activities[0]
        .last_failure.timeout_failure_info.last_heartbeat_details.payloads[0]
        .data
        == b"progress-1"
    )


async def test_schedule_to_start_timeout_is_not_retried(harness: Harness) -> None:
    await _schedule(harness, schedule_to_start_timeout=duration(2))
    await harness.clock.advance(2.1)
    await _wait_event(harness, "ACTIVITY_TASK_TIMED_OUT")
    types = await harness.event_types("wf")
    assert "ACTIVITY_TASK_STARTED" not in types


async def test_cancel_before_start_cancels_at_once(harness: Harness) -> None:
    await _schedule(harness)
    # The activity was scheduled by event 5; a signal gives the workflow a task to cancel it in.
    await harness.signal("wf")
    wt = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(wt, cmd.cancel_activity(5))
    types = await harness.event_types("wf")
    assert types[-3:] == [
        "ACTIVITY_TASK_CANCEL_REQUESTED",
        "ACTIVITY_TASK_CANCELED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    dispatch = await harness.next_activity_dispatch("wf")
    with pytest.raises(NotFound):
        await harness.handler.RecordActivityTaskStarted(
            hsvc.RecordActivityTaskStartedRequest(
                namespace_id=NS_ID,
                workflow_execution=dispatch.execution,
                scheduled_event_id=5,
                request_id="r",
            )
        )


async def test_cancel_after_start_goes_through_heartbeat(harness: Harness) -> None:
    await _schedule(harness)
    task = await harness.poll_activity_task("wf")
    await harness.signal("wf")
    wt = await harness.poll_workflow_task("wf")
    await harness.complete_workflow_task(wt, cmd.cancel_activity(5))
    assert (await harness.event_types("wf"))[-1] == "ACTIVITY_TASK_CANCEL_REQUESTED"
    assert await _heartbeat(harness, task.task_token)
    await harness.handler.RespondActivityTaskCanceled(
        hsvc.RespondActivityTaskCanceledRequest(
            namespace_id=NS_ID,
            cancel_request=ws.RespondActivityTaskCanceledRequest(task_token=task.task_token),
        )
    )
    events = await harness.history("wf")
    assert [enums_pb2.EventType.Name(e.event_type)[11:] for e in events[-3:]] == [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_CANCELED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    assert events[-2].activity_task_canceled_event_attributes.latest_cancel_requested_event_id > 0


async def test_activity_result_during_started_workflow_task_is_buffered_with_ids_resolved(
    harness: Harness,
) -> None:
    await _schedule(harness)
    task = await harness.poll_activity_task("wf")
    await harness.signal("wf")
    wt = await harness.poll_workflow_task("wf")
    await harness.handler.RespondActivityTaskCompleted(
        hsvc.RespondActivityTaskCompletedRequest(
            namespace_id=NS_ID,
            complete_request=ws.RespondActivityTaskCompletedRequest(task_token=task.task_token),
        )
    )
    await harness.complete_workflow_task(wt)
    events = await harness.history("wf")
    started = next(e for e in events if e.event_type == enums_pb2.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    completed = next(e for e in events if e.event_type == enums_pb2.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    assert completed.activity_task_completed_event_attributes.started_event_id == started.event_id
    assert completed.event_id == started.event_id + 1


STICKY = "worker-1-sticky"


async def _run_activity_with_sticky_worker(harness: Harness) -> ws.PollActivityTaskQueueResponse:
    """The run's first task schedules an activity and makes worker-1's sticky queue the run's."""
    await harness.start("wf")
    task = await harness.poll_workflow_task("wf")
    sticky = ws.StickyExecutionAttributes(
        worker_task_queue=common_pb2.TaskQueue(name=STICKY, kind=enums_pb2.TASK_QUEUE_KIND_STICKY),
        schedule_to_start_timeout=duration(5),
    )
    await harness.complete_workflow_task(task, cmd.schedule_activity("a1"), sticky_attributes=sticky)
    return await harness.poll_activity_task("wf")


async def _complete(
    harness: Harness, task: ws.PollActivityTaskQueueResponse, *, eager_sticky_queue: str
) -> ws.RespondActivityTaskCompletedResponse:
    return await harness.handler.RespondActivityTaskCompleted(
        hsvc.RespondActivityTaskCompletedRequest(
            namespace_id=NS_ID,
            complete_request=ws.RespondActivityTaskCompletedRequest(
                task_token=task.task_token,
                result=_payloads(b"ok"),
                identity="worker-1",
                eager_workflow_task_sticky_queue=eager_sticky_queue,
            ),
        )
    )


async def test_the_caching_worker_gets_the_workflow_task_its_completion_wakes(harness: Harness) -> None:
    activity_task = await _run_activity_with_sticky_worker(harness)
    dispatched = len(harness.matching.workflow_tasks)

    response = await _complete(harness, activity_task, eager_sticky_queue=STICKY)

    workflow_task = response.workflow_task
    assert workflow_task.task_token, "no workflow task in the completion's answer"
    assert len(harness.matching.workflow_tasks) == dispatched, "the task also went through matching"
    stored = await harness.history("wf")
    assert [enums_pb2.EventType.Name(e.event_type)[11:] for e in stored[-3:]] == [
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    # A sticky task's history: what came after the previous task started, as stored.
    assert list(workflow_task.history.events) == stored[workflow_task.previous_started_event_id :]
    assert workflow_task.started_event_id == stored[-1].event_id
    await harness.complete_workflow_task(workflow_task, cmd.complete())
    assert (await harness.event_types("wf"))[-1] == "WORKFLOW_EXECUTION_COMPLETED"


async def test_a_completion_from_another_worker_leaves_the_workflow_task_to_matching(
    harness: Harness,
) -> None:
    activity_task = await _run_activity_with_sticky_worker(harness)

    response = await _complete(harness, activity_task, eager_sticky_queue="worker-2-sticky")

    assert not response.HasField("workflow_task")
    dispatch = await harness.next_workflow_task_dispatch("wf")
    assert dispatch.task_queue.name == STICKY
    assert (await harness.event_types("wf"))[-1] == "WORKFLOW_TASK_SCHEDULED"


async def test_no_eager_workflow_task_while_one_is_already_pending(harness: Harness) -> None:
    activity_task = await _run_activity_with_sticky_worker(harness)
    await harness.signal("wf")  # schedules a workflow task, dispatched to the sticky queue
    dispatch = await harness.next_workflow_task_dispatch("wf")

    response = await _complete(harness, activity_task, eager_sticky_queue=STICKY)

    assert not response.HasField("workflow_task")
    types = await harness.event_types("wf")
    assert types[-1] == "ACTIVITY_TASK_COMPLETED" and types.count("WORKFLOW_TASK_SCHEDULED") == 2
    polled = await harness.record_workflow_task_started(dispatch)  # the pending task sees the result
    assert [enums_pb2.EventType.Name(e.event_type)[11:] for e in polled.history.events][-2:] == [
        "ACTIVITY_TASK_COMPLETED",
        "WORKFLOW_TASK_STARTED",
    ]
