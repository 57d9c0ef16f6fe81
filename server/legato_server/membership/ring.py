"""A consistent-hash ring: which live host owns a history shard or a task queue.

Each host is placed on the ring at ``virtual_nodes`` points (hashes of
"<host_id>#<i>"); a key belongs to the first point at or after its own hash,
wrapping around. Every host computes the ring from the same member list, so
all hosts agree on owners without talking to each other, and when a host
joins or leaves only the keys next to its points move (about 1/N of them).

Hashes are blake2b-64, stable across processes and Python versions (unlike
``hash()``).
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable

DEFAULT_VIRTUAL_NODES = 64


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class HashRing:
    def __init__(self, host_ids: Iterable[str], *, virtual_nodes: int = DEFAULT_VIRTUAL_NODES) -> None:
        self.hosts: tuple[str, ...] = tuple(sorted(set(host_ids)))
        points = sorted((_hash(f"{host}#{i}"), host) for host in self.hosts for i in range(virtual_nodes))
        self._hashes = [point for point, _ in points]
        self._owners = [host for _, host in points]

    def owner(self, key: str) -> str:
        """The host owning ``key``; LookupError on an empty ring."""
        if not self._hashes:
            raise LookupError("no live hosts in the membership ring")
        index = bisect.bisect_left(self._hashes, _hash(key)) % len(self._hashes)
        return self._owners[index]

    def shard_owner(self, shard_id: int) -> str:
        return self.owner(f"shard/{shard_id}")

    def task_queue_owner(self, namespace_id: str, name: str, task_type: int) -> str:
        return self.owner(f"task-queue/{namespace_id}/{name}/{task_type}")

    def shards_of(self, host_id: str, num_shards: int) -> list[int]:
        """The shard ids (0-based) ``host_id`` owns out of ``num_shards``."""
        if not self._hashes:
            return []
        return [shard for shard in range(num_shards) if self.shard_owner(shard) == host_id]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HashRing) and self._owners == other._owners and self._hashes == other._hashes

    def __hash__(self) -> int:
        return hash(self.hosts)
