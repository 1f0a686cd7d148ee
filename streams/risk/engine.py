"""One observation in, the session's new state and its Result out."""

from __future__ import annotations

import time
from typing import Any

from streams.risk.policy import RiskPolicy
from streams.risk.score import accrue, decay, risk_score
from streams.risk.state import SessionState
from streams.risk.verdict import decide

__all__ = ["RiskEngine"]


class RiskEngine:
    def __init__(self, policy: RiskPolicy | None = None) -> None:
        self.policy = policy or RiskPolicy()

    def apply(
        self, state: SessionState | None, observation: dict[str, Any], now_ms: int | None = None
    ) -> tuple[SessionState, dict[str, Any]]:
        """Score ``observation`` (an ``integrity.Observation``) into ``state``; returns (state, Result).

        A frame at or below the last scored sequence is a redelivery (at-least-once): it changes
        nothing and its Result repeats the current verdict, so consumers keyed by
        (session_id, frame_sequence) see the same answer twice rather than a double-counted one.
        """
        started = time.perf_counter()
        if state is None:
            state = SessionState(
                session_id=observation["session_id"],
                candidate_id=observation["candidate_id"],
                started_at_ms=observation["captured_at_ms"],
            )
        if not state.candidate_id:
            state.candidate_id = observation["candidate_id"]
        if observation["frame_sequence"] > state.last_sequence:
            self._score(state, observation)
        risk_ms = (time.perf_counter() - started) * 1000.0
        return state, self._result(state, observation, risk_ms, now_ms)

    def _score(self, state: SessionState, observation: dict[str, Any]) -> None:
        policy = self.policy
        captured = observation["captured_at_ms"]
        dt_s = 0.0
        if state.last_captured_at_ms is not None:
            dt_s = min(max((captured - state.last_captured_at_ms) / 1000.0, 0.0), policy.max_frame_gap_s)

        # Evidence comes from the behaviours holding on this frame (debounced by the analyser); the
        # interval since the previous frame is attributed to them.
        active = {condition["type"]: condition["confidence"] for condition in observation["conditions"]}
        evidence = dict(state.evidence)
        for kind in set(evidence) | set(active):
            rate = policy.rates.get(kind, 0.0) * active.get(kind, 0.0)
            if kind in active and rate > 0:
                evidence[kind] = accrue(evidence.get(kind, 0.0), rate, dt_s, policy.half_life_s)
            else:
                evidence[kind] = decay(evidence.get(kind, 0.0), dt_s, policy.half_life_s)
        state.evidence = {kind: value for kind, value in evidence.items() if value > 1e-9}

        present = 1.0 if len(observation["faces"]) == 1 else 0.0
        keep = 0.5 ** (dt_s / policy.attention_half_life_s)
        state.attention = state.attention * keep + present * (1.0 - keep)

        score = risk_score(sum(state.evidence.values()), policy.score_scale)
        state.last_score = score
        state.peak_score = max(state.peak_score, score)
        state.recent_events = (state.recent_events + list(observation["events"]))[-policy.recent_events :]
        state.frames += 1
        state.last_sequence = observation["frame_sequence"]
        state.last_captured_at_ms = captured

    def _result(
        self, state: SessionState, observation: dict[str, Any], risk_ms: float, now_ms: int | None
    ) -> dict[str, Any]:
        low_confidence = [c["type"] for c in observation["conditions"] if c["type"] in self.policy.low_confidence]
        verdict = decide(state.last_score, state.evidence, self.policy, low_confidence=bool(low_confidence))
        state.last_verdict = verdict.verdict
        vision_ms = observation["timings_ms"].get("total", 0.0)
        return {
            "session_id": state.session_id,
            "candidate_id": state.candidate_id,
            "frame_sequence": observation["frame_sequence"],
            "captured_at_ms": observation["captured_at_ms"],
            "timestamp_ms": now_ms if now_ms is not None else int(time.time() * 1000),
            "cheating": verdict.cheating,
            "risk_score": round(state.last_score, 3),
            "attention": round(100.0 * state.attention, 3),
            "verdict": verdict.verdict,
            "confidence": verdict.confidence,
            "reasons": [{"event_type": kind, "share": round(share, 4)} for kind, share in verdict.reasons],
            "gaze": observation["gaze"]["direction"] if observation["gaze"] else None,
            "conditions": [condition["type"] for condition in observation["conditions"]],
            "face_count": len(observation["faces"]),
            "objects": observation["objects"],
            "objects_status": observation["objects_status"],
            "recent_events": list(state.recent_events),
            "processing_time_ms": round(vision_ms + risk_ms, 3),
        }
