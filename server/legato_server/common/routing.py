"""Calling a role on whichever host owns the request: routes, peers, and rerouting.

History shards and task queues each live on one host, found through the
membership rings. A caller resolves the owner of its request's key and calls
that host's handler: in-process when the owner is this process, else over gRPC
(``PeerClients``). Ownership moves while hosts join and leave, so a call can
reach a host that no longer (or not yet) owns the key; it answers ``NotOwner``
having done nothing, and ``call_routed`` resolves again and retries with a short
backoff until the caller's deadline. A host that cannot be reached at all
(``PeerUnreachable``: refused, gone) is treated the same way: the ring drops a
dead host within its heartbeat TTL and the retry then goes to the new owner.

Other errors (including a store's ``Unavailable``, whose write may or may not
have happened) go back to the caller unchanged: retrying those is the
caller's decision, made with request ids where a repeat could apply twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import descriptor as _descriptor

from legato_server.common.deadline import time_left_s
from legato_server.common.errors import NotOwner, PeerUnreachable
from legato_server.common.rpc import GrpcClient

DEFAULT_REROUTE_WAIT_S = 20.0
"""How long a call without a deadline keeps rerouting before it gives up."""
_FIRST_RETRY_S = 0.02
_MAX_RETRY_S = 0.5


async def call_routed(name: str, request: Any, resolve: Callable[[], Any], **kwargs: Any) -> Any:
    """``resolve().<name>(request)``, resolving again after NotOwner or PeerUnreachable."""
    left = time_left_s()
    deadline = time.monotonic() + (DEFAULT_REROUTE_WAIT_S if left is None else left)
    delay = _FIRST_RETRY_S
    while True:
        try:
            return await getattr(resolve(), name)(request, **kwargs)
        except (NotOwner, PeerUnreachable):
            if time.monotonic() + delay >= deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, _MAX_RETRY_S)


ChannelFactory = Callable[[str], grpc.aio.Channel]


class PeerClients:
    """One channel and one ``GrpcClient`` per (peer address, service), opened on first use."""

    def __init__(self, open_channel: ChannelFactory) -> None:
        self._open_channel = open_channel
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._clients: dict[tuple[str, str], GrpcClient] = {}

    def client(self, address: str, stub_class: type, service: _descriptor.ServiceDescriptor) -> GrpcClient:
        key = (address, service.full_name)
        found = self._clients.get(key)
        if found is None:
            found = self._clients[key] = GrpcClient(stub_class(self.channel(address)), service)
        return found

    def channel(self, address: str) -> grpc.aio.Channel:
        """The channel to ``address`` (opened on first use, shared by its clients)."""
        channel = self._channels.get(address)
        if channel is None:
            channel = self._channels[address] = self._open_channel(address)
        return channel

    async def retain(self, addresses: set[str]) -> None:
        """Close the channels of peers no longer listed (pods come and go with new addresses)."""
        gone = [address for address in self._channels if address not in addresses]
        for address in gone:
            channel = self._channels.pop(address)
            self._clients = {key: client for key, client in self._clients.items() if key[0] != address}
            await channel.close()

    async def close(self) -> None:
        channels, self._channels, self._clients = self._channels, {}, {}
        for channel in channels.values():
            await channel.close()
