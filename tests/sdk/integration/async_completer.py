"""A second process that completes an activity asynchronously: ``python async_completer.py ADDRESS TOKEN_HEX RESULT``."""

from __future__ import annotations

import asyncio
import sys

from legato.client import Client


async def main(address: str, token_hex: str, result: str) -> None:
    client = await Client.connect(address)
    try:
        await client.get_async_activity_handle(task_token=bytes.fromhex(token_hex)).complete(result)
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
