"""Which history shard owns a workflow id.

shard = blake2b-64(UTF-8 "<namespace_id>/<workflow_id>") mod num_history_shards,
with the 8-byte digest read big-endian. blake2b is in the standard library and
its output never changes across processes, platforms or Python versions (unlike
``hash()``), so every host of every version maps an id to the same shard. The
shard count is fixed at cluster creation (``init_cluster_metadata``): changing
it would move every workflow, so it is never changed.
"""

from __future__ import annotations

import hashlib


def shard_for(namespace_id: str, workflow_id: str, num_shards: int) -> int:
    """The shard id (0-based) owning (namespace_id, workflow_id)."""
    if num_shards < 1:
        raise ValueError(f"num_history_shards must be >= 1, got {num_shards}")
    digest = hashlib.blake2b(f"{namespace_id}/{workflow_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % num_shards
