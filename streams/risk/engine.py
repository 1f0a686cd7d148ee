"""One observation in, the session's new state and its Result out; session start, end and final report.

Scoring is by event time: evidence is a sum over behaviour intervals (``streams.risk.evidence``),
evaluated at the newest capture time of the session. An observation that arrives out of order is scored
by its own timestamps; one older than the policy's lateness bound is refused (``LateObservation``) and
the agent dead-letters it. Redelivered observations change nothing: intervals are keyed by event id and
only ever extended, and per-frame figures (attention, observed time) move only on new frame sequences.
"""

from __future__ import annotations

import time

from schemas.records import QUALITY_KINDS, Observation, Result, SessionControl
from streams.risk.evidence import evidence_at, fold_closed, upsert_interval
from streams.risk.history import note_behaviours, note_result
from streams.risk.policy import PolicyBook, RiskPolicy
from streams.risk.score import risk_score
from streams.risk.state import SessionState
from streams.risk.verdict import Verdict, decide, decide_unassessable

__all__ = ["LateObservation", "RiskEngine", "unassessable_share"]


class LateObservation(ValueError):
    """An observation older than the lateness bound behind its session's newest one."""


def _wall_ms() -> int:
    return int(time.time() * 1000)


def unassessable_share(state: SessionState) -> float:
    """The share of the session's time so far that the camera could not judge."""
    span = state.observed_s + state.gaps_s
    return min(state.unassessable_s / span, 1.0) if span > 0 else 0.0


def _count_unassessable(state: SessionState, observation: Observation, dt_s: float) -> None:
    """The time up to this frame that capture quality left unjudged: while a quality interval held,
    and the whole of a gap in the frames (observed_s counts only its first max_frame_gap_s)."""
    holding = {c["type"] for c in observation["conditions"] if c["type"] in QUALITY_KINDS}
    gap_s = sum(
        ((event["ended_at_ms"] or 0) - event["started_at_ms"]) / 1000.0
        for event in observation["events"]
        if event["type"] == "frame_gap"
    )
    for kind in holding:
        state.quality_s[kind] = state.quality_s.get(kind, 0.0) + dt_s
    if gap_s > 0:
        state.quality_s["frame_gap"] = state.quality_s.get("frame_gap", 0.0) + gap_s
        state.gaps_s += max(gap_s - dt_s, 0.0)
        state.unassessable_s += max(gap_s, dt_s)
    elif holding:
        state.unassessable_s += dt_s


