"""``legato workflow ...``: the subcommand tree and the commands that change a workflow.

Reading commands (list, count, describe, show) live in ``inspection.py``; waiting
for a result lives in ``results.py``. Inputs are JSON on the command line, one
flag per argument (``--input '"order-1"' --input 1999``), turned into payloads
with the SDK's ``PayloadConverter`` so a Python worker receives exactly the
values it would get from ``legato.client``.
"""

from __future__ import annotations

import argparse
import sys
import uuid

import grpc

from legato._client_reset import ResetType, reset_request
from legato.api.v1 import common_pb2, enums_pb2, update_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.cli import batch, inspection, results
from legato.cli.arguments import (
    CommandGroup,
    Context,
    add_execution_options,
    add_output_option,
    duration_arg,
    execution_from,
    json_arg,
    key_json_arg,
    positive_int_arg,
)
from legato.cli.connection import DEFAULT_CALL_TIMEOUT, cli_identity
from legato.cli.errors import CliError, RpcFailure, UsageError
from legato.cli.format import decode_payloads, failure_text, render_fields, value_text
from legato.converter import PayloadConverter

ID_REUSE_POLICIES = {
    "allow-duplicate": enums_pb2.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
    "allow-duplicate-failed-only": enums_pb2.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
    "reject-duplicate": enums_pb2.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
    "terminate-if-running": enums_pb2.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING,
}

RESET_TYPES = {
    "first-workflow-task": ResetType.FIRST_WORKFLOW_TASK,
    "last-workflow-task": ResetType.LAST_WORKFLOW_TASK,
}

_converter = PayloadConverter()
# An update may wait for a worker to validate it and then for its handler to finish.
UPDATE_CALL_TIMEOUT = 70.0


def register(root: argparse._SubParsersAction, *, parents: list[argparse.ArgumentParser]) -> None:
    commands = CommandGroup(
        root, "workflow", help="start, inspect, signal, query, update and stop workflows", parents=parents
    )

    start = commands.add("start", start_workflow, "start a workflow and print its id and run id")
    _add_start_options(start)

    execute = commands.add("execute", execute_workflow, "start a workflow and wait for its result")
    _add_start_options(execute)
    _add_wait_timeout(execute)

    listing = commands.add("list", inspection.list_workflows, "list workflow runs, newest first")
    _add_filters(listing)
    listing.add_argument(
        "--limit",
        type=positive_int_arg,
        default=100,
        metavar="N",
        help="show at most N runs; 0 = all (default: 100)",
    )
    add_output_option(listing)

    count = commands.add("count", inspection.count_workflows, "count workflow runs")
    _add_filters(count)

    describe = commands.add(
        "describe", inspection.describe_workflow, "show a run's status, configuration and pending work"
    )
    add_execution_options(describe)
    add_output_option(describe)

    show = commands.add(
        "show", inspection.show_history, "show a run's event history (--output json for the SDK replayer)"
    )
    add_execution_options(show)
    add_output_option(show)

    signal = commands.add(
        "signal", signal_workflow, "send a signal to a workflow, or to every run a query matches"
    )
    _add_target_options(signal, "signal")
    signal.add_argument("--name", required=True, help="signal name")
    _add_inputs(signal, "signal argument")

    update = commands.add("update", update_workflow, "send an update to a workflow and print its result")
    add_execution_options(update)
    update.add_argument("--name", required=True, help="update name")
    update.add_argument(
        "--update-id",
        default="",
        help="the update's id: sending an id again returns the first update's result (default: a new id)",
    )
    update.add_argument(
        "--wait",
        choices=("accepted", "completed"),
        default="completed",
        help="return once the update is accepted, or wait for its result (default: completed)",
    )
    _add_inputs(update, "update argument")

    query = commands.add("query", query_workflow, "query a workflow and print the answer")
    add_execution_options(query)
    query.add_argument("--type", required=True, dest="query_type", metavar="NAME", help="query name")
    _add_inputs(query, "query argument")

    cancel = commands.add(
        "cancel", cancel_workflow, "ask a workflow (or every run a query matches) to cancel itself"
    )
    _add_target_options(cancel, "cancel")
    cancel.add_argument("--reason", default="", help="recorded in the history")

    terminate = commands.add(
        "terminate",
        terminate_workflow,
        "stop a workflow (or every run a query matches) at once, without running its code",
    )
    _add_target_options(terminate, "terminate")
    terminate.add_argument("--reason", required=True, help="recorded in the history")

    reset = commands.add(
        "reset", reset_workflow, "start a new run from the history up to a workflow task; end the current run"
    )
    add_execution_options(reset)
    point = reset.add_mutually_exclusive_group(required=True)
    point.add_argument(
        "--event-id",
        type=positive_int_arg,
        metavar="N",
        help="a WorkflowTaskCompleted event id (see `legato workflow show`)",
    )
    point.add_argument(
        "--type",
        dest="reset_type",
        choices=tuple(RESET_TYPES),
        help="go back to the first or the last completed workflow task",
    )
    reset.add_argument(
        "--reason", default="", help="recorded on both runs and in the terminated run's history"
    )
    reset.add_argument(
        "--reapply-signals",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="send the signals received after the point to the new run again (default: yes)",
    )

    result = commands.add("result", results.print_result, "wait for a workflow to close and print its result")
    add_execution_options(result)
    _add_wait_timeout(result)


