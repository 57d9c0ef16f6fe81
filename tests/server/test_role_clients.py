"""The role clients' declared RPC types match the services they call.

``HistoryClient`` and ``MatchingClient`` bind one routed call per RPC at run
time; their class annotations tell mypy each call's request and response
message (that is how the frontend's protocols check them). The annotations are
written by hand, so this holds them to the service descriptors: every RPC is
declared, and with the messages the proto names.
"""

from __future__ import annotations

import re

import pytest
from google.protobuf.descriptor import ServiceDescriptor

from legato_server.history.client import HistoryClient
from legato_server.internal.v1 import history_service_pb2, matching_service_pb2
from legato_server.matching.client import MatchingClient

CLIENTS = [
    (HistoryClient, history_service_pb2.DESCRIPTOR.services_by_name["HistoryService"]),
    (MatchingClient, matching_service_pb2.DESCRIPTOR.services_by_name["MatchingService"]),
]

_SIGNATURE = re.compile(r"Callable\[\[\w+\.(\w+)\], Awaitable\[\w+\.(\w+)\]\]")


@pytest.mark.parametrize(("client", "service"), CLIENTS, ids=lambda c: getattr(c, "__name__", ""))
def test_client_declares_every_rpc_with_its_messages(client: type, service: ServiceDescriptor) -> None:
    declared = {
        name: _SIGNATURE.fullmatch(annotation)
        for name, annotation in client.__annotations__.items()
        if not name.startswith("_")
    }
    assert set(declared) == {m.name for m in service.methods}
    for method in service.methods:
        signature = declared[method.name]
        assert signature is not None, (
            f"{client.__name__}.{method.name} is not Callable[[Request], Awaitable[...]]"
        )
        assert signature.groups() == (method.input_type.name, method.output_type.name), method.name
