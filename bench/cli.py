"""Argument parsing and the top-level run: server up, workloads, reports, exit code.

Usage text lives in ``bench/__main__.py`` (its docstring is ``--help``).
Everything here except ``_run`` is SDK-free so it can be unit-tested without
a server; the SDK is imported only when a run starts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import sys
from collections.abc import Sequence
from typing import Any

from bench.report import (
    RunContext,
    WorkloadMeasurement,
    build_record,
    format_table,
    git_commit,
    git_dirty,
    json_line,
)
from bench.specs import WORKLOAD_NAMES, WORKLOADS, PlannedWorkload

EXIT_OK = 0
EXIT_WORKFLOW_ERRORS = 1
EXIT_USAGE = 2  # argparse's own
EXIT_INFRASTRUCTURE = 3
EXIT_INTERRUPTED = 130


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _address(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return text


def _cluster(text: str) -> dict[str, int]:
    from bench.stores import parse_cluster

    try:
        return parse_cluster(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def build_parser(description: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--workload",
        nargs="+",
        choices=WORKLOAD_NAMES,
        metavar="NAME",
        help=f"workloads to run, in this order (default: all: {' '.join(WORKLOAD_NAMES)})",
    )
    parser.add_argument("--n", type=_positive_int, help="workflows per workload (default: per workload)")
    parser.add_argument(
        "--conc",
        type=_positive_int,
        help="max workflows in flight (default: per workload; 1 = latency floor)",
    )
    parser.add_argument(
        "--warmup",
        type=_non_negative_int,
        help="warm-up workflows per workload, not counted (default: per workload)",
    )
    parser.add_argument("--address", type=_address, help="use this running server, start none (HOST:PORT)")
    parser.add_argument(
        "--store",
        nargs="+",
        choices=("sqlite", "mysql", "cassandra"),
        default=["sqlite"],
        metavar="STORE",
        help="database of the started server: sqlite (start-dev, default) or mysql/cassandra "
        "(`legato-server start` on a fresh database; scripts/infra/*.sh start them); several run one "
        "after another, each on its own server, into one table (e.g. --store sqlite mysql cassandra)",
    )
    parser.add_argument(
        "--cluster",
        type=_cluster,
        metavar="ROLE=N,...",
        help="start the roles as separate processes, e.g. frontend=1,history=2,matching=1 "
        "(needs --store mysql or cassandra); server CPU is summed over them",
    )
    store = parser.add_mutually_exclusive_group()
    store.add_argument(
        "--db-file", metavar="PATH", help="SQLite file for the started server (kept afterwards)"
    )
    store.add_argument("--in-memory", action="store_true", help="started server keeps everything in memory")
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `legato-server start-dev` (repeatable; write --server-arg=--flag for flags)",
    )
    parser.add_argument("--namespace", default="default", help="namespace (default: default)")
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=300.0,
        help="seconds one workflow may take before it is an error",
    )
    parser.add_argument(
        "--startup-timeout",
        type=_positive_float,
        default=30.0,
        help="seconds to wait for the server to serve",
    )
    parser.add_argument(
        "--max-concurrent-workflow-tasks", type=_positive_int, help="worker option (default: SDK's)"
    )
    parser.add_argument(
        "--max-concurrent-activities", type=_positive_int, help="worker option (default: SDK's)"
    )
    parser.add_argument(
        "--progress-interval",
        type=_positive_float,
        default=1.0,
        help="seconds between progress lines (stderr)",
    )
    parser.add_argument(
        "--trace-to",
        metavar="ENDPOINT",
        help="export spans of the started server and of the client/worker over OTLP gRPC to ENDPOINT "
        "(e.g. http://127.0.0.1:4317 of scripts/infra/jaeger.sh), to measure tracing's cost; default off",
    )
    parser.add_argument(
        "--db-pid",
        metavar="PID",
        type=int,
        action="append",
        default=[],
        help="a database process on this machine (mariadbd, Cassandra's java) whose CPU seconds per "
        "workflow go into the JSON as db_cpu_s_per_wf; repeat for several",
    )
    parser.add_argument(
        "--eager-start",
        action="store_true",
        help="start workflows with request_eager_start (the first workflow task comes back in the start "
        "response, since the harness's worker shares its client); the JSON says eager_start and counts "
        "eager_starts",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines, only the final table")
    parser.add_argument("--no-uvloop", action="store_true", help="use the standard asyncio loop")
    return parser


def parse_args(argv: Sequence[str] | None = None, *, description: str | None = None) -> argparse.Namespace:
    parser = build_parser(description)
    args = parser.parse_args(argv)
    if args.address and (args.db_file or args.in_memory or args.server_arg):
        parser.error(
            "--db-file, --in-memory and --server-arg configure the started server; not with --address"
        )
    args.store = list(dict.fromkeys(args.store))
    if args.cluster and "sqlite" in args.store:
        parser.error("--cluster needs --store mysql or cassandra (SQLite is for one process)")
    if args.address and (args.cluster or args.store != ["sqlite"]):
        parser.error("--store and --cluster configure the started server; not with --address")
    if args.store != ["sqlite"] and (args.db_file or args.in_memory or args.server_arg):
        parser.error("--db-file, --in-memory and --server-arg are for the SQLite dev server")
    names = args.workload or list(WORKLOAD_NAMES)
    args.workload = list(dict.fromkeys(names))  # keep order, drop repeats
    return args


def plan_workloads(args: argparse.Namespace) -> list[PlannedWorkload]:
    """Sizes per workload: its defaults from ``bench.specs``, overridden by --n/--conc/--warmup."""
    plan = []
    for name in args.workload:
        spec = WORKLOADS[name]
        n = args.n if args.n is not None else spec.n
        conc = args.conc if args.conc is not None else spec.conc
        warmup = args.warmup if args.warmup is not None else spec.warmup
        plan.append(PlannedWorkload(spec=spec, n=n, conc=min(conc, n), warmup=warmup))
    return plan


def _loop_factory(no_uvloop: bool) -> tuple[Any, str]:
    if not no_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop, "uvloop"
    return None, "asyncio"


def main(argv: Sequence[str] | None = None, *, description: str | None = None) -> int:
    args = parse_args(argv, description=description)
    factory, loop_name = _loop_factory(args.no_uvloop)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_run(args, loop_name=loop_name))


def _stderr(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


async def _run(args: argparse.Namespace, *, loop_name: str) -> int:
    plan = plan_workloads(args)
    # SIGTERM (timeout(1), CI cancelling a job) takes the same path as Ctrl-C: cancel
    # the run so the finally below stops the server, which sits in its own session.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    records: list[dict[str, Any]] = []
    failed = interrupted = False
    sdk_tracing = None
    if args.trace_to:
        from bench.tracing import export_to

        sdk_tracing = export_to(args.trace_to)
    try:
        for kind in args.store:
            failed, interrupted = await _run_store(
                args, kind, plan=plan, loop_name=loop_name, records=records, sdk_tracing=sdk_tracing
            )
            if failed or interrupted:
                break
    finally:
        if sdk_tracing is not None:
            sdk_tracing.close()
    if records:
        _stderr("")
        _stderr(format_table(records))
    if failed:
        return EXIT_INFRASTRUCTURE
    if interrupted:
        return EXIT_INTERRUPTED
    bad = [r for r in records if r["errors"] or r["warmup_errors"]]
    if bad:
        _stderr("")
        for record in bad:
            _stderr(
                f"{record['store']} {record['workload']}: {record['errors']} of {record['n']} failed"
                f" (+{record['warmup_errors']} in warm-up)"
            )
            for entry in record.get("error_summary", []):
                _stderr(f"  {entry['count']:>5} x {entry['error']}")
        return EXIT_WORKFLOW_ERRORS
    return EXIT_OK


async def _run_store(
    args: argparse.Namespace,
    kind: str,
    *,
    plan: list[PlannedWorkload],
    loop_name: str,
    records: list[dict[str, Any]],
    sdk_tracing: Any,
) -> tuple[bool, bool]:
    """Start the server on ``kind`` (unless --address), run the plan, stop it; (failed, interrupted)."""
    from bench import procstat
    from bench.runner import RunOptions, ServerDiedError, run_workloads
    from bench.server import DevServer, DevServerOptions, ServerStartError
    from bench.stores import database_port

    server: Any = None
    failed = interrupted = False
    db_pids = list(args.db_pid)
    if not db_pids and not args.address:
        port = database_port(kind)
        listener = procstat.listening_pid(port) if port is not None else None
        if listener is not None:
            db_pids.append(listener)  # the local database, for db_cpu_s_per_wf
    try:
        if args.address:
            address, store = args.address, "external"
        elif kind != "sqlite":
            from bench.stores import StoreServer

            server = await StoreServer.start(
                kind=kind, cluster=args.cluster, startup_timeout_s=max(args.startup_timeout, 60.0)
            )
            address, store = server.address, server.store
            _stderr(
                f"legato-server on {store}: supervisor pid {server.pid}, frontend {address}, "
                f"processes {', '.join(server.addresses)}, log {server.log_path}"
            )
        else:
            server = await DevServer.start(
                DevServerOptions(
                    db_file=args.db_file,
                    in_memory=args.in_memory,
                    extra_args=args.server_arg,
                    startup_timeout_s=args.startup_timeout,
                )
            )
            address, store = server.address, server.store
            _stderr(
                f"legato-server start-dev: pid {server.pid} at {address}, store {store}"
                f"{f' ({server.db_path})' if server.db_path else ''}, log {server.log_path}; harness pid {os.getpid()}"
            )
        context = RunContext(
            commit=git_commit(),
            store=store,
            address=address,
            loop=loop_name,
            extra={
                "dirty": git_dirty(),
                "python": platform.python_version(),
                "tracing": args.trace_to or "off",
                "eager_start": args.eager_start,
            },
        )

        def emit(measurement: WorkloadMeasurement) -> None:
            record = build_record(measurement, context)
            records.append(record)
            sys.stdout.write(json_line(record) + "\n")
            sys.stdout.flush()

        await run_workloads(
            plan,
            options=RunOptions(
                address=address,
                namespace=args.namespace,
                timeout_s=args.timeout,
                progress_interval_s=None if args.quiet else args.progress_interval,
                max_concurrent_workflow_tasks=args.max_concurrent_workflow_tasks,
                max_concurrent_activities=args.max_concurrent_activities,
                interceptors=sdk_tracing.interceptors() if sdk_tracing is not None else (),
                db_pids=tuple(db_pids),
                eager_start=args.eager_start,
            ),
            server=server,
            emit=emit,
        )
    except (ServerStartError, ServerDiedError) as error:
        _stderr(f"error: {error}")
        failed = True
    except asyncio.CancelledError:  # Ctrl-C or SIGTERM: report what finished, then stop
        _stderr("interrupted")
        interrupted = True
    finally:
        if server is not None:
            server.stop(keep_workdir=failed)
    return failed, interrupted
