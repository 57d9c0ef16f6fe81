"""The Replayer over saved histories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from legato import exceptions, workflow
from legato.replayer import Replayer, load_history

from .workflows import Checkout, charge

HISTORIES = Path(__file__).parent / "histories"


def test_saved_json_history_replays() -> None:
    result = Replayer(workflows=[Checkout]).replay_workflow(HISTORIES / "checkout.json")
    assert result.completed and result.error is None
    assert result.workflow_type == "Checkout"


@pytest.mark.parametrize("form", ["proto", "json-text", "json-bytes", "dict"])
def test_history_forms(form: str) -> None:
    history = load_history(HISTORIES / "checkout.json")
    text = json_format.MessageToJson(history)
    source: Any = {
        "proto": history,
        "json-text": text,
        "json-bytes": text.encode(),
        "dict": json_format.MessageToDict(history),
    }[form]
    assert Replayer(workflows=[Checkout]).replay_workflow(source).completed


@workflow.defn(name="Checkout")
class CheckoutV2:
    """A changed deploy: sleeps before charging. Unsafe for running workflows."""

    def __init__(self) -> None:
        self.approved = False

    @workflow.run
    async def run(self, order_id: str) -> str:
        await workflow.wait_condition(lambda: self.approved)
        await workflow.sleep(5)
        return await workflow.execute_activity(charge, order_id, 1999, start_to_close_timeout=10)

    @workflow.signal
    def approve(self) -> None:
        self.approved = True


def test_incompatible_change_is_caught() -> None:
    with pytest.raises(exceptions.NondeterminismError, match="TimerStarted|StartTimer"):
        Replayer(workflows=[CheckoutV2]).replay_workflow(HISTORIES / "checkout.json")


def test_replay_many_collects_results() -> None:
    good = Replayer(workflows=[Checkout]).replay_workflows([HISTORIES / "checkout.json"] * 2)
    assert len(good.results) == 2 and not good.failures
    bad = Replayer(workflows=[CheckoutV2]).replay_workflows([HISTORIES / "checkout.json"])
    assert len(bad.failures) == 1
    with pytest.raises(exceptions.NondeterminismError):
        bad.raise_first()


def test_unknown_workflow_type() -> None:
    @workflow.defn
    class Other:
        @workflow.run
        async def run(self) -> None: ...

    with pytest.raises(ValueError, match="workflow type 'Checkout'.*it has: Other"):
        Replayer(workflows=[Other]).replay_workflow(HISTORIES / "checkout.json")
