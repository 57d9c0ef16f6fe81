"""``legato workflow list|count|describe|show``: commands that only read.

``show --output json`` prints the run's whole ``History`` in proto3's JSON
mapping — the same document ``legato.worker.Replayer`` (and
``google.protobuf.json_format.Parse``) reads — so a history pasted from
production can become a replay test as it is.
"""

from __future__ import annotations

import argparse

from google.protobuf import duration_pb2, json_format

from legato.api.v1 import common_pb2, enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.cli.arguments import Context, execution_from
from legato.cli.durations import format_duration
from legato.cli.format import (
    decode_payload,
    enum_label,
    failure_text,
    format_time,
    messages_json,
    render_fields,
    render_history,
    render_table,
    status_label,
    value_text,
)

STATUSES = {
    "running": enums_pb2.WORKFLOW_EXECUTION_STATUS_RUNNING,
    "completed": enums_pb2.WORKFLOW_EXECUTION_STATUS_COMPLETED,
    "failed": enums_pb2.WORKFLOW_EXECUTION_STATUS_FAILED,
    "canceled": enums_pb2.WORKFLOW_EXECUTION_STATUS_CANCELED,
    "terminated": enums_pb2.WORKFLOW_EXECUTION_STATUS_TERMINATED,
    "continued-as-new": enums_pb2.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
    "timed-out": enums_pb2.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
}
_MAX_PAGE_SIZE = 1000
_HISTORY_PAGE_SIZE = 1000


def _filter(args: argparse.Namespace) -> common_pb2.WorkflowExecutionFilter:
    return common_pb2.WorkflowExecutionFilter(
        workflow_type=args.workflow_type,
        statuses=[STATUSES[name] for name in args.status],
        task_queue=args.task_queue,
    )


def list_workflows(args: argparse.Namespace, context: Context) -> int:
    executions: list[common_pb2.WorkflowExecutionInfo] = []
    token = b""
    while args.limit == 0 or len(executions) < args.limit:
        wanted = _MAX_PAGE_SIZE if args.limit == 0 else min(_MAX_PAGE_SIZE, args.limit - len(executions))
        response = context.connection.call(
            "ListWorkflowExecutions",
            ws.ListWorkflowExecutionsRequest(
                namespace=context.namespace,
                page_size=wanted,
                next_page_token=token,
                filter=_filter(args),
                query=args.query,
            ),
        )
        executions.extend(response.executions)
        token = response.next_page_token
        if not token:
            break
    if args.limit:
        del executions[args.limit :]
    if args.output == "json":
        print(messages_json(executions))
        return 0
    rows = [
        (
            info.execution.workflow_id,
            info.execution.run_id,
            info.type.name,
            status_label(info.status),
            format_time(info.start_time),
            format_time(info.close_time),
        )
        for info in executions
    ]
    print(render_table(("WORKFLOW ID", "RUN ID", "TYPE", "STATUS", "START TIME", "CLOSE TIME"), rows))
    return 0


def count_workflows(args: argparse.Namespace, context: Context) -> int:
    response = context.connection.call(
        "CountWorkflowExecutions",
        ws.CountWorkflowExecutionsRequest(
            namespace=context.namespace,
            filter=_filter(args),
            query=args.query,
        ),
    )
    print(response.count)
    return 0


def describe_workflow(args: argparse.Namespace, context: Context) -> int:
    response = context.connection.call(
        "DescribeWorkflowExecution",
        ws.DescribeWorkflowExecutionRequest(
            namespace=context.namespace,
            execution=execution_from(args),
        ),
    )
    if args.output == "json":
        print(json_format.MessageToJson(response))
    else:
        print(render_description(response))
    return 0


def render_description(response: ws.DescribeWorkflowExecutionResponse) -> str:
    """The run's summary, then its pending activities and children as tables."""
    info = response.workflow_execution_info
    config = response.execution_config
    fields = [
        ("Workflow ID", info.execution.workflow_id),
        ("Run ID", info.execution.run_id),
        ("Type", info.type.name),
        ("Task queue", info.task_queue or config.task_queue.name),
        ("Status", status_label(info.status)),
        ("Start time", format_time(info.start_time)),
        ("Execution time", format_time(info.execution_time)),
        ("Close time", format_time(info.close_time)),
        ("History length", str(info.history_length)),
        ("Execution timeout", _timeout(config.workflow_execution_timeout)),
        ("Run timeout", _timeout(config.workflow_run_timeout)),
        ("Task timeout", _timeout(config.default_workflow_task_timeout)),
    ]
    if response.HasField("pending_workflow_task"):
        task = response.pending_workflow_task
        fields.append(("Workflow task", f"{task.state}, attempt {task.attempt}"))
    if info.HasField("reset_by"):
        reset = info.reset_by
        fields.append(("Reset by", f"new run {reset.new_run_id} (to event {reset.event_id}): {reset.reason}"))
    if info.HasField("reset_from"):
        reset = info.reset_from
        fields.append(("Reset from", f"run {reset.base_run_id} at event {reset.event_id}: {reset.reason}"))
    if info.parent_execution.workflow_id:
        fields.append(
            (
                "Parent",
                f"{info.parent_namespace}/{info.parent_execution.workflow_id}/{info.parent_execution.run_id}",
            )
        )
    fields.extend(
        (f"Memo {key}", value_text(decode_payload(payload)))
        for key, payload in sorted(info.memo.fields.items())
    )
    fields.extend(
        (f"Search attribute {name}", value_text(decode_payload(payload)))
        for name, payload in sorted(info.search_attributes.indexed_fields.items())
    )
    sections = [render_fields(fields)]
    if response.pending_activities:
        activity_rows = [
            (
                activity.activity_id,
                activity.activity_type.name,
                activity.state,
                str(activity.attempt),
                format_time(activity.last_heartbeat_time),
                failure_text(activity.last_failure) if activity.HasField("last_failure") else "",
            )
            for activity in response.pending_activities
        ]
        sections.append(
            "Pending activities:\n"
            + render_table(
                ("ID", "TYPE", "STATE", "ATTEMPT", "LAST HEARTBEAT", "LAST FAILURE"), activity_rows
            )
        )
    if response.pending_children:
        child_rows = [
            (
                child.workflow_id,
                child.run_id,
                child.workflow_type_name,
                enum_label(enums_pb2.ParentClosePolicy, child.parent_close_policy),
            )
            for child in response.pending_children
        ]
        sections.append(
            "Pending children:\n"
            + render_table(("WORKFLOW ID", "RUN ID", "TYPE", "PARENT CLOSE POLICY"), child_rows)
        )
    return "\n\n".join(sections)


def _timeout(duration: duration_pb2.Duration) -> str:
    value = duration.ToTimedelta()
    return format_duration(value) if value else "none"


def fetch_history(context: Context, execution: common_pb2.WorkflowExecution) -> history_pb2.History:
    """Every event of the run, all pages."""
    history = history_pb2.History()
    token = b""
    while True:
        response = context.connection.call(
            "GetWorkflowExecutionHistory",
            ws.GetWorkflowExecutionHistoryRequest(
                namespace=context.namespace,
                execution=execution,
                maximum_page_size=_HISTORY_PAGE_SIZE,
                next_page_token=token,
            ),
        )
        history.events.extend(response.history.events)
        token = response.next_page_token
        if not token:
            return history


def show_history(args: argparse.Namespace, context: Context) -> int:
    history = fetch_history(context, execution_from(args))
    if args.output == "json":
        print(json_format.MessageToJson(history))
    else:
        print(render_history(history))
    return 0
