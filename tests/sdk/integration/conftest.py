"""Every integration test runs on the session's event loop (the one the shared client lives on)."""

from __future__ import annotations

import inspect

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fn = getattr(item, "function", None)
        if fn is not None and inspect.iscoroutinefunction(fn) and "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)
