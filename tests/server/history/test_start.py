"""Starting workflows: dispatch, idempotency by request id, id reuse policies, options."""

from __future__ import annotations

import pytest

from legato.api.v1 import common_pb2, enums_pb2
from legato_server.common.errors import InvalidArgument, WorkflowAlreadyStarted
from legato_server.history.workflow.events import duration
from tests.server.history import commands as cmd
from tests.server.history.conftest import NS_ID, TASK_QUEUE, Harness

POLICY = enums_pb2.WorkflowIdReusePolicy


async def test_start_writes_started_and_dispatches_workflow_task(harness: Harness) -> None:
    run_id = await harness.start("wf", input=common_pb2.Payloads(payloads=[common_pb2.Payload(data=b"x")]))
    dispatch = await harness.next_workflow_task_dispatch("wf")
    assert dispatch.namespace_id == NS_ID
    assert dispatch.execution.run_id == run_id
    assert dispatch.task_queue.name == TASK_QUEUE
    assert dispatch.scheduled_event_id == 2
    assert await harness.event_types("wf") == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED"]
    started = (await harness.history("wf"))[0].workflow_execution_started_event_attributes
    assert started.input.payloads[0].data == b"x"
    assert started.first_execution_run_id == run_id


async def test_same_request_id_returns_the_same_run(harness: Harness) -> None:
    first = await harness.start_raw("wf", request_id="req-1")
    again = await harness.start_raw("wf", request_id="req-1")
    assert first.started and not again.started
    assert again.run_id == first.run_id


async def test_running_workflow_id_is_rejected(harness: Harness) -> None:
    run_id = await harness.start("wf")
    with pytest.raises(WorkflowAlreadyStarted) as err:
        await harness.start("wf")
    assert err.value.run_id == run_id


async def _close(harness: Harness, workflow_id: str, command) -> None:  # type: ignore[no-untyped-def]
    task = await harness.poll_workflow_task(workflow_id)
    await harness.complete_workflow_task(task, command)


@pytest.mark.parametrize(
    ("policy", "close_with", "allowed"),
    [
        pytest.param(
            POLICY.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
            cmd.complete(),
            True,
            id="allow-dup-after-success",
        ),
        pytest.param(
            POLICY.WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED, cmd.complete(), True, id="unspecified-is-allow-dup"
        ),
        pytest.param(
            POLICY.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
            cmd.complete(),
            False,
            id="failed-only-after-success",
        ),
        pytest.param(
            POLICY.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
            cmd.fail(),
            True,
            id="failed-only-after-failure",
        ),
        pytest.param(POLICY.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, cmd.fail(), False, id="reject-dup"),
    ],
)
async def test_id_reuse_policy_after_close(harness: Harness, policy: int, close_with, allowed: bool) -> None:  # type: ignore[no-untyped-def]
    first = await harness.start("wf")
    await _close(harness, "wf", close_with)
    if allowed:
        second = await harness.start("wf", workflow_id_reuse_policy=policy)
        assert second != first
        assert (await harness.describe("wf")).workflow_execution_info.execution.run_id == second
    else:
        with pytest.raises(WorkflowAlreadyStarted):
            await harness.start("wf", workflow_id_reuse_policy=policy)


async def test_terminate_if_running_replaces_the_run(harness: Harness) -> None:
    first = await harness.start("wf")
    second = await harness.start(
        "wf", workflow_id_reuse_policy=POLICY.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
    )
    assert second != first
    assert (await harness.event_types("wf", first))[-1] == "WORKFLOW_EXECUTION_TERMINATED"
    assert (
        await harness.describe("wf")
    ).workflow_execution_info.status == enums_pb2.WORKFLOW_EXECUTION_STATUS_RUNNING


async def test_bad_start_options_are_rejected(harness: Harness) -> None:
    with pytest.raises(InvalidArgument, match="cron_schedule"):
        await harness.start("wf", cron_schedule="every tuesday")
    with pytest.raises(InvalidArgument, match="backoff_coefficient"):
        await harness.start("wf", retry_policy=common_pb2.RetryPolicy(backoff_coefficient=0.5))


async def test_start_delay_holds_the_first_workflow_task(harness: Harness) -> None:
    await harness.start("wf", workflow_start_delay=duration(60))
    await harness.clock.advance(1)
    assert harness.matching.workflow_tasks == []
    await harness.signal("wf")  # a signal does not start a delayed workflow early
    assert await harness.event_types("wf") == ["WORKFLOW_EXECUTION_STARTED", "WORKFLOW_EXECUTION_SIGNALED"]
    await harness.clock.advance(60)
    await harness.next_workflow_task_dispatch("wf")
    assert (await harness.event_types("wf"))[-1] == "WORKFLOW_TASK_SCHEDULED"


async def test_describe_shows_config_and_status(harness: Harness) -> None:
    run_id = await harness.start(
        "wf",
        workflow_run_timeout=duration(3600),
        memo=common_pb2.Memo(fields={"k": common_pb2.Payload(data=b"v")}),
    )
    described = await harness.describe("wf")
    assert described.workflow_execution_info.execution.run_id == run_id
    assert described.workflow_execution_info.status == enums_pb2.WORKFLOW_EXECUTION_STATUS_RUNNING
    assert described.workflow_execution_info.memo.fields["k"].data == b"v"
    assert described.execution_config.workflow_run_timeout.seconds == 3600
    assert described.execution_config.task_queue.name == TASK_QUEUE
