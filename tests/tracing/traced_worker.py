"""A traced worker process for the kill -9 test: ``python -m tests.tracing.traced_worker ADDRESS QUEUE SERVICE``.

It runs the worker-crash test's workflow with ``step_two`` hanging, exports
its spans to Jaeger under service SERVICE (batched every 100 ms, so the
workflow-side spans are in Jaeger before the test kills it), and is then
killed with SIGKILL mid-run.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta

from legato.client import Client
from legato.contrib.opentelemetry import TracingInterceptor
from legato.worker import Worker
from tests.sdk.integration.crash_worker import HANGING_ENV, CrashWorkflow, step_one, step_two
from tests.tracing.jaeger import SdkTracing


async def main(address: str, task_queue: str, service: str) -> None:
    tracing = SdkTracing.create(service)
    client = await Client.connect(
        address, interceptors=[TracingInterceptor(tracing.provider.get_tracer("legato-test"))]
    )
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[CrashWorkflow],
        activities=[step_one, step_two],
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
    )
    print("worker ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    os.environ[HANGING_ENV] = "1"
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
