"""Synthetic recorded sessions for evaluation and calibration tests: scripted scenes, 5 frames per second,
with conditions and events written by the real behaviour analyser, as the detection agent writes them."""

from __future__ import annotations

from schemas.records import Observation, Recorded, SessionControl, new_session_control
from streams.offline.evaluation import RecordedSession
from streams.settings import BehaviourSettings
from streams.vision.behaviour import BehaviourAnalyser
from tests.helpers.frames import observation_record

__all__ = ["EPOCH_MS", "FACE", "absence_session", "recorded", "scripted_session"]

EPOCH_MS = 1_800_000_000_000
FACE = {"confidence": 0.9, "x": 0.4, "y": 0.2, "width": 0.2, "height": 0.25, "too_small": False}
_FACES = {"one_face": [FACE], "face_absent": [], "two_faces": [FACE, FACE | {"x": 0.7}]}
_INTERVAL_MS = 200


def scripted_session(
    session_id: str, scenes: list[tuple[str, float]], *, start_ms: int = EPOCH_MS, policy: str | None = "default"
) -> RecordedSession:
    """``scenes``: ("one_face" | "face_absent" | "two_faces", seconds), in order. ``policy``: what the start
    record asks for (None: no start record)."""
    analyser, state = BehaviourAnalyser(BehaviourSettings()), None
    observations: list[Observation] = []
    for scene, seconds in scenes:
        for _ in range(round(seconds * 1000 / _INTERVAL_MS)):
            sequence = len(observations)
            observation = observation_record(
                session_id, sequence, start_ms + sequence * _INTERVAL_MS, faces=_FACES[scene], candidate_id="c"
            )
            state = analyser.annotate(state, observation)
            observations.append(observation)
    start: SessionControl | None = None
    if policy is not None:
        start = new_session_control(session_id, "start", "c", policy=policy, at_ms=start_ms, source="test")
    return RecordedSession(session_id, tuple(observations), start)


def absence_session(
    session_id: str, absent_s: float, *, lead_s: float = 4, tail_s: float = 3, policy: str | None = "default"
) -> RecordedSession:
    """One face, then nobody for ``absent_s`` seconds (from ``lead_s``), then one face again."""
    return scripted_session(
        session_id, [("one_face", lead_s), ("face_absent", absent_s), ("one_face", tail_s)], policy=policy
    )


def recorded(session: RecordedSession) -> list[Recorded]:
    """The session as a recording holds it: its start record, then its observations."""

    def wrap(topic: str, offset: int, value: object, at_ms: int) -> Recorded:
        return {
            "topic": topic,
            "partition": 0,
            "offset": offset,
            "timestamp_ms": at_ms,
            "session_id": session.session_id,
            "value": value,  # type: ignore[typeddict-item]
        }

    records = [wrap("session-control", 0, session.start, session.first_captured_at_ms)] if session.start else []
    records += [wrap("events", o["frame_sequence"], o, o["captured_at_ms"]) for o in session.observations]
    return records