def _add_inputs(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--input",
        type=json_arg,
        action="append",
        default=[],
        metavar="JSON",
        help=f"a {what} as JSON, e.g. '\"text\"' or '{{\"n\": 1}}'; repeat for more",
    )


def _add_target_options(parser: argparse.ArgumentParser, verb: str) -> None:
    """``--id`` (one workflow) or ``--query`` (a batch over every run it matches), and the batch's options."""
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--id", dest="workflow_id", metavar="ID", help="workflow id")
    target.add_argument(
        "--query",
        "-q",
        default="",
        metavar="QUERY",
        help=f"{verb} every run this list query matches, e.g. \"WorkflowType = 'Checkout' AND "
        "ExecutionStatus = 'Running'\" (a batch: see --rps and --yes)",
    )
    parser.add_argument("--run-id", default="", help="with --id: a specific run (default: the latest run)")
    batch.add_batch_options(parser)


def _check_target(args: argparse.Namespace) -> None:
    if args.query and args.run_id:
        raise UsageError("--run-id goes with --id, not with --query (a batch names each run itself)")


def _add_wait_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=duration_arg,
        metavar="DURATION",
        help="give up waiting after this long (default: wait forever)",
    )


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--type", dest="workflow_type", default="", metavar="TYPE", help="only workflows of this type"
    )
    parser.add_argument(
        "--status",
        choices=tuple(inspection.STATUSES),
        action="append",
        default=[],
        metavar="STATUS",
        help="only runs in this status: " + ", ".join(inspection.STATUSES) + "; repeat for several",
    )
    parser.add_argument("--task-queue", default="", metavar="QUEUE", help="only workflows on this task queue")
    parser.add_argument(
        "--query",
        "-q",
        default="",
        metavar="QUERY",
        help="list query, e.g. \"WorkflowType = 'Checkout' AND CustomerId = 'c-42' ORDER BY StartTime DESC\" "
        "(AND-ed with the other filters; see docs/visibility-queries.md)",
    )


def _add_start_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--type", required=True, dest="workflow_type", metavar="TYPE", help="workflow type name"
    )
    parser.add_argument("--task-queue", required=True, metavar="QUEUE", help="task queue the workers poll")
    parser.add_argument("--id", dest="workflow_id", metavar="ID", help="workflow id (default: a random UUID)")
    _add_inputs(parser, "workflow argument")
    for flag, what in (
        ("--execution-timeout", "all runs, retries and continue-as-new included"),
        ("--run-timeout", "one run"),
        ("--task-timeout", "one workflow task (default 10s)"),
    ):
        parser.add_argument(flag, type=duration_arg, metavar="DURATION", help=f"timeout of {what}")
    parser.add_argument(
        "--id-reuse-policy",
        choices=tuple(ID_REUSE_POLICIES),
        metavar="POLICY",
        help="may this id reuse the id of an earlier run: "
        + ", ".join(ID_REUSE_POLICIES)
        + " (default: allow-duplicate)",
    )
    parser.add_argument("--cron", metavar="SCHEDULE", default="", help="cron schedule, e.g. '*/5 * * * *'")
    parser.add_argument(
        "--memo",
        type=key_json_arg,
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="memo entry; repeat for more",
    )
    parser.add_argument(
        "--search-attribute",
        dest="search_attributes",
        type=key_json_arg,
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="a search attribute registered in the namespace, its value as JSON "
        "(e.g. Amount=12.5); repeat for more",
    )


