"""Waiting for a run to close, and reporting how it closed.

The wait is a long-poll on ``GetWorkflowExecutionHistory`` with
``wait_new_event`` and the ``CLOSE_EVENT`` filter: the server answers once the
run has closed, with just the close event. Each poll is bounded by
``POLL_CALL_TIMEOUT`` (and by what is left of ``--timeout``); a poll that ends
empty or with ``DEADLINE_EXCEEDED`` means "still running" and is repeated.

A run that continued as new, or closed unsuccessfully but is being retried by
its retry policy, is followed to its next run (noted on stderr), as a caller
awaiting "the workflow's result" means the chain's final outcome. A completed
cron run is not followed: its result is the answer.

Exit codes: 0 completed (the result is printed on stdout, one JSON value per
line); 3 failed, canceled, terminated or timed out (the reason on stderr);
1 when ``--timeout`` passes first.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta

import grpc

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.cli.arguments import Context, execution_from
from legato.cli.durations import format_duration
from legato.cli.errors import EXIT_WORKFLOW_NOT_COMPLETED, CliError, RpcFailure
from legato.cli.format import decode_payloads, enum_label, failure_text, payloads_text, value_text

POLL_CALL_TIMEOUT = 30.0
"""Deadline of one long-poll, in seconds; shorter than the server's own 60s cap."""


def print_result(args: argparse.Namespace, context: Context) -> int:
    return wait_and_print(context, execution_from(args), timeout=args.timeout)


def wait_and_print(
    context: Context, execution: common_pb2.WorkflowExecution, *, timeout: timedelta | None
) -> int:
    """Wait for the run (and the runs it continues into) to close; print the outcome."""
    deadline = None if timeout is None else time.monotonic() + timeout.total_seconds()
    current = common_pb2.WorkflowExecution()
    current.CopyFrom(execution)
    while True:
        event = wait_for_close_event(context, current, deadline=deadline)
        if event is None:
            raise CliError(
                f"workflow {execution.workflow_id} did not close within {format_duration(timeout or timedelta())}"
            )
        next_run = _next_run_id(event)
        if not next_run:
            return _report(event)
        print(f"workflow {current.workflow_id} continued in run {next_run}; waiting for it", file=sys.stderr)
        current.run_id = next_run


def wait_for_close_event(
    context: Context, execution: common_pb2.WorkflowExecution, *, deadline: float | None
) -> history_pb2.HistoryEvent | None:
    """The run's close event, or None if ``deadline`` (a ``time.monotonic`` value) passes first."""
    token = b""
    while True:
        call_timeout = POLL_CALL_TIMEOUT
        if deadline is not None:
            call_timeout = min(call_timeout, deadline - time.monotonic())
            if call_timeout <= 0:
                return None
        request = ws.GetWorkflowExecutionHistoryRequest(
            namespace=context.namespace,
            execution=execution,
            next_page_token=token,
            wait_new_event=True,
            history_event_filter_type=enums_pb2.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
        )
        try:
            response = context.connection.call("GetWorkflowExecutionHistory", request, timeout=call_timeout)
        except RpcFailure as failure:
            if failure.code != grpc.StatusCode.DEADLINE_EXCEEDED:
                raise
            continue
        if response.history.events:
            return response.history.events[-1]
        token = response.next_page_token


def _next_run_id(event: history_pb2.HistoryEvent) -> str:
    """The run this close hands over to, if any (continue-as-new, or a retry)."""
    which = event.WhichOneof("attributes")
    if which in (
        "workflow_execution_continued_as_new_event_attributes",
        "workflow_execution_failed_event_attributes",
        "workflow_execution_timed_out_event_attributes",
    ):
        return str(getattr(event, which).new_execution_run_id)
    return ""


def _report(event: history_pb2.HistoryEvent) -> int:
    which = event.WhichOneof("attributes")
    if which == "workflow_execution_completed_event_attributes":
        for value in decode_payloads(event.workflow_execution_completed_event_attributes.result):
            print(value_text(value, indent=2))
        return 0
    if which == "workflow_execution_failed_event_attributes":
        reason = "workflow failed: " + failure_text(event.workflow_execution_failed_event_attributes.failure)
    elif which == "workflow_execution_canceled_event_attributes":
        details = event.workflow_execution_canceled_event_attributes.details
        reason = "workflow canceled" + (f": {payloads_text(details)}" if details.payloads else "")
    elif which == "workflow_execution_terminated_event_attributes":
        terminated = event.workflow_execution_terminated_event_attributes
        reason = "workflow terminated" + (f": {terminated.reason}" if terminated.reason else "")
    elif which == "workflow_execution_timed_out_event_attributes":
        retry_state = event.workflow_execution_timed_out_event_attributes.retry_state
        reason = "workflow timed out" + (
            f" (retry state: {enum_label(enums_pb2.RetryState, retry_state)})" if retry_state else ""
        )
    else:
        reason = f"unexpected close event {enum_label(enums_pb2.EventType, event.event_type)}"
    raise CliError(reason, exit_code=EXIT_WORKFLOW_NOT_COMPLETED)
