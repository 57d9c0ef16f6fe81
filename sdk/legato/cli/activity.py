"""``legato activity complete|fail``: answer an activity that completes asynchronously.

An activity that called ``activity.raise_complete_async()`` waits for someone to
answer its attempt. Name it by ``--task-token`` (the hex of
``activity.info().task_token``) or by ``--workflow-id`` + ``--activity-id``
(``--run-id`` optional: the current run). The result is JSON, turned into a
payload with the SDK's ``PayloadConverter`` like ``legato workflow start``'s
inputs; a failure becomes an ``ApplicationError`` the workflow can catch.
"""

from __future__ import annotations

import argparse

from legato.api.v1 import workflow_service_pb2 as ws
from legato.cli.arguments import CommandGroup, Context, json_arg
from legato.cli.connection import cli_identity
from legato.cli.errors import UsageError
from legato.converter import FailureConverter, PayloadConverter
from legato.exceptions import ApplicationError

_converter = PayloadConverter()


def register(root: argparse._SubParsersAction, *, parents: list[argparse.ArgumentParser]) -> None:
    commands = CommandGroup(
        root, "activity", help="complete or fail an activity that completes asynchronously", parents=parents
    )
    complete = commands.add("complete", complete_activity, "complete an activity attempt with a result")
    _add_target(complete)
    complete.add_argument(
        "--result", type=json_arg, default=None, metavar="JSON", help="the result as JSON (default null)"
    )
    fail = commands.add(
        "fail", fail_activity, "fail an activity attempt (it is retried per its retry policy)"
    )
    _add_target(fail)
    fail.add_argument("--reason", required=True, help="the failure message the workflow sees")
    fail.add_argument(
        "--type", dest="error_type", default="", help="the ApplicationError type (default none)"
    )
    fail.add_argument(
        "--non-retryable", action="store_true", help="fail for good instead of letting the server retry"
    )


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task-token", metavar="HEX", help="the attempt's task token, hex encoded")
    parser.add_argument("--workflow-id", "-w", help="the workflow that scheduled the activity")
    parser.add_argument("--run-id", "-r", default="", help="the run (default: the current one)")
    parser.add_argument("--activity-id", help="the activity id the workflow gave it")


def _target(args: argparse.Namespace) -> tuple[bytes, ws.ActivityReference | None]:
    if args.task_token:
        if args.workflow_id or args.activity_id or args.run_id:
            raise UsageError("give either --task-token or --workflow-id with --activity-id, not both")
        try:
            token = bytes.fromhex(args.task_token)
        except ValueError:
            raise UsageError(
                f"--task-token {args.task_token!r} is not hex; pass activity.info().task_token.hex()"
            ) from None
        return token, None
    if not args.workflow_id or not args.activity_id:
        raise UsageError("name the activity: --task-token HEX, or --workflow-id ID --activity-id ID")
    return b"", ws.ActivityReference(
        workflow_id=args.workflow_id, run_id=args.run_id, activity_id=args.activity_id
    )


def complete_activity(args: argparse.Namespace, context: Context) -> int:
    token, reference = _target(args)
    result = _converter.to_payloads([args.result])
    if reference is None:
        context.connection.call(
            "RespondActivityTaskCompleted",
            ws.RespondActivityTaskCompletedRequest(
                task_token=token, result=result, identity=cli_identity(), namespace=context.namespace
            ),
        )
    else:
        context.connection.call(
            "RespondActivityTaskCompletedById",
            ws.RespondActivityTaskCompletedByIdRequest(
                activity=reference, result=result, identity=cli_identity(), namespace=context.namespace
            ),
        )
    print("Activity completed.")
    return 0


def fail_activity(args: argparse.Namespace, context: Context) -> int:
    token, reference = _target(args)
    error = ApplicationError(args.reason, type=args.error_type or None, non_retryable=args.non_retryable)
    failure = FailureConverter().to_failure(error, _converter)
    if reference is None:
        context.connection.call(
            "RespondActivityTaskFailed",
            ws.RespondActivityTaskFailedRequest(
                task_token=token, failure=failure, identity=cli_identity(), namespace=context.namespace
            ),
        )
    else:
        context.connection.call(
            "RespondActivityTaskFailedById",
            ws.RespondActivityTaskFailedByIdRequest(
                activity=reference, failure=failure, identity=cli_identity(), namespace=context.namespace
            ),
        )
    print("Activity failed.")
    return 0
