"""Client and worker in this process, one workload after another, measured.

As in the yardstick (Temporal's dev server with its Python SDK), one asyncio
loop in the harness process hosts both the worker and the client, so harness
CPU competes with the server for the machine's cores; ``client_cpu_s_per_wf``
in the output shows how much.

Per workload: a warm-up (same workflow, not counted; its failures are
reported), then the measured closed loop. Around the measured part only, the
server's CPU seconds are read before and after and its RSS is sampled on a
thread. A watchdog stops the workload if the server process dies, rather than
waiting for every workflow to time out.

Workflow ids and the task queue carry a random run id, so repeated runs
against a long-lived ``--address`` server never collide with old executions
or pick up their leftover tasks.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import procstat
from bench.loadgen import LoadProgress, LoadResult, report_progress, run_closed_loop
from bench.report import WorkloadMeasurement
from bench.server import DevServer, tail
from bench.specs import LATENCY_TIMER_LATENESS, PlannedWorkload
from bench.stats import percentile_of_sorted


class ServerDiedError(RuntimeError):
    """The measured server process exited in the middle of a run."""


@dataclass(frozen=True)
class RunOptions:
    address: str
    namespace: str = "default"
    timeout_s: float = 300.0
    progress_interval_s: float | None = 1.0
    max_concurrent_workflow_tasks: int | None = None
    max_concurrent_activities: int | None = None
    interceptors: tuple[Any, ...] = ()
    """Client (and worker) interceptors, e.g. the SDK's TracingInterceptor for --trace-to."""
    db_pids: tuple[int, ...] = ()
    """Database processes on this machine (--db-pid) whose CPU per workflow is reported."""
    eager_start: bool = False
    """Start every workflow with ``request_eager_start`` (--eager-start)."""


async def run_workloads(
    plan: list[PlannedWorkload],
    *,
    options: RunOptions,
    server: DevServer | None,
    emit: Callable[[WorkloadMeasurement], None],
) -> list[WorkloadMeasurement]:
    from bench.workloads import ACTIVITIES, DRIVERS, WORKFLOWS, timer_fire_delays_s
    from legato.client import Client
    from legato.worker import Worker

    run_id = uuid.uuid4().hex[:8]
    task_queue = f"bench-{run_id}"
    client = await Client.connect(
        options.address, namespace=options.namespace, interceptors=options.interceptors
    )
    worker_options: dict[str, Any] = {}
    if options.max_concurrent_workflow_tasks is not None:
        worker_options["max_concurrent_workflow_tasks"] = options.max_concurrent_workflow_tasks
    if options.max_concurrent_activities is not None:
        worker_options["max_concurrent_activities"] = options.max_concurrent_activities

    start_options = {"request_eager_start": True} if options.eager_start else {}
    measurements = []
    try:
        async with Worker(
            client, task_queue=task_queue, workflows=WORKFLOWS, activities=ACTIVITIES, **worker_options
        ) as worker:
            for planned in plan:
                driver = DRIVERS[planned.spec.name]
                prefix = f"bench-{run_id}-{planned.spec.name}"

                def operation_for(id_prefix: str, driver: Any = driver) -> Callable[[int], Any]:
                    async def operation(index: int) -> None:
                        await driver(
                            client,
                            index=index,
                            workflow_id=f"{id_prefix}-{index}",
                            task_queue=task_queue,
                            **start_options,
                        )

                    return operation

                measurement = await _run_one(
                    planned,
                    worker=worker,
                    warmup_operation=operation_for(f"{prefix}-warmup"),
                    operation=operation_for(prefix),
                    options=options,
                    server=server,
                )
                if planned.spec.latency_kind == LATENCY_TIMER_LATENESS:
                    delays = await timer_fire_delays_s(client, [f"{prefix}-{i}" for i in range(planned.n)])
                    measurement.extra.update(_timer_fire_extras(delays))
                emit(measurement)
                measurements.append(measurement)
    finally:
        await client.close()
    return measurements


