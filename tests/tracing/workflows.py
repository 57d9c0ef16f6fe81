"""Workflows of the tracing tests: hello, a parent that starts and signals a child, continue-as-new."""

from __future__ import annotations

from datetime import timedelta

from legato import activity, workflow

STEP = timedelta(seconds=10)


@activity.defn
async def greet(name: str) -> str:
    return f"hello {name}"


@workflow.defn
class TracedHello:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(greet, name, start_to_close_timeout=STEP)


@workflow.defn
class TracedChild:
    def __init__(self) -> None:
        self.word: str | None = None

    @workflow.signal
    def proceed(self, word: str) -> None:
        self.word = word

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.wait_condition(lambda: self.word is not None)
        return await workflow.execute_activity(greet, f"{name} {self.word}", start_to_close_timeout=STEP)


@workflow.defn
class TracedParent:
    @workflow.run
    async def run(self, name: str) -> str:
        child = await workflow.start_child_workflow(
            TracedChild.run, name, id=f"{workflow.info().workflow_id}-child"
        )
        await child.signal(TracedChild.proceed, "go")
        return await child


@workflow.defn
class TracedLoop:
    @workflow.run
    async def run(self, left: int) -> str:
        await workflow.execute_activity(greet, str(left), start_to_close_timeout=STEP)
        if left > 0:
            workflow.continue_as_new(left - 1)
        return "done"


MATCHING_PATH = True
"""``disable_eager_activity_execution`` for the workers of the edge-by-edge trace tests.

They check the spans of an activity's trip through matching (DispatchActivityTask,
AddActivityTask); an eagerly dispatched activity skips that trip, and
``test_an_eager_activity_stays_in_the_trace`` checks its shape.
"""
