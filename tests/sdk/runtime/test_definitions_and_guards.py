"""Definitions are validated at import; workflow code cannot reach outside."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from legato import interceptor as icp
from legato import workflow
from legato._workflow_instance import get_workflow_definition

from .history import PC, Driver, HistoryBuilder, decode, new_instance
from .workflows import Checkout


def test_definition_contents() -> None:
    definition = get_workflow_definition(Checkout)
    assert definition.name == "Checkout"
    assert definition.arg_types == [str]
    assert definition.return_type is str
    assert set(definition.signals) == {"approve"}
    assert set(definition.queries) == {"current_status"}


def test_undecorated_class_is_a_clear_type_error() -> None:
    class Plain:
        pass

    with pytest.raises(TypeError, match="Plain is not a workflow: decorate the class with @workflow.defn"):
        get_workflow_definition(Plain)


def test_definition_mistakes_fail_at_import() -> None:
    with pytest.raises(TypeError, match="no `@workflow.run"):

        @workflow.defn
        class NoRun:
            pass

    with pytest.raises(TypeError, match="must be `async def`"):

        class SyncRun:
            @workflow.run  # type: ignore[type-var]
            def run(self) -> None: ...

    with pytest.raises(TypeError, match="must not be async"):

        class AsyncQuery:
            @workflow.query
            async def q(self) -> None: ...


def test_inherited_handlers() -> None:
    class Base:
        @workflow.signal
        def ping(self) -> None: ...

    @workflow.defn(name="Derived")
    class Derived(Base):
        @workflow.run
        async def run(self) -> None: ...

    assert set(get_workflow_definition(Derived).signals) == {"ping"}


def test_outside_workflow_code() -> None:
    with pytest.raises(workflow.NotInWorkflowError):
        workflow.now()
    assert not workflow.unsafe.in_workflow()


def _guarded(action: str) -> object:
    @workflow.defn(name=f"Guard_{action}")
    class Guard:
        @workflow.run
        async def run(self) -> str:
            try:
                if action == "thread":
                    threading.Thread(target=lambda: None).start()
                elif action == "to_thread":
                    await asyncio.to_thread(lambda: None)
                elif action == "time.sleep":
                    time.sleep(0.01)  # noqa: ASYNC251 - must be refused
                elif action == "connect":
                    await asyncio.open_connection("localhost", 1)
                elif action == "subprocess":
                    await asyncio.create_subprocess_exec("true")
            except workflow.NondeterministicCallError as err:
                return f"blocked: {err}"
            return "allowed"

    return Guard


@pytest.mark.parametrize("action", ["thread", "to_thread", "time.sleep", "connect", "subprocess"])
def test_nondeterministic_calls_raise(action: str) -> None:
    [command] = Driver(_guarded(action)).run_task()  # type: ignore[arg-type]
    [message] = decode(command.complete_workflow_execution_command_attributes.result)
    assert message.startswith("blocked: ")


def test_guards_do_not_affect_other_code() -> None:
    Driver(_guarded("thread")).run_task()  # type: ignore[arg-type]
    done = threading.Event()
    thread = threading.Thread(target=done.set)
    thread.start()
    thread.join()
    time.sleep(0)
    assert done.is_set()


async def test_activation_from_inside_a_running_loop() -> None:
    # The worker calls activate() from its own asyncio loop; that loop must be restored.
    outer = asyncio.get_running_loop()
    Driver(Checkout, "o1").run_task()
    assert asyncio.get_running_loop() is outer
    await asyncio.sleep(0)


class CountingInterceptor(icp.WorkflowInboundInterceptor):
    calls: list[str] = []

    async def execute_workflow(self, input: icp.ExecuteWorkflowInput) -> Any:
        self.calls.append(f"run {input.workflow_type}")
        return await self.next.execute_workflow(input)

    async def handle_signal(self, input: icp.HandleSignalInput) -> None:
        self.calls.append(f"signal {input.signal_name}")
        await self.next.handle_signal(input)

    def init(self, outbound: icp.WorkflowOutboundInterceptor) -> None:
        self.next.init(TracingOutbound(outbound, self.calls))


class TracingOutbound(icp.WorkflowOutboundInterceptor):
    def __init__(self, next: icp.WorkflowOutboundInterceptor, calls: list[str]) -> None:
        super().__init__(next)
        self.calls = calls

    def start_activity(self, input: icp.StartActivityInput) -> Any:
        self.calls.append(f"activity {input.activity_type}")
        input.headers["trace"] = PC.to_payload("t-1")
        return self.next.start_activity(input)


def test_interceptors_wrap_run_signal_and_activities() -> None:
    history = HistoryBuilder("Checkout", "o1")
    history.signal("approve")
    history.task()
    instance = new_instance(Checkout, interceptors=[CountingInterceptor])
    [command] = instance.activate(history.events)
    assert CountingInterceptor.calls == ["signal approve", "run Checkout", "activity charge"]
    assert "trace" in command.schedule_activity_task_command_attributes.header.fields
