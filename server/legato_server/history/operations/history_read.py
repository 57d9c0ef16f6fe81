"""Reading history: GetWorkflowExecutionHistory (paged, long-poll) and event loading.

Event batches may exist in the store beyond what the mutable state has
committed (a store may write them before its transaction), so every read is
bounded by the mutable state's ``next_event_id`` at the time of the read.

Long-poll (``wait_new_event``): the reader subscribes to the shard's notifier,
then checks the state, then waits; every committed write of the run wakes it,
so a client awaiting a result hears about the close event as soon as it is
committed. With the CLOSE_EVENT filter only the close event is returned. When
the wait times out the response is empty and carries a token to poll again.
"""

from __future__ import annotations

import asyncio

from google.protobuf.message import DecodeError

from legato.api.v1 import enums_pb2, history_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import InvalidArgument, NotFound
from legato_server.common.limits import quote
from legato_server.history.shards.engine import HistoryEngine
from legato_server.history.shards.shard import Shard
from legato_server.history.workflow import events as ev
from legato_server.history.workflow.mutable_state import MutableState
from legato_server.internal.v1 import history_service_pb2 as hsvc
from legato_server.internal.v1 import history_state_pb2 as hs

DEFAULT_PAGE_SIZE = 1000
DEFAULT_LONG_POLL_S = 60.0
CLOSE_FILTER = enums_pb2.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT


async def read_events(
    shard: Shard, *, namespace_id: str, workflow_id: str, run_id: str, first_event_id: int, next_event_id: int
) -> list[history_pb2.HistoryEvent]:
    """Every event with first_event_id <= id < next_event_id, in order."""
    result: list[history_pb2.HistoryEvent] = []
    token = b""
    while first_event_id < next_event_id:
        batches, token = await shard.persistence.executions.read_history(
            namespace_id=namespace_id,
            workflow_id=workflow_id,
            run_id=run_id,
            min_event_id=first_event_id,
            max_event_id=next_event_id,
            page_size=100,
            page_token=token,
        )
        for batch in batches:
            history = history_pb2.History()
            history.ParseFromString(batch.data)
            result.extend(e for e in history.events if first_event_id <= e.event_id < next_event_id)
        if not token:
            break
    return result


async def read_run_events(
    shard: Shard, ms_key: tuple[str, str, str], first_event_id: int, next_event_id: int
) -> list[history_pb2.HistoryEvent]:
    namespace_id, workflow_id, run_id = ms_key
    return await read_events(
        shard,
        namespace_id=namespace_id,
        workflow_id=workflow_id,
        run_id=run_id,
        first_event_id=first_event_id,
        next_event_id=next_event_id,
    )


async def read_started_event(
    shard: Shard, ms: MutableState
) -> history_pb2.WorkflowExecutionStartedEventAttributes:
    events = await read_run_events(shard, (ms.namespace_id, ms.workflow_id, ms.run_id), 1, 2)
    if not events:
        raise NotFound(
            f"history of workflow {quote(ms.workflow_id)} run {ms.run_id} is missing its first event"
        )
    return events[0].workflow_execution_started_event_attributes


def _decode_token(data: bytes) -> hs.HistoryPageToken | None:
    if not data:
        return None
    token = hs.HistoryPageToken()
    try:
        token.ParseFromString(data)
    except DecodeError as err:
        raise InvalidArgument(
            "next_page_token is malformed; pass the token from the previous response"
        ) from err
    return token


async def get_history(
    engine: HistoryEngine, request: hsvc.GetWorkflowExecutionHistoryRequest
) -> ws.GetWorkflowExecutionHistoryResponse:
    r = request.request
    namespace_id = request.namespace_id
    workflow_id = r.execution.workflow_id
    if r.maximum_page_size < 0:
        raise InvalidArgument("maximum_page_size must not be negative")
    page_size = r.maximum_page_size or DEFAULT_PAGE_SIZE
    shard = engine.shard(namespace_id, workflow_id)
    token = _decode_token(r.next_page_token)
    if token is not None and r.execution.run_id and token.run_id != r.execution.run_id:
        raise InvalidArgument("next_page_token belongs to another run")
    run_id = (
        token.run_id
        if token is not None
        else await shard.resolve_run_id(namespace_id, workflow_id, r.execution.run_id)
    )
    key = (namespace_id, workflow_id, run_id)
    close_only = r.history_event_filter_type == CLOSE_FILTER
    timeout_s = (
        ev.duration_ms(request.long_poll_timeout) / 1000
        if request.HasField("long_poll_timeout")
        else DEFAULT_LONG_POLL_S
    )
    last_returned = token.last_returned_event_id if token is not None else 0

    def snapshot(ms: MutableState) -> tuple[int, int, list[history_pb2.HistoryEvent] | None]:
        close_event_id = ms.info.close_event_id
        held = (
            ms.events_between(close_event_id, close_event_id + 1) if close_only and close_event_id else None
        )
        return ms.next_event_id, close_event_id, held

    with shard.notifier.subscribe(key) as woken:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            next_event_id, close_event_id, close_held = await shard.read(key, snapshot)
            ready = close_event_id > 0 if close_only else next_event_id - 1 > last_returned
            if ready or not r.wait_new_event:
                break
            if token is not None and token.next_event_id:
                break  # mid-page: the rest of the page is there already
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or shard.closed:
                return ws.GetWorkflowExecutionHistoryResponse(
                    history=history_pb2.History(),
                    next_page_token=hs.HistoryPageToken(
                        run_id=run_id, last_returned_event_id=last_returned
                    ).SerializeToString(),
                )
            woken.clear()
            try:
                await asyncio.wait_for(woken.wait(), remaining)
            except TimeoutError:
                pass

    if close_only:
        if not close_event_id:
            return ws.GetWorkflowExecutionHistoryResponse(history=history_pb2.History())
        close_events = close_held or await read_run_events(shard, key, close_event_id, close_event_id + 1)
        return ws.GetWorkflowExecutionHistoryResponse(history=history_pb2.History(events=close_events))

    bound = token.next_event_id if token is not None and token.next_event_id else next_event_id
    # Batches follow transactions and the bound is a committed next_event_id, so
    # last_returned + 1 always starts a batch: each page is read afresh from there.
    batches, more = await shard.persistence.executions.read_history(
        namespace_id=namespace_id,
        workflow_id=workflow_id,
        run_id=run_id,
        min_event_id=last_returned + 1,
        max_event_id=bound,
        page_size=page_size,
    )
    events: list[history_pb2.HistoryEvent] = []
    for batch in batches:
        history = history_pb2.History()
        history.ParseFromString(batch.data)
        events.extend(e for e in history.events if last_returned < e.event_id < bound)
    new_last = events[-1].event_id if events else last_returned
    next_token: hs.HistoryPageToken | None = None
    if more and new_last < bound - 1:
        next_token = hs.HistoryPageToken(run_id=run_id, next_event_id=bound, last_returned_event_id=new_last)
    elif r.wait_new_event and not close_event_id:
        # A long-poll reader of an open run: the next call waits for events after these.
        next_token = hs.HistoryPageToken(run_id=run_id, last_returned_event_id=new_last)
    return ws.GetWorkflowExecutionHistoryResponse(
        history=history_pb2.History(events=events),
        next_page_token=next_token.SerializeToString() if next_token is not None else b"",
    )
