"""The Job's program: start N hello workflows, wait for every result, print them.

Output, one line each, which the e2e test reads with ``kubectl logs``::

    started hello-<run>-007
    result hello-<run>-007: Hello, e2e-7!
    completed 50/50

Starts are paced (``--pace`` seconds apart) so the run is still going when the
test deletes the server pod. A start or a wait that hits a restarting server
is retried until ``--deadline``; a start whose first attempt did reach the
server (so the retry says "already started") counts as started. Exit code 0
only when every workflow returned the expected greeting.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hello_activity import TASK_QUEUE, HelloWorkflow

from legato.client import Client, RPCRetryConfig, WorkflowHandle
from legato.exceptions import RPCError, WorkflowAlreadyStartedError

T = TypeVar("T")


async def retrying(what: str, deadline: float, call: Callable[[], Awaitable[T]]) -> T:
    """Retry ``call`` on RPC errors (the server restarting) until ``deadline`` (monotonic)."""
    while True:
        try:
            return await call()
        except RPCError as err:
            if time.monotonic() > deadline:
                raise
            print(f"retrying {what}: {err.status}", flush=True)
            await asyncio.sleep(1.0)


async def main(count: int, pace: float, deadline_s: float) -> int:
    deadline = time.monotonic() + deadline_s
    address = os.environ["LEGATO_ADDRESS"]
    retry = RPCRetryConfig(max_attempts=1000, max_elapsed=deadline_s)
    client = await Client.connect(
        address, namespace=os.environ.get("LEGATO_NAMESPACE", "default"), rpc_retry=retry
    )
    run = uuid.uuid4().hex[:6]

    async def start(index: int) -> WorkflowHandle[Any]:
        workflow_id = f"hello-{run}-{index:03d}"

        async def once() -> WorkflowHandle[Any]:
            try:
                return await client.start_workflow(
                    HelloWorkflow.run, f"e2e-{index}", id=workflow_id, task_queue=TASK_QUEUE
                )
            except WorkflowAlreadyStartedError:
                return client.get_workflow_handle(workflow_id)

        handle = await retrying(f"start {workflow_id}", deadline, once)
        print(f"started {workflow_id}", flush=True)
        return handle

    async def finish(index: int, handle: WorkflowHandle[Any]) -> bool:
        result = await retrying(f"result {handle.id}", deadline, handle.result)
        print(f"result {handle.id}: {result}", flush=True)
        return bool(result == f"Hello, e2e-{index}!")

    waits = []
    for index in range(count):
        handle = await start(index)
        waits.append(asyncio.create_task(finish(index, handle)))
        await asyncio.sleep(pace)
    outcomes = await asyncio.gather(*waits)
    print(f"completed {sum(outcomes)}/{count}", flush=True)
    await client.close()
    return 0 if all(outcomes) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--pace", type=float, default=0.2, help="seconds between starts")
    parser.add_argument("--deadline", type=float, default=300.0, help="give up after this many seconds")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    raise SystemExit(asyncio.run(main(args.count, args.pace, args.deadline)))