class RiskEngine:
    def __init__(self, policies: PolicyBook | None = None) -> None:
        self.policies = policies or PolicyBook()

    def policy_for(self, state: SessionState) -> RiskPolicy:
        """The version the session started with (its name's newest, for a state that kept no version)."""
        return self.policies.get(state.policy, state.policy_version)

    def _new_session(self, session_id: str, candidate_id: str = "") -> SessionState:
        """A session no start record has named a policy for: the configured default's newest version
        judges it."""
        policy = self.policies.get(None)
        return SessionState(
            session_id=session_id, candidate_id=candidate_id, policy=policy.name, policy_version=policy.version
        )

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self, state: SessionState | None, record: SessionControl) -> SessionState:
        """A SessionControl start: candidate, policy and metadata of the session. The policy is the newest
        version of the name asked for (or the version asked for, "name@version"); a session that has one
        of that name already keeps its version (a start again, or redelivered, changes no verdict)."""
        state = state or self._new_session(record["session_id"])
        state.candidate_id = record["candidate_id"] or state.candidate_id
        asked = record.get("policy") or ""
        policy = self.policies.get(asked)
        if "@" in asked or policy.name != state.policy or state.policy_version is None:
            state.policy, state.policy_version = policy.name, policy.version
        state.metadata = dict(record.get("metadata") or {})
        state.started_at_ms = state.started_at_ms or record["at_ms"]
        return state

    def request_end(
        self, state: SessionState | None, record: SessionControl, now_ms: int | None = None
    ) -> SessionState:
        """A SessionControl end: the session is over once its last frame is scored."""
        state = state or self._new_session(record["session_id"], record["candidate_id"])
        state.status = "ending"
        state.end_requested_wall_ms = now_ms if now_ms is not None else _wall_ms()
        state.expected_last_sequence = record.get("last_sequence")
        return state

    @staticmethod
    def ready_to_finish(state: SessionState) -> bool:
        return (
            state.status == "ending"
            and state.expected_last_sequence is not None
            and state.last_sequence >= state.expected_last_sequence
        )

    def is_idle(
        self, state: SessionState, now_ms: int, end_grace_s: float, frames_done_up_to_ms: int | None = None
    ) -> bool:
        """No frame for the idle timeout; or an end requested, every frame sent before it analysed
        (``frames_done_up_to_ms``: broker time up to which the session's frames partition is processed;
        None: unknown, not waited for), and no frame scored within the grace since."""
        policy = self.policy_for(state)
        last = state.last_frame_wall_ms or state.end_requested_wall_ms
        if last is not None and now_ms - last >= policy.idle_timeout_s * 1000:
            return True
        ended_at = state.end_requested_wall_ms
        if ended_at is None:
            return False
        if frames_done_up_to_ms is not None and frames_done_up_to_ms < ended_at:
            return False  # frames sent before the end are still queued behind detection
        progress = max(ended_at, state.last_frame_wall_ms or 0)
        return now_ms - progress >= end_grace_s * 1000

    # -- scoring ------------------------------------------------------------------------------------

    def apply(
        self, state: SessionState | None, observation: Observation, now_ms: int | None = None
    ) -> tuple[SessionState, Result]:
        """Score ``observation`` (an ``integrity.Observation``) into ``state``; returns (state, Result)."""
        started = time.perf_counter()
        if state is None:
            state = self._new_session(observation["session_id"], observation["candidate_id"])
        state.candidate_id = state.candidate_id or observation["candidate_id"]
        policy = self.policy_for(state)
        book = state.evidence
        captured = observation["captured_at_ms"]
        lateness_ms = int(policy.lateness_s * 1000)
        if book["latest_ms"] and captured < book["latest_ms"] - lateness_ms:
            raise LateObservation(
                f"frame #{observation['frame_sequence']} captured {book['latest_ms'] - captured} ms before the "
                f"session's newest frame; the lateness bound is {lateness_ms} ms"
            )
        self._record_intervals(state, observation)
        # Before folding: an interval that arrives closed leaves the book in this same call.
        state.behaviours = note_behaviours(state.behaviours, book["intervals"])
        book["latest_ms"] = max(book["latest_ms"], captured)
        fold_closed(book, policy)
        new_frame = observation["frame_sequence"] > state.last_sequence
        if new_frame:
            self._advance_frame(state, observation, policy)
        state.last_frame_wall_ms = now_ms if now_ms is not None else _wall_ms()
        evidence = self._rescore(state, policy)
        risk_ms = (time.perf_counter() - started) * 1000.0
        result = self.result(state, observation, risk_ms=risk_ms, now_ms=now_ms, evidence=evidence)
        if new_frame:
            state.recent_results = note_result(state.timeline, state.recent_results, result)
        return state, result

    @staticmethod
    def _record_intervals(state: SessionState, observation: Observation) -> None:
        session_id, captured = state.session_id, observation["captured_at_ms"]
        for condition in observation["conditions"]:
            upsert_interval(
                state.evidence,
                event_id=f"{session_id}:{condition['type']}:{condition['since_ms']}",
                kind=condition["type"],
                start=condition["since_ms"],
                seen_at=captured,
                confidence=condition["confidence"],
                until=condition.get("until_ms"),
            )
        for event in observation["events"]:
            upsert_interval(
                state.evidence,
                event_id=event["event_id"],
                kind=event["type"],
                start=event["started_at_ms"],
                seen_at=event["ended_at_ms"] or captured,
                confidence=event["confidence"],
                end=event["ended_at_ms"],
            )

    @staticmethod
    def _advance_frame(state: SessionState, observation: Observation, policy: RiskPolicy) -> None:
        """Per-frame figures, on new frame sequences only (redelivery and late frames leave them)."""
        captured = observation["captured_at_ms"]
        dt_s = 0.0
        if state.last_captured_at_ms is not None:
            dt_s = min(max((captured - state.last_captured_at_ms) / 1000.0, 0.0), policy.max_frame_gap_s)
        readable = [face for face in observation["faces"] if not face.get("too_small", False)]
        present = 1.0 if len(readable) == 1 and not observation.get("too_dark", False) else 0.0
        keep = 0.5 ** (dt_s / policy.attention_half_life_s)
        state.attention = state.attention * keep + present * (1.0 - keep)
        state.score_seconds += state.last_score * dt_s
        state.observed_s += dt_s
        _count_unassessable(state, observation, dt_s)
        seen = {(e["event_id"], e["ended_at_ms"] is None) for e in state.recent_events}
        fresh = [e for e in observation["events"] if (e["event_id"], e["ended_at_ms"] is None) not in seen]
        state.recent_events = (state.recent_events + fresh)[-policy.recent_events :]
        state.frames += 1
        state.last_sequence = observation["frame_sequence"]
        state.last_captured_at_ms = captured
        if state.first_captured_at_ms is None:
            state.first_captured_at_ms = captured

    def _rescore(self, state: SessionState, policy: RiskPolicy) -> dict[str, float]:
        """Score the session at its newest capture time; returns the evidence per behaviour it used."""
        evidence = evidence_at(state.evidence, policy, state.evidence["latest_ms"])
        state.last_score = risk_score(sum(evidence.values()), policy.score_scale)
        state.peak_score = max(state.peak_score, state.last_score)
        return evidence

    def verdict(self, state: SessionState, low_confidence: bool, evidence: dict[str, float] | None = None) -> Verdict:
        """``evidence``: what ``_rescore`` just computed, if at hand (it is the same at the same time)."""
        policy = self.policy_for(state)
        if evidence is None:
            evidence = evidence_at(state.evidence, policy, state.evidence["latest_ms"])
        too_early = state.observed_s < policy.min_observed_s
        share = unassessable_share(state)
        if share > policy.max_unassessable_share and not too_early:
            # Too little of the session could be judged: inconclusive, for the reasons the camera gave.
            return decide_unassessable(state.last_score, state.quality_s, policy)
        return decide(state.last_score, evidence, policy, low_confidence=low_confidence or too_early)

    def final_result(self, state: SessionState, now_ms: int | None = None) -> Result:
        """The session's last word (a Result with ``final``), kept among its recent Results too."""
        result = self.result(state, now_ms=now_ms, final=True)
        state.recent_results = note_result(state.timeline, state.recent_results, result)
        return result

    def result(
        self,
        state: SessionState,
        observation: Observation | None = None,
        *,
        risk_ms: float = 0.0,
        now_ms: int | None = None,
        final: bool = False,
        evidence: dict[str, float] | None = None,
    ) -> Result:
        """The session's Result: after ``observation``, or (``final``) its last word."""
        policy = self.policy_for(state)
        conditions = [c["type"] for c in observation["conditions"]] if observation else []
        low_confidence = any(c in policy.low_confidence for c in conditions)
        verdict = self.verdict(state, low_confidence=low_confidence, evidence=evidence)
        state.last_verdict = verdict.verdict
        vision_ms = observation["timings_ms"].get("total", 0.0) if observation else 0.0
        gaze = observation["gaze"] if observation else None
        if gaze is not None:
            state.gaze_baseline = gaze["baseline"]
        return {
            "session_id": state.session_id,
            "candidate_id": state.candidate_id,
            # The final Result answers the session, not a frame: a platform storing Results by frame
            # must not overwrite its last frame's with it.
            "frame_sequence": observation["frame_sequence"] if observation else -1,
            "captured_at_ms": observation["captured_at_ms"] if observation else (state.last_captured_at_ms or 0),
            "timestamp_ms": now_ms if now_ms is not None else _wall_ms(),
            "cheating": verdict.cheating,
            "risk_score": round(state.last_score, 3),
            "attention": round(100.0 * state.attention, 3),
            "verdict": verdict.verdict,
            "confidence": verdict.confidence,
            "reasons": verdict.reason_records(),
            "gaze": gaze["direction"] if gaze else None,
            "conditions": conditions,
            "face_count": len(observation["faces"]) if observation else 0,
            "objects": observation["objects"] if observation else None,
            "objects_status": observation["objects_status"] if observation else "skipped",
            "recent_events": list(state.recent_events),
            "processing_time_ms": round(vision_ms + risk_ms, 3),
            "final": final,
            "policy": policy.id,
            "gaze_off_screen": gaze["off_screen"] if gaze else None,
            "gaze_yaw_deg": gaze["yaw_deg"] if gaze else None,
            "gaze_pitch_deg": gaze["pitch_deg"] if gaze else None,
            "gaze_baseline": state.gaze_baseline,
            "unassessable_s": round(state.unassessable_s, 3),
            "unassessable_share": round(unassessable_share(state), 4),
        }