async def _run_one(
    planned: PlannedWorkload,
    *,
    warmup_operation: Callable[[int], Any],
    operation: Callable[[int], Any],
    options: RunOptions,
    server: DevServer | None,
    worker: Any,
) -> WorkloadMeasurement:
    name = planned.spec.name
    log(f"[{name}] warm-up: {planned.warmup} workflow(s)")
    warmup = LoadResult(n=0, conc=1)
    if planned.warmup:
        warmup = await _guarded(
            run_closed_loop(
                warmup_operation,
                n=planned.warmup,
                conc=min(planned.conc, planned.warmup),
                timeout_s=options.timeout_s,
            ),
            server=server,
        )
    log(f"[{name}] measuring: n={planned.n} conc={planned.conc}")

    sampler = procstat.PeakRssSampler(server.pid) if server is not None else None
    server_cpu_before = procstat.cpu_seconds(server.pid) if server is not None else None
    client_cpu_before = time.process_time()
    db_cpu_before = _db_cpu(options.db_pids)
    counters_before = _worker_counters(worker)
    if sampler is not None:
        sampler.start()
    progress = LoadProgress(n=planned.n)
    reporter = (
        asyncio.create_task(report_progress(progress, label=name, interval_s=options.progress_interval_s))
        if options.progress_interval_s
        else None
    )
    try:
        load = await _guarded(
            run_closed_loop(
                operation, n=planned.n, conc=planned.conc, timeout_s=options.timeout_s, progress=progress
            ),
            server=server,
        )
    finally:
        if reporter is not None:
            reporter.cancel()
        peak = sampler.stop() if sampler is not None else None
    client_cpu = time.process_time() - client_cpu_before
    db_cpu_after = _db_cpu(options.db_pids)
    server_cpu = (
        procstat.cpu_seconds(server.pid) - server_cpu_before
        if server is not None and server_cpu_before is not None
        else None
    )
    return WorkloadMeasurement(
        spec=planned.spec,
        load=load,
        warmup=planned.warmup,
        warmup_errors=warmup.errors,
        server_cpu_s=server_cpu,
        server_peak_rss_bytes=peak,
        server_hwm_rss_bytes=procstat.hwm_bytes(server.pid) if server is not None else None,
        client_cpu_s=client_cpu,
        extra={
            **_counter_extras(counters_before, _worker_counters(worker), n=planned.n),
            **_db_extras(db_cpu_before, db_cpu_after, n=planned.n),
        },
    )


def _timer_fire_extras(delays_s: list[float]) -> dict[str, Any]:
    """Percentiles of how late the timers fired in the server (see ``timer_fire_delays_s``)."""
    ordered = sorted(delays_s)

    def ms(p: float) -> float | None:
        value = percentile_of_sorted(ordered, p)
        return round(value * 1000, 1) if value is not None else None

    return {"timer_fired_late_p50_ms": ms(50), "timer_fired_late_p99_ms": ms(99)}


def _db_cpu(pids: tuple[int, ...]) -> float | None:
    """CPU seconds of the database processes so far; None when none were given or one is gone."""
    if not pids:
        return None
    try:
        return sum(procstat.cpu_seconds(pid) for pid in pids)
    except ProcessLookupError:
        return None


def _db_extras(before: float | None, after: float | None, *, n: int) -> dict[str, Any]:
    if before is None or after is None or n == 0:
        return {}
    return {"db_cpu_s_per_wf": round((after - before) / n, 6)}


_COUNTERS = (
    "workflow_tasks",
    "full_replays",
    "task_failures",
    "eager_activities",
    "eager_starts",
    "eager_workflow_tasks",
    "returned_workflow_tasks",
    "backlogged_tasks",
)


def _worker_counters(worker: Any) -> dict[str, int] | None:
    """The SDK worker's workflow counters, if it has them (``Worker.workflow_stats``)."""
    stats = getattr(worker, "workflow_stats", None)
    if stats is None:
        return None
    return {name: int(getattr(stats, name, 0)) for name in _COUNTERS}


def _counter_extras(before: dict[str, int] | None, after: dict[str, int] | None, *, n: int) -> dict[str, Any]:
    """Per-workload deltas: workflow tasks per workflow, full replays (cache misses), failed tasks."""
    if before is None or after is None or n == 0:
        return {}
    delta = {name: after[name] - before[name] for name in _COUNTERS}
    return {
        "workflow_tasks_per_wf": round(delta["workflow_tasks"] / n, 2),
        "full_replays": delta["full_replays"],
        "workflow_task_failures": delta["task_failures"],
        "eager_activities": delta["eager_activities"],
        "eager_starts": delta["eager_starts"],
        "eager_workflow_tasks": delta["eager_workflow_tasks"],
        "returned_workflow_tasks": delta["returned_workflow_tasks"],
        "backlogged_workflow_tasks": delta["backlogged_tasks"],
    }


async def _guarded(load: Any, *, server: DevServer | None) -> LoadResult:
    """Await the load, but give up at once if the server process exits.

    Cancelling the caller cancels the load too (``asyncio.wait`` alone would
    leave it running, still starting workflows against a stopping worker).
    """
    task = asyncio.ensure_future(load)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.5)
            if done:
                return task.result()
            code = server.exit_code() if server is not None else None
            if server is not None and code is not None:
                raise ServerDiedError(
                    f"legato-server exited with code {code} mid-run (log {server.log_path}):\n"
                    f"{tail(server.log_path)}"
                )
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
