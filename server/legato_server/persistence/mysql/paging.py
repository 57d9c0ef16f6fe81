"""Keyset page tokens: the sort key of the last row returned, so the next page is a seek.

A token is the JSON list of that key (inspectable in a debugger, opaque to
callers). Keyset paging stays stable while rows are added: nothing is skipped
or repeated. A token that does not decode is the caller's bug: PersistenceError.
"""

from __future__ import annotations

import json
from typing import Any

from legato_server.persistence.interface import PersistenceError


def encode_token(*key: Any) -> bytes:
    return json.dumps(list(key), separators=(",", ":")).encode()


def decode_token(token: bytes, *, what: str, types: tuple[type, ...]) -> list[Any]:
    try:
        key = json.loads(token)
    except (ValueError, UnicodeDecodeError):
        key = None
    if (
        not isinstance(key, list)
        or len(key) != len(types)
        or not all(isinstance(p, t) and not isinstance(p, bool) for p, t in zip(key, types, strict=True))
    ):
        raise PersistenceError(f"invalid page token for {what}: {token[:64]!r}")
    return key


def check_page_size(page_size: int) -> None:
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, got {page_size}")
