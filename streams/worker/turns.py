"""Per-session turns: the agents that share a session's state take turns on it.

Three agents read a session's state, await (inference, the broker's acknowledgement) and write it back:
without turns, an end record applied by one while another awaited was overwritten by the other's older
state, and the session never ended."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator

__all__ = ["session_turn"]

# One lock per session with a record in hand, dropped when nobody holds or waits for it.
_turns: dict[str, asyncio.Lock] = {}
_waiting: Counter[str] = Counter()


@contextlib.asynccontextmanager
async def session_turn(session_id: str) -> AsyncIterator[None]:
    """Hold the session's state from read to write: no other agent reads or writes it meanwhile."""
    lock = _turns.setdefault(session_id, asyncio.Lock())
    _waiting[session_id] += 1
    try:
        async with lock:
            yield
    finally:
        _waiting[session_id] -= 1
        if not _waiting[session_id]:
            del _waiting[session_id], _turns[session_id]
