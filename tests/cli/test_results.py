"""``workflow result`` logic against a scripted connection: outcomes, exit codes, following runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
import pytest

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.cli.arguments import Context
from legato.cli.errors import CliError, RpcFailure
from legato.cli.results import wait_and_print
from legato.converter import PayloadConverter

converter = PayloadConverter()


class ScriptedConnection:
    """Answers GetWorkflowExecutionHistory from a script; records each request."""

    def __init__(self, *answers: ws.GetWorkflowExecutionHistoryResponse | RpcFailure) -> None:
        self.answers = list(answers)
        self.requests: list[ws.GetWorkflowExecutionHistoryRequest] = []

    def call(self, rpc: str, request: Any, *, timeout: float = 10.0) -> Any:
        assert rpc == "GetWorkflowExecutionHistory"
        assert request.wait_new_event
        assert request.history_event_filter_type == enums_pb2.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, RpcFailure):
            raise answer
        return answer

    def close(self) -> None:
        pass


def closed(**attributes: Any) -> ws.GetWorkflowExecutionHistoryResponse:
    return ws.GetWorkflowExecutionHistoryResponse(
        history=history_pb2.History(events=[history_pb2.HistoryEvent(event_id=9, **attributes)])
    )


def completed(value: Any, *, new_run: str = "") -> ws.GetWorkflowExecutionHistoryResponse:
    return closed(
        event_type=enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        workflow_execution_completed_event_attributes=history_pb2.WorkflowExecutionCompletedEventAttributes(
            result=converter.to_payloads([value]), new_execution_run_id=new_run
        ),
    )


def run(connection: ScriptedConnection, *, timeout: timedelta | None = None) -> int:
    context = Context(connection=connection, namespace="default")  # type: ignore[arg-type]
    execution = common_pb2.WorkflowExecution(workflow_id="order-1")
    return wait_and_print(context, execution, timeout=timeout)


def test_completed_result_is_printed_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ScriptedConnection(completed({"total": 1999, "items": ["tea"]}))) == 0
    assert capsys.readouterr().out == '{\n  "total": 1999,\n  "items": [\n    "tea"\n  ]\n}\n'


def test_an_empty_poll_or_a_deadline_means_poll_again(capsys: pytest.CaptureFixture[str]) -> None:
    connection = ScriptedConnection(
        ws.GetWorkflowExecutionHistoryResponse(next_page_token=b"seen-3"),
        RpcFailure(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"),
        completed("done"),
    )
    assert run(connection) == 0
    assert capsys.readouterr().out == '"done"\n'
    assert [r.next_page_token for r in connection.requests] == [b"", b"seen-3", b"seen-3"]


def test_other_errors_end_the_wait() -> None:
    with pytest.raises(RpcFailure, match="NOT_FOUND: workflow not found"):
        run(ScriptedConnection(RpcFailure(grpc.StatusCode.NOT_FOUND, "workflow not found")))


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (
            closed(
                event_type=enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
                workflow_execution_failed_event_attributes=history_pb2.WorkflowExecutionFailedEventAttributes(
                    failure=common_pb2.Failure(
                        message="card declined",
                        application_failure_info=common_pb2.ApplicationFailureInfo(type="CardDeclined"),
                    )
                ),
            ),
            "workflow failed: card declined (CardDeclined)",
        ),
        (
            closed(
                event_type=enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
                workflow_execution_canceled_event_attributes=history_pb2.WorkflowExecutionCanceledEventAttributes(
                    details=converter.to_payloads(["customer asked"])
                ),
            ),
            'workflow canceled: "customer asked"',
        ),
        (
            closed(
                event_type=enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
                workflow_execution_terminated_event_attributes=(
                    history_pb2.WorkflowExecutionTerminatedEventAttributes(reason="stuck")
                ),
            ),
            "workflow terminated: stuck",
        ),
        (
            closed(
                event_type=enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
                workflow_execution_timed_out_event_attributes=history_pb2.WorkflowExecutionTimedOutEventAttributes(
                    retry_state=enums_pb2.RETRY_STATE_TIMEOUT
                ),
            ),
            "workflow timed out (retry state: Timeout)",
        ),
    ],
    ids=["failed", "canceled", "terminated", "timed-out"],
)
def test_unsuccessful_closes_exit_3_with_the_reason(
    response: ws.GetWorkflowExecutionHistoryResponse, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(CliError) as error:
        run(ScriptedConnection(response))
    assert error.value.message == message
    assert error.value.exit_code == 3
    assert capsys.readouterr().out == ""


def test_continue_as_new_and_retries_are_followed_to_the_final_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    connection = ScriptedConnection(
        closed(
            event_type=enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
            workflow_execution_continued_as_new_event_attributes=(
                history_pb2.WorkflowExecutionContinuedAsNewEventAttributes(new_execution_run_id="run-2")
            ),
        ),
        closed(
            event_type=enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
            workflow_execution_failed_event_attributes=history_pb2.WorkflowExecutionFailedEventAttributes(
                failure=common_pb2.Failure(message="flaky"), new_execution_run_id="run-3"
            ),
        ),
        completed("finally"),
    )
    assert run(connection) == 0
    output = capsys.readouterr()
    assert output.out == '"finally"\n'
    assert "continued in run run-2" in output.err
    assert [r.execution.run_id for r in connection.requests] == ["", "run-2", "run-3"]


def test_a_completed_cron_run_is_not_followed(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ScriptedConnection(completed(1, new_run="next-cron-run"))) == 0
    assert capsys.readouterr().out == "1\n"


def test_the_timeout_ends_the_wait_without_another_call() -> None:
    connection = ScriptedConnection()
    with pytest.raises(CliError, match="workflow order-1 did not close within 0s") as error:
        run(connection, timeout=timedelta())
    assert error.value.exit_code == 1
    assert connection.requests == []
