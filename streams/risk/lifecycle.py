"""A session's lifecycle after its frames: when an ended session's record may go, which sessions the
idle timer asks to expire (once each), and the refusal of records for a session that has ended.

Plain Python over the sessions table's values (``SessionState`` dicts and ended records,
``streams.risk.state``); the risk agent applies what this decides, inside the session's turn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.risk.state import SessionState, is_ended

__all__ = ["ExpiryRequests", "ended_refusal", "expiry_mark", "retention_over"]


def retention_over(stored: dict[str, Any], now_ms: int, retention_s: float) -> bool:
    """An ended session's record has been kept for ``retention_s`` (INTEGRITY_RISK_ENDED_RETENTION_S)."""
    return bool(now_ms - stored["ended_wall_ms"] >= retention_s * 1000)


def ended_refusal(stored: dict[str, Any] | None, what: str) -> str | None:
    """Why ``what`` (a frame, an end...) of a session that has ended is refused; None while it has not."""
    if not (stored and is_ended(stored)):
        return None
    session, reason = stored["session_id"], stored["final_report"]["reason"]
    return f"{what} of session {session!r}, which has ended ({reason}): its final report is out"


def expiry_mark(
    stored: dict[str, Any], now_ms: int, retention_s: float, idle: Callable[[SessionState], bool]
) -> tuple[int | None, ...] | None:
    """What an idle (or long-ended) session was idle since; None when it is not due for expiry.

    ``idle``: whether a live session is due to finish without more frames (the engine's judgement, given
    how far this worker has processed the session's partition)."""
    if is_ended(stored):
        return (stored["ended_wall_ms"],) if retention_over(stored, now_ms, retention_s) else None
    state = SessionState.from_dict(stored)
    if not idle(state):
        return None
    return (state.last_frame_wall_ms, state.end_requested_wall_ms)


class ExpiryRequests:
    """Which sessions to ask to expire: each once, not on every tick, until its state changes.

    An expire that finds nothing to finish is not asked again, so no session, however it got stuck,
    makes the timer send control records forever."""

    def __init__(self) -> None:
        self._asked: dict[str, tuple[int | None, ...]] = {}

    def due(self, idle: dict[str, tuple[int | None, ...]]) -> list[str]:
        """``idle``: session id -> a mark of its state (what it was idle since); returns those to ask."""
        due = [sid for sid, mark in idle.items() if self._asked.get(sid) != mark]
        self._asked = dict(idle)  # sessions no longer idle, or gone, are forgotten
        return due
