"""Page tokens: the sort key of the last row returned, so the next page is a seek.

Keyset tokens (not offsets) keep paging stable while rows are added: a row
inserted before the cursor is simply not seen, nothing is skipped or repeated.
The encoding is JSON so a token is inspectable in a debugger; callers treat it
as opaque bytes. A token that does not decode is the caller's bug and is
reported as ``InvalidPageTokenError`` naming what was being paged: a
PersistenceError for the store's callers, and a ValueError, which the frontend
answers with INVALID_ARGUMENT (not a retryable or internal status).
"""

from __future__ import annotations

import json
from typing import Any

from legato_server.persistence.interface import PersistenceError


class InvalidPageTokenError(PersistenceError, ValueError):
    """A page token this store did not issue (or not for this listing)."""


def encode_token(*key: Any) -> bytes:
    return json.dumps(list(key), separators=(",", ":")).encode()


def decode_token(token: bytes, *, what: str, types: tuple[type, ...]) -> list[Any]:
    """The key in ``token``, checked against ``types`` (one per component)."""
    try:
        key = json.loads(token)
    except (ValueError, UnicodeDecodeError):
        key = None
    if (
        not isinstance(key, list)
        or len(key) != len(types)
        or not all(
            isinstance(part, kind) and not isinstance(part, bool)
            for part, kind in zip(key, types, strict=True)
        )
    ):
        raise InvalidPageTokenError(f"invalid page token for {what}: {token[:64]!r}")
    return key


def check_page_size(page_size: int) -> None:
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, got {page_size}")
