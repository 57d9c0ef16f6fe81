"""Names of task queue partitions, shared by matching, its routing client and the frontend.

A normal task queue is split into ``count`` partitions so one busy queue's
tasks and pollers spread over several matching hosts: each partition is its
own queue key, leased, persisted and routed by the matching ring on its own.
Partition 0, the *root*, keeps the queue's own name, so a queue's existing
backlog and a one-partition setup are the same as before partitions existed.
Partition k > 0 is named ``/_sys/<name>/<k>``; the ``/_sys/`` prefix is
reserved (the frontend refuses task queue names that start with it), so a
partition's name never collides with a user's queue. Names users see (poll
responses, histories, the CLI) are always the queue's own name.

Sticky queues have one partition: a sticky queue belongs to one worker, and
its tasks must reach that worker's host, not be spread.
"""

from __future__ import annotations

from dataclasses import dataclass

RESERVED_PREFIX = "/_sys/"
DEFAULT_PARTITIONS = 4
MAX_PARTITIONS = 64
"""More partitions than this buys nothing (a queue is served by a handful of
hosts) and costs one lease and one reader per partition."""


@dataclass(frozen=True, slots=True)
class Partition:
    root: str
    """The task queue's own name."""
    index: int
    """0 for the root partition."""

    @property
    def name(self) -> str:
        """The partition's queue key name: the root's name, or ``/_sys/<root>/<index>``."""
        return self.root if self.index == 0 else f"{RESERVED_PREFIX}{self.root}/{self.index}"

    @property
    def is_root(self) -> bool:
        return self.index == 0


def parse(name: str) -> Partition:
    """The partition a queue key name stands for (a name without the reserved prefix is a root)."""
    if name.startswith(RESERVED_PREFIX):
        root, _, index = name[len(RESERVED_PREFIX) :].rpartition("/")
        if root and index.isdigit() and int(index) > 0:
            return Partition(root=root, index=int(index))
    return Partition(root=name, index=0)


def is_reserved(name: str) -> bool:
    return name.startswith(RESERVED_PREFIX)


def check_count(count: int) -> int:
    """``count`` if it is a valid partition count, else ValueError naming the allowed range."""
    if not 1 <= count <= MAX_PARTITIONS:
        raise ValueError(
            f"task_queue_partitions: expected 1 to {MAX_PARTITIONS} (default {DEFAULT_PARTITIONS}), got {count}"
        )
    return count