def _start(args: argparse.Namespace, context: Context) -> common_pb2.WorkflowExecution:
    workflow_id = args.workflow_id or str(uuid.uuid4())
    request = ws.StartWorkflowExecutionRequest(
        namespace=context.namespace,
        workflow_id=workflow_id,
        workflow_type=common_pb2.WorkflowType(name=args.workflow_type),
        task_queue=common_pb2.TaskQueue(name=args.task_queue),
        input=_converter.to_payloads(args.input),
        identity=cli_identity(),
        request_id=str(uuid.uuid4()),
        workflow_id_reuse_policy=(
            ID_REUSE_POLICIES[args.id_reuse_policy]
            if args.id_reuse_policy
            else enums_pb2.WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED
        ),
        cron_schedule=args.cron,
        memo=common_pb2.Memo(fields={key: _converter.to_payload(value) for key, value in args.memo}),
    )
    for name, value in args.search_attributes:
        request.search_attributes.indexed_fields[name].CopyFrom(_converter.to_payload(value))
    for field, value in (
        ("workflow_execution_timeout", args.execution_timeout),
        ("workflow_run_timeout", args.run_timeout),
        ("workflow_task_timeout", args.task_timeout),
    ):
        if value is not None:
            getattr(request, field).FromTimedelta(value)
    response = context.connection.call("StartWorkflowExecution", request)
    return common_pb2.WorkflowExecution(workflow_id=workflow_id, run_id=response.run_id)


def _started_fields(execution: common_pb2.WorkflowExecution) -> str:
    return render_fields([("Workflow ID", execution.workflow_id), ("Run ID", execution.run_id)])


def start_workflow(args: argparse.Namespace, context: Context) -> int:
    print(_started_fields(_start(args, context)))
    return 0


def execute_workflow(args: argparse.Namespace, context: Context) -> int:
    execution = _start(args, context)
    # The ids go to stderr so that stdout carries only the result, for scripts.
    print(_started_fields(execution), file=sys.stderr)
    return results.wait_and_print(context, execution, timeout=args.timeout)


def signal_workflow(args: argparse.Namespace, context: Context) -> int:
    _check_target(args)
    if args.query:
        payloads = _converter.to_payloads(args.input)
        return batch.run(
            args,
            context,
            verb="signal",
            past="Signaled",
            request=lambda t: (
                "SignalWorkflowExecution",
                ws.SignalWorkflowExecutionRequest(
                    namespace=context.namespace,
                    workflow_execution=common_pb2.WorkflowExecution(
                        workflow_id=t.workflow_id, run_id=t.run_id
                    ),
                    signal_name=args.name,
                    input=payloads,
                    identity=cli_identity(),
                    request_id=str(uuid.uuid4()),
                ),
            ),
        )
    context.connection.call(
        "SignalWorkflowExecution",
        ws.SignalWorkflowExecutionRequest(
            namespace=context.namespace,
            workflow_execution=execution_from(args),
            signal_name=args.name,
            input=_converter.to_payloads(args.input),
            identity=cli_identity(),
            request_id=str(uuid.uuid4()),
        ),
    )
    print(f"Signal {args.name} sent to workflow {args.workflow_id}.")
    return 0


def update_workflow(args: argparse.Namespace, context: Context) -> int:
    execution = execution_from(args)
    stage = update_pb2.UPDATE_STAGE_ACCEPTED if args.wait == "accepted" else update_pb2.UPDATE_STAGE_COMPLETED
    request = ws.UpdateWorkflowExecutionRequest(
        namespace=context.namespace,
        workflow_execution=execution,
        update=update_pb2.UpdateInput(
            update_id=args.update_id or str(uuid.uuid4()),
            name=args.name,
            args=_converter.to_payloads(args.input),
        ),
        identity=cli_identity(),
        wait_stage=stage,
    )
    try:
        response = context.connection.call("UpdateWorkflowExecution", request, timeout=UPDATE_CALL_TIMEOUT)
        while response.stage < stage:  # the server answered before the handler finished: poll
            response = context.connection.call(
                "PollWorkflowExecutionUpdate",
                ws.PollWorkflowExecutionUpdateRequest(
                    namespace=context.namespace,
                    workflow_execution=response.workflow_execution,
                    update_id=response.update_id,
                    wait_stage=stage,
                ),
                timeout=UPDATE_CALL_TIMEOUT,
            )
    except RpcFailure as failure:
        if failure.code != grpc.StatusCode.DEADLINE_EXCEEDED:
            raise
        raise CliError(
            f"update {args.name!r} got no answer within {UPDATE_CALL_TIMEOUT:.0f}s: "
            "is a worker polling the workflow's task queue?"
        ) from None
    if response.outcome.HasField("failure"):
        what = "was rejected" if response.rejected else "failed"
        raise CliError(
            f"update {args.name!r} (id {response.update_id}) {what}: {failure_text(response.outcome.failure)}"
        )
    if response.stage < update_pb2.UPDATE_STAGE_COMPLETED:
        print(f"Update {args.name} accepted (id {response.update_id}).")
        return 0
    for value in decode_payloads(response.outcome.success):
        print(value_text(value, indent=2))
    return 0


