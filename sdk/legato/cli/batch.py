"""``legato workflow terminate|cancel|signal --query ...``: one change to every run a list query matches.

The batch itself (list first, then change each run by its run id, skip runs
already closed, rate limit) is the SDK's ``legato._batch``, shared with
``Client.terminate_workflows`` and friends; its docstring says why it runs in
the client rather than as a server-side job. This module adds what a person
at a terminal needs: the count and a confirmation before anything changes
(``--yes`` skips it, and is required when stdin is not a terminal), progress
``n/total`` on stderr while it runs, and a summary on stdout. The exit code is
1 if any run failed (the first failures are printed), else 0.

The CLI's connection is blocking gRPC; the calls run in worker threads
(``asyncio.to_thread``) so the SDK's asyncio pacing drives them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from legato._batch import (
    DEFAULT_CONCURRENCY,
    DEFAULT_RPS,
    BatchProgress,
    BatchTarget,
    check_rate,
    collect_targets,
    run_batch,
)
from legato.api.v1 import workflow_service_pb2 as ws
from legato.cli.arguments import Context
from legato.cli.errors import CliError, RpcFailure

PROGRESS_INTERVAL_S = 0.5
FAILURES_SHOWN = 10
PAGE_SIZE = 1000


def rate_float_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of calls per second, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected more than 0 calls per second, got {text}")
    return value


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    """``--rps``, ``--concurrency`` and ``--yes``, which only matter with ``--query``."""
    parser.add_argument(
        "--rps",
        type=rate_float_arg,
        default=DEFAULT_RPS,
        metavar="N",
        help=f"with --query: at most N calls a second (default {DEFAULT_RPS:g})",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"with --query: at most N calls in flight (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument("--yes", "-y", action="store_true", help="with --query: do not ask for confirmation")


async def _pages(context: Context, query: str) -> AsyncIterator[list[BatchTarget]]:
    token = b""
    while True:
        request = ws.ListWorkflowExecutionsRequest(
            namespace=context.namespace, page_size=PAGE_SIZE, next_page_token=token, query=query
        )
        response = context.connection.call("ListWorkflowExecutions", request)
        yield [BatchTarget(e.execution.workflow_id, e.execution.run_id) for e in response.executions]
        token = response.next_page_token
        if not token:
            return


def _confirm(args: argparse.Namespace, *, verb: str, count: int) -> None:
    if args.yes or count == 0:
        return
    question = f"{verb.capitalize()} {count} workflow run(s) matching {args.query!r}?"
    if not sys.stdin.isatty():
        raise CliError(f"{question} Not confirmed: pass --yes to run the batch without a terminal")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise CliError("batch not confirmed; nothing was changed")


class _ProgressLine:
    """``verb n/total ...`` on stderr: rewritten in place on a terminal, a line per interval otherwise."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, progress: BatchProgress, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < PROGRESS_INTERVAL_S:
            return
        self.last = now
        text = (
            f"{self.verb} {progress.done}/{progress.total} "
            f"(succeeded {progress.succeeded}, skipped {progress.skipped}, failed {progress.failed})"
        )
        end = "\n" if final or not self.tty else ""
        print(("\r" if self.tty else "") + text, end=end, file=sys.stderr, flush=True)


def run(
    args: argparse.Namespace,
    context: Context,
    *,
    verb: str,
    past: str,
    request: Callable[[BatchTarget], tuple[str, Any]],
) -> int:
    """List the runs ``args.query`` matches, confirm, apply ``request(target) -> (rpc, message)`` to each."""
    try:
        check_rate(rps=args.rps, concurrency=args.concurrency)
    except ValueError as err:
        raise CliError(str(err)) from None
    targets = asyncio.run(collect_targets(_pages(context, args.query)))
    _confirm(args, verb=verb, count=len(targets))
    show = _ProgressLine(verb)

    async def apply(target: BatchTarget) -> None:
        rpc, message = request(target)
        await asyncio.to_thread(context.connection.call, rpc, message)

    started = time.monotonic()
    progress = asyncio.run(
        run_batch(
            targets,
            apply,
            status_of=lambda err: err.code if isinstance(err, RpcFailure) else None,
            rps=args.rps,
            concurrency=args.concurrency,
            on_progress=show,
        )
    )
    show(progress, final=True)
    print(
        f"{past} {progress.succeeded} of {progress.total} workflow run(s) matching the query "
        f"(skipped {progress.skipped} already closed, failed {progress.failed}) "
        f"in {time.monotonic() - started:.1f}s."
    )
    for failure in progress.failures[:FAILURES_SHOWN]:
        print(f"failed: {failure.workflow_id} run {failure.run_id}: {failure.message}", file=sys.stderr)
    return 1 if progress.failed else 0
