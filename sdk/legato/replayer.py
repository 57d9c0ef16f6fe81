"""Replay recorded histories against current workflow code, in tests or CI.

A history saved from a real run (``legato.api.v1.History`` proto, or its JSON
from ``google.protobuf.json_format.MessageToJson``) is fed to a fresh
``WorkflowInstance`` exactly as a worker would after a cache miss. If the code
no longer issues the commands the history recorded, replay raises
``NondeterminismError``: the change would break running workflows on deploy.

::

    replayer = Replayer(workflows=[Checkout])
    replayer.replay_workflow(History.from_json_file("tests/histories/checkout.json"))

The replayer never contacts a server; activities are not run (their recorded
results are used).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from legato._workflow_defn import WorkflowDefinition, get_workflow_definition
from legato._workflow_instance import WorkflowInstance
from legato.api.v1 import enums_pb2, history_pb2
from legato.converter import DataConverter, default_converter
from legato.interceptor import WorkflowInboundInterceptor

__all__ = ["Replayer", "ReplayResult", "ReplayResults", "load_history"]

HistoryLike = history_pb2.History | str | bytes | dict[str, Any]


def load_history(source: HistoryLike | Path) -> history_pb2.History:
    """A History from a proto, its JSON (text, bytes or parsed dict) or a JSON file path."""
    if isinstance(source, history_pb2.History):
        return source
    if isinstance(source, Path):
        source = source.read_text()
    if isinstance(source, bytes):
        source = source.decode()
    parsed = json.loads(source) if isinstance(source, str) else source
    return json_format.ParseDict(parsed, history_pb2.History(), ignore_unknown_fields=True)


@dataclass(frozen=True)
class ReplayResult:
    """Outcome of replaying one history."""

    workflow_id: str
    run_id: str
    workflow_type: str
    error: BaseException | None = None
    """The nondeterminism (or other workflow task failure) replay hit, if any."""
    completed: bool = False
    """The code reached the terminal command the history recorded."""


@dataclass(frozen=True)
class ReplayResults:
    results: list[ReplayResult] = field(default_factory=list)

    @property
    def failures(self) -> list[ReplayResult]:
        return [r for r in self.results if r.error is not None]

    def raise_first(self) -> None:
        for result in self.results:
            if result.error is not None:
                raise result.error


class Replayer:
    """Replays histories of the given workflow classes."""

    def __init__(
        self,
        *,
        workflows: Sequence[type],
        data_converter: DataConverter = default_converter,
        interceptor_classes: Sequence[type[WorkflowInboundInterceptor]] = (),
        namespace: str = "default",
    ) -> None:
        self._definitions: dict[str, WorkflowDefinition] = {}
        for cls in workflows:
            definition = get_workflow_definition(cls)
            self._definitions[definition.name] = definition
        self._data_converter = data_converter
        self._interceptor_classes = tuple(interceptor_classes)
        self._namespace = namespace

    def replay_workflow(
        self, history: HistoryLike | Path, *, workflow_id: str = "replay", run_id: str | None = None
    ) -> ReplayResult:
        """Replay one history; raises ``NondeterminismError`` (or the task failure) on a mismatch."""
        result = self._replay(load_history(history), workflow_id=workflow_id, run_id=run_id)
        if result.error is not None:
            raise result.error
        return result

    def replay_workflows(
        self, histories: Iterable[HistoryLike | Path], *, raise_on_failure: bool = False
    ) -> ReplayResults:
        """Replay many histories, collecting every outcome (or raising the first failure)."""
        results = ReplayResults()
        for index, history in enumerate(histories):
            result = self._replay(load_history(history), workflow_id=f"replay-{index}", run_id=None)
            if result.error is not None and raise_on_failure:
                raise result.error
            results.results.append(result)
        return results

    def _replay(self, history: history_pb2.History, *, workflow_id: str, run_id: str | None) -> ReplayResult:
        events = list(history.events)
        if not events or events[0].event_type != enums_pb2.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            raise ValueError("a history must start with a WorkflowExecutionStarted event")
        started = events[0].workflow_execution_started_event_attributes
        type_name = started.workflow_type.name
        definition = self._definitions.get(type_name)
        if definition is None:
            known = ", ".join(sorted(self._definitions)) or "none"
            raise ValueError(
                f"history is of workflow type {type_name!r}, which the replayer lacks; it has: {known}"
            )
        run_id = run_id or started.original_execution_run_id or started.first_execution_run_id or "replay-run"
        instance = WorkflowInstance(
            definition=definition,
            namespace=self._namespace,
            task_queue=started.task_queue.name,
            workflow_id=workflow_id,
            run_id=run_id,
            workflow_type=type_name,
            data_converter=self._data_converter,
            interceptor_classes=self._interceptor_classes,
        )
        error: BaseException | None = None
        try:
            instance.activate(events)
        except Exception as err:
            error = err
        return ReplayResult(
            workflow_id=workflow_id,
            run_id=run_id,
            workflow_type=type_name,
            error=error,
            completed=instance.is_completed,
        )
