"""The final report of a session: its verdict, peak and time-weighted mean risk, time in each state,
and the strongest pieces of evidence with their timestamps."""

from __future__ import annotations

import time

from schemas.records import EndReason, FinalReport
from streams.risk.engine import RiskEngine, unassessable_share
from streams.risk.evidence import counts, interval_value, observed_end
from streams.risk.state import SessionState

__all__ = ["final_report"]


def final_report(engine: RiskEngine, state: SessionState, reason: EndReason, now_ms: int | None = None) -> FinalReport:
    """An ``integrity.FinalReport`` for ``state``; ``reason`` is "ended" or "expired"."""
    policy = engine.policy_for(state)
    book = state.evidence
    durations = dict(book["durations_ms"])
    strongest = list(book["strongest"])
    for interval in book["intervals"].values():  # still open at the end: they count up to now
        kind, weight = interval["type"], policy.behaviours.get(interval["type"])
        if weight is None or not counts(interval, weight):
            continue
        end = observed_end(interval)
        durations[kind] = durations.get(kind, 0) + end - interval["start"]
        value = interval_value(weight, interval["confidence"], interval["start"], end, end)
        strongest.append(
            {"type": kind, "started_at_ms": interval["start"], "ended_at_ms": end, "evidence": round(value, 4)}
        )
    verdict = engine.verdict(state, low_confidence=False)
    mean = state.score_seconds / state.observed_s if state.observed_s > 0 else 0.0
    return {
        "session_id": state.session_id,
        "candidate_id": state.candidate_id,
        "policy": policy.id,
        "reason": reason,
        "started_at_ms": state.started_at_ms or state.first_captured_at_ms or 0,
        "ended_at_ms": state.last_captured_at_ms or 0,
        "reported_at_ms": now_ms if now_ms is not None else int(time.time() * 1000),
        "frames": state.frames,
        "observed_s": round(state.observed_s, 3),
        "verdict": verdict.verdict,
        "confidence": verdict.confidence,
        "cheating": verdict.cheating,
        "final_risk_score": round(state.last_score, 3),
        "peak_risk_score": round(state.peak_score, 3),
        "mean_risk_score": round(mean, 3),
        "attention": round(100.0 * state.attention, 3),
        "time_in_ms": {kind: int(ms) for kind, ms in sorted(durations.items())},
        "evidence": sorted(strongest, key=lambda e: e["evidence"], reverse=True)[:5],
        "reasons": verdict.reason_records(),
        "unassessable_s": round(state.unassessable_s, 3),
        "unassessable_share": round(unassessable_share(state), 4),
        "quality_s": {kind: round(seconds, 3) for kind, seconds in sorted(state.quality_s.items())},
    }
