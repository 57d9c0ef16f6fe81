"""What every sample shares: where the server is, and how to run one worker + one workflow."""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from legato.client import Client
from legato.worker import Worker

T = TypeVar("T")

ADDRESS = os.environ.get("LEGATO_ADDRESS", "127.0.0.1:7233")
NAMESPACE = os.environ.get("LEGATO_NAMESPACE", "default")


def unique_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def run_with_worker(
    *,
    task_queue: str,
    workflows: Sequence[type],
    activities: Sequence[Callable[..., Any]] = (),
    body: Callable[[Client], Awaitable[T]],
) -> T:
    """Connect, run a worker for the sample's task queue while ``body`` drives the workflow."""
    client = await Client.connect(ADDRESS, namespace=NAMESPACE)
    async with Worker(client, task_queue=task_queue, workflows=list(workflows), activities=list(activities)):
        return await body(client)
