"""Checked by mypy (see test_typing.py), never run: the public API is typed end to end."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, assert_type

from legato import workflow

from .workflows import Receipt, charge, make_receipt, refund


@workflow.defn
class Child:
    @workflow.run
    async def run(self, n: int) -> list[int]:
        return [n]


@workflow.defn
class Typed:
    @workflow.run
    async def run(self, order_id: str) -> str:
        charge_id: str = await workflow.execute_activity(
            charge, order_id, 1999, start_to_close_timeout=timedelta(seconds=10)
        )
        refunded: int = await workflow.execute_activity(refund, order_id, start_to_close_timeout=5)
        receipt: Receipt = await workflow.execute_activity(make_receipt, order_id, start_to_close_timeout=5)
        handle: workflow.ActivityHandle[str] = workflow.start_activity(
            charge, order_id, 1, start_to_close_timeout=5
        )
        handle.cancel()
        again: str = await handle
        anything = await workflow.execute_activity("by_name", start_to_close_timeout=5)
        # assert_type fails the check if a result degraded to Any.
        assert_type(await workflow.execute_activity(charge, "o", 1, start_to_close_timeout=5), str)
        assert_type(await workflow.execute_activity(refund, "o", start_to_close_timeout=5), int)
        assert_type(await workflow.execute_activity(make_receipt, "o", start_to_close_timeout=5), Receipt)
        assert_type(
            workflow.start_activity(charge, "o", 1, start_to_close_timeout=5), workflow.ActivityHandle[str]
        )
        assert_type(anything, Any)
        assert_type(await workflow.execute_child_workflow(Child.run, 3), list[int])
        assert_type(workflow.side_effect(lambda: 1.5), float)
        assert_type(workflow.now().year, int)
        child: list[int] = await workflow.execute_child_workflow(Child.run, 3, id="c")
        child_handle: workflow.ChildWorkflowHandle[list[int]] = await workflow.start_child_workflow(
            Child.run, 4
        )
        from_handle: list[int] = await child_handle
        await child_handle.signal("x", 1)
        effect: float = workflow.side_effect(lambda: 1.5)
        ok: bool = workflow.patched("p")
        await workflow.wait_condition(lambda: ok, timeout=timedelta(seconds=1))
        await workflow.sleep(1)
        info: workflow.WorkflowInfo = workflow.info()
        return (
            f"{charge_id}{refunded}{receipt}{again}{anything}{child}{from_handle}{effect}{info.workflow_id}"
        )

    @workflow.signal
    def sig(self, value: int) -> None: ...

    @workflow.signal(name="other")
    async def other(self) -> None: ...

    @workflow.query
    def q(self) -> int:
        return 1


same_class: type[Typed] = Typed
