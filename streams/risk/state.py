"""Per-session risk state: what the sessions table holds, one entry per session id."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["SessionState"]


@dataclass
class SessionState:
    session_id: str
    candidate_id: str = ""
    status: str = "active"  # active | ended
    frames: int = 0
    last_sequence: int = -1
    last_captured_at_ms: int | None = None
    # Decayed evidence per event type, as of last_captured_at_ms.
    evidence: dict[str, float] = field(default_factory=dict)
    # 0..1, share of recent time with exactly one face.
    attention: float = 1.0
    peak_score: float = 0.0
    last_score: float = 0.0
    last_verdict: str = "clear"
    recent_events: list[dict[str, Any]] = field(default_factory=list)
    started_at_ms: int | None = None
    ended_at_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionState:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)
