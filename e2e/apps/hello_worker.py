"""The worker Deployment's program: the hello_activity sample's worker, until SIGTERM.

It runs in the Legato image with the sample's files next to it (a ConfigMap
mounted at /app), connects to ``LEGATO_ADDRESS`` (the frontend Service's DNS
name), marks itself ready by creating /tmp/ready (the readiness probe), and on
SIGTERM stops polling and drains in-flight tasks before exiting.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

from hello_activity import TASK_QUEUE, HelloWorkflow, compose_greeting

from legato.client import Client, RPCRetryConfig
from legato.worker import Worker

READY_FILE = Path(os.environ.get("READY_FILE", "/tmp/ready"))


async def main() -> None:
    address = os.environ["LEGATO_ADDRESS"]
    # The server may be restarting while we connect: keep trying for minutes.
    retry = RPCRetryConfig(max_attempts=1000, max_elapsed=300.0)
    client = await Client.connect(
        address, namespace=os.environ.get("LEGATO_NAMESPACE", "default"), rpc_retry=retry
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with Worker(
        client, task_queue=TASK_QUEUE, workflows=[HelloWorkflow], activities=[compose_greeting]
    ):
        await asyncio.to_thread(READY_FILE.touch)
        print(f"worker polling {TASK_QUEUE!r} on {address}", flush=True)
        await stop.wait()
        print("SIGTERM: draining", flush=True)
    await client.close()
    print("worker stopped", flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(main())
