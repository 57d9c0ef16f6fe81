"""A payload codec sees every payload: the server stores only encoded bytes, the client gets the values."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import timedelta

import pytest

from legato import activity, workflow
from legato.api.v1 import common_pb2
from legato.client import Client
from legato.converter import DataConverter, PayloadCodec
from legato.exceptions import PayloadConversionError
from legato.testing import WorkflowEnvironment
from legato.worker import Worker

ZLIB = b"binary/zlib"


class ZlibCodec(PayloadCodec):
    async def encode(self, payloads: Sequence[common_pb2.Payload]) -> list[common_pb2.Payload]:
        return [
            common_pb2.Payload(metadata={"encoding": ZLIB}, data=zlib.compress(p.SerializeToString()))
            for p in payloads
        ]

    async def decode(self, payloads: Sequence[common_pb2.Payload]) -> list[common_pb2.Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ZLIB:
                out.append(p)
                continue
            out.append(common_pb2.Payload.FromString(zlib.decompress(p.data)))
        return out


@activity.defn
async def shout(text: str) -> str:
    return text.upper() + "!"


@workflow.defn
class ShoutWorkflow:
    def __init__(self) -> None:
        self.last = ""

    @workflow.run
    async def run(self, text: str) -> str:
        self.last = await workflow.execute_activity(shout, text, start_to_close_timeout=timedelta(seconds=10))
        return self.last

    @workflow.query
    def last_result(self) -> str:
        return self.last


async def test_zlib_codec_round_trip(env: WorkflowEnvironment, task_queue: str, workflow_id: str) -> None:
    codec_client = await Client.connect(env.address, data_converter=DataConverter(payload_codec=ZlibCodec()))
    try:
        async with Worker(codec_client, task_queue=task_queue, workflows=[ShoutWorkflow], activities=[shout]):
            handle = await codec_client.start_workflow(
                ShoutWorkflow.run,
                "secret message",
                id=workflow_id,
                task_queue=task_queue,
                memo={"note": "hidden"},
            )
            assert await handle.result() == "SECRET MESSAGE!"
            assert await handle.query(ShoutWorkflow.last_result) == "SECRET MESSAGE!"
            assert (await handle.describe()).memo == {"note": "hidden"}

        stored = await handle.fetch_history(decode=False)
        started = stored.events[0].workflow_execution_started_event_attributes
        [stored_input] = started.input.payloads
        assert stored_input.metadata["encoding"] == ZLIB
        assert b"secret message" not in stored_input.data
        assert b"secret message" not in stored.SerializeToString()
        assert b"SECRET MESSAGE" not in stored.SerializeToString()

        # A client without the codec gets the raw bytes and cannot read them.
        plain = env.client.get_workflow_handle(workflow_id)
        with pytest.raises(PayloadConversionError, match="codec"):
            await plain.result()
    finally:
        await codec_client.close()
