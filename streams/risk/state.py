"""Per-session risk state: what the sessions table holds, one JSON-safe entry per session id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.records import Event, FinalReport
from streams.risk.history import new_timeline

__all__ = ["SessionState", "ended_session", "is_ended", "new_evidence"]


def new_evidence() -> dict[str, Any]:
    """The interval book of ``streams.risk.evidence``."""
    return {
        "intervals": {},  # event id -> open or not-yet-folded interval
        "folded": {},  # behaviour -> [decayed total, reference time ms]
        "folded_ids": {},  # event id -> end ms, kept for the lateness window
        "durations_ms": {},  # behaviour -> time held, of folded intervals
        "strongest": [],  # the strongest folded intervals
        "latest_ms": 0,  # newest capture time seen (event time)
        "horizon_ms": 0,  # intervals ending before this are refused (their ids are forgotten)
    }


@dataclass
class SessionState:
    session_id: str
    candidate_id: str
    # The name of the policy that judges the session (streams/risk/policies), and its version, kept from
    # the session's start (None: a state written before versions were kept, judged by the newest).
    policy: str
    policy_version: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    status: str = "active"  # active | ending
    frames: int = 0
    last_sequence: int = -1
    first_captured_at_ms: int | None = None
    last_captured_at_ms: int | None = None
    evidence: dict[str, Any] = field(default_factory=new_evidence)
    # 0..1, share of recent time with exactly one face.
    attention: float = 1.0
    last_score: float = 0.0
    peak_score: float = 0.0
    # Integral of the score over observed time (score x seconds), for the time-weighted mean.
    score_seconds: float = 0.0
    observed_s: float = 0.0
    last_verdict: str = "inconclusive"
    # The gaze baseline's status on the last frame (streams.vision.baseline), for the final Result.
    gaze_baseline: str = "none"
    # Capture quality: seconds the camera could not judge, by problem (QUALITY_KINDS; they may overlap),
    # in all, and the frame gaps' time beyond what observed_s counts (it caps each step).
    quality_s: dict[str, float] = field(default_factory=dict)
    unassessable_s: float = 0.0
    gaps_s: float = 0.0
    recent_events: list[Event] = field(default_factory=list)
    started_at_ms: int | None = None
    # Wall-clock time of the last frame processed, for idle expiry.
    last_frame_wall_ms: int | None = None
    # Set by a SessionControl end: the session finalises once this frame is scored (or after a grace).
    end_requested_wall_ms: int | None = None
    expected_last_sequence: int | None = None
    # The frame sequences most recently answered with a Result (streams.redelivery).
    answered: list[int] = field(default_factory=list)
    # Results sent without their acknowledgement seen yet, to send again if their record comes again.
    unconfirmed: list[dict[str, Any]] = field(default_factory=list)
    # For the session views (streams.risk.history): risk and attention over the whole session, its
    # behaviour intervals (id -> interval) and its last Results.
    timeline: dict[str, Any] = field(default_factory=new_timeline)
    behaviours: dict[str, dict[str, Any]] = field(default_factory=dict)
    recent_results: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        # Shallow on purpose: the table serializes it to JSON right away, and dataclasses.asdict's deep
        # copy of the interval book was 70% of the risk stage's time (bench risk, cProfile).
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionState:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def ended_session(state: SessionState, report: FinalReport, now_ms: int) -> dict[str, Any]:
    """What the sessions table keeps of a session once its final report is out: enough to refuse its
    late records (a session gets one final report) and to show it, not its working state."""
    return {
        "session_id": state.session_id,
        "candidate_id": state.candidate_id,
        "policy": state.policy,
        "policy_version": state.policy_version,
        "status": "ended",
        "frames": state.frames,
        "last_score": report["final_risk_score"],
        "last_verdict": report["verdict"],
        "answered": state.answered,
        # The broker time of the end record that ended it: the same record redelivered is known.
        "end_requested_wall_ms": state.end_requested_wall_ms,
        "ended_wall_ms": now_ms,
        "final_report": report,
        # What the views show of the session as it went (streams.risk.history).
        "timeline": state.timeline,
        "behaviours": state.behaviours,
        "recent_results": state.recent_results,
    }


def is_ended(stored: dict[str, Any]) -> bool:
    return stored.get("status") == "ended"