def query_workflow(args: argparse.Namespace, context: Context) -> int:
    request = ws.QueryWorkflowRequest(
        namespace=context.namespace,
        execution=execution_from(args),
        query=ws.WorkflowQuery(query_type=args.query_type, query_args=_converter.to_payloads(args.input)),
    )
    try:
        response = context.connection.call("QueryWorkflow", request, timeout=DEFAULT_CALL_TIMEOUT)
    except RpcFailure as failure:
        if failure.code != grpc.StatusCode.DEADLINE_EXCEEDED:
            raise
        raise CliError(
            f"query {args.query_type!r} got no answer within {DEFAULT_CALL_TIMEOUT:.0f}s: "
            "is a worker polling the workflow's task queue?"
        ) from None
    for value in decode_payloads(response.query_result):
        print(value_text(value, indent=2))
    return 0


def cancel_workflow(args: argparse.Namespace, context: Context) -> int:
    _check_target(args)
    if args.query:
        return batch.run(
            args,
            context,
            verb="cancel",
            past="Cancellation requested for",
            request=lambda t: (
                "RequestCancelWorkflowExecution",
                ws.RequestCancelWorkflowExecutionRequest(
                    namespace=context.namespace,
                    workflow_execution=common_pb2.WorkflowExecution(
                        workflow_id=t.workflow_id, run_id=t.run_id
                    ),
                    identity=cli_identity(),
                    request_id=str(uuid.uuid4()),
                    reason=args.reason,
                ),
            ),
        )
    context.connection.call(
        "RequestCancelWorkflowExecution",
        ws.RequestCancelWorkflowExecutionRequest(
            namespace=context.namespace,
            workflow_execution=execution_from(args),
            identity=cli_identity(),
            request_id=str(uuid.uuid4()),
            reason=args.reason,
        ),
    )
    print(f"Cancellation requested for workflow {args.workflow_id}.")
    return 0


def terminate_workflow(args: argparse.Namespace, context: Context) -> int:
    _check_target(args)
    if args.query:
        return batch.run(
            args,
            context,
            verb="terminate",
            past="Terminated",
            request=lambda t: (
                "TerminateWorkflowExecution",
                ws.TerminateWorkflowExecutionRequest(
                    namespace=context.namespace,
                    workflow_execution=common_pb2.WorkflowExecution(
                        workflow_id=t.workflow_id, run_id=t.run_id
                    ),
                    reason=args.reason,
                    identity=cli_identity(),
                ),
            ),
        )
    context.connection.call(
        "TerminateWorkflowExecution",
        ws.TerminateWorkflowExecutionRequest(
            namespace=context.namespace,
            workflow_execution=execution_from(args),
            reason=args.reason,
            identity=cli_identity(),
        ),
    )
    print(f"Workflow {args.workflow_id} terminated.")
    return 0


def reset_workflow(args: argparse.Namespace, context: Context) -> int:
    if args.event_id == 0:
        raise CliError("--event-id must be a WorkflowTaskCompleted event id (1 or more)")
    request = reset_request(
        namespace=context.namespace,
        execution=execution_from(args),
        event_id=args.event_id,
        reset_type=RESET_TYPES[args.reset_type] if args.reset_type else None,
        reason=args.reason,
        reapply_signals=args.reapply_signals,
        identity=cli_identity(),
    )
    response = context.connection.call("ResetWorkflowExecution", request)
    print(f"Workflow {args.workflow_id} reset.")
    print(render_fields([("Workflow ID", args.workflow_id), ("New run ID", response.run_id)]))
    return 0
