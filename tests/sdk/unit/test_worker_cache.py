"""The sticky cache's LRU bound and per-run locks."""

from __future__ import annotations

import asyncio

from legato._worker_cache import WorkflowCache


def test_least_recently_used_run_is_evicted_first() -> None:
    evicted: list[str] = []
    cache = WorkflowCache(2, on_evict=lambda run_id, _: evicted.append(run_id))
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert evicted == ["b"]
    assert cache.run_ids() == ["a", "c"]


async def test_busy_runs_are_not_evicted() -> None:
    cache = WorkflowCache(1)
    cache.put("a", 1)
    async with cache.lock("a"):
        cache.put("b", 2)
        assert "a" in cache and "b" in cache  # over the bound while "a" is busy
    cache.put("c", 3)
    assert cache.run_ids() == ["c"]


async def test_lock_serialises_one_run_but_not_others() -> None:
    cache = WorkflowCache(10)
    order: list[str] = []

    async def hold(run_id: str, label: str) -> None:
        async with cache.lock(run_id):
            order.append(f"{label}-in")
            await asyncio.sleep(0.01)
            order.append(f"{label}-out")

    await asyncio.gather(hold("r1", "first"), hold("r1", "second"), hold("r2", "other"))
    assert order.index("first-out") < order.index("second-in")
    assert order.index("other-in") < order.index("first-out")
    assert cache._locks == {}  # locks are dropped when nobody holds them


def test_zero_size_cache_keeps_nothing() -> None:
    cache = WorkflowCache(0)
    cache.put("a", 1)
    assert len(cache) == 0
