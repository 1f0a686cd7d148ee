"""The session lifecycle in the core (streams.risk.lifecycle): when an ended session's record may go,
which sessions are due to expire, and the refusal of records for a session that has ended."""

from __future__ import annotations

from typing import Any

from streams.risk.lifecycle import ExpiryRequests, ended_refusal, expiry_mark, retention_over
from streams.risk.state import SessionState

ENDED_AT = 1_800_000_000_000


def _ended() -> dict[str, Any]:
    return {"session_id": "s1", "status": "ended", "ended_wall_ms": ENDED_AT, "final_report": {"reason": "expired"}}


def test_an_ended_record_goes_once_its_retention_is_over():
    assert not retention_over(_ended(), ENDED_AT + 3_599_999, 3600)
    assert retention_over(_ended(), ENDED_AT + 3_600_000, 3600)


def test_records_of_an_ended_session_are_refused_with_why():
    assert ended_refusal(None, "frame #3") is None
    assert ended_refusal(SessionState("s1", "c", "default").to_dict(), "frame #3") is None
    reason = ended_refusal(_ended(), "frame #3")
    assert reason == "frame #3 of session 's1', which has ended (expired): its final report is out"


def test_the_expiry_mark_says_since_when_a_session_is_due():
    live = SessionState("s2", "c", "default", last_frame_wall_ms=ENDED_AT - 5_000).to_dict()
    assert expiry_mark(live, ENDED_AT, 3600, idle=lambda state: False) is None
    assert expiry_mark(live, ENDED_AT, 3600, idle=lambda state: True) == (ENDED_AT - 5_000, None)
    assert expiry_mark(_ended(), ENDED_AT + 1_000, 3600, idle=lambda state: True) is None  # kept for an hour
    assert expiry_mark(_ended(), ENDED_AT + 3_600_000, 3600, idle=lambda state: False) == (ENDED_AT,)


def test_a_session_is_asked_to_expire_once_until_its_state_changes():
    requests = ExpiryRequests()
    assert requests.due({"s1": (1, None)}) == ["s1"]
    assert requests.due({"s1": (1, None)}) == []
    assert requests.due({"s1": (2, None)}) == ["s1"]
    assert requests.due({}) == [] and requests.due({"s1": (2, None)}) == ["s1"]
