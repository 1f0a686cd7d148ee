"""The records of ``schemas/*.avsc`` as typed dicts, so a reader and the type checker see their shape.

At the wire records are plain dicts (fastavro reads and writes them); these types name what they
hold. ``tests/unit/test_records.py`` checks every field and type here against the ``.avsc`` files, so
the two cannot drift apart. The constructors give the records that several places build one home.
"""

from __future__ import annotations

import time
import uuid
from typing import Literal, TypedDict, get_args

__all__ = [
    "QUALITY_KINDS",
    "Condition",
    "DeadLetter",
    "DetectedObject",
    "EndReason",
    "Event",
    "Evidence",
    "Face",
    "FinalReport",
    "Frame",
    "Gaze",
    "HeadPose",
    "ImageEncoding",
    "ObjectsStatus",
    "Observation",
    "Reason",
    "Recorded",
    "Result",
    "Review",
    "ReviewDecision",
    "SessionAction",
    "SessionControl",
    "Verdict",
    "new_frame",
    "new_observation",
    "new_review",
    "new_session_control",
    "now_ms",
]

ImageEncoding = Literal["JPEG", "PNG", "WEBP"]
ObjectsStatus = Literal["checked", "skipped", "unavailable"]
Verdict = Literal["clear", "review", "flagged", "inconclusive"]
SessionAction = Literal["start", "end", "expire", "rebaseline"]
EndReason = Literal["ended", "expired"]
# Capture quality, as intervals in Results' conditions, events and reports: while one holds, the camera
# cannot judge what it hides; never evidence of cheating (docs/CONTRACT.md).
QUALITY_KINDS = ("low_light", "blurred", "face_too_small", "occluded", "frozen_frame", "frame_gap")


class Frame(TypedDict):
    session_id: str
    candidate_id: str
    sequence: int
    captured_at_ms: int
    image: bytes
    encoding: ImageEncoding
    width: int
    height: int
    source: str
    metadata: dict[str, str]


class Face(TypedDict):
    confidence: float
    x: float
    y: float
    width: float
    height: float
    too_small: bool


class HeadPose(TypedDict):
    yaw: float
    pitch: float
    roll: float


class Gaze(TypedDict):
    direction: str
    off_screen: float
    yaw_deg: float
    pitch_deg: float
    eyes_closed: bool
    eye_aspect_ratio: float
    mouth_open_ratio: float
    eye_yaw_deg: float
    eye_pitch_deg: float
    baseline: str


class DetectedObject(TypedDict):
    label: str
    confidence: float
    x: float
    y: float
    width: float
    height: float


class Condition(TypedDict):
    type: str
    confidence: float
    since_ms: int
    until_ms: int | None


class Event(TypedDict):
    event_id: str
    session_id: str
    frame_sequence: int
    type: str
    confidence: float
    started_at_ms: int
    ended_at_ms: int | None
    details: dict[str, str]


class Observation(TypedDict):
    session_id: str
    candidate_id: str
    frame_sequence: int
    captured_at_ms: int
    observed_at_ms: int
    brightness: float
    too_dark: bool
    faces: list[Face]
    head_pose: HeadPose | None
    gaze: Gaze | None
    objects: list[DetectedObject] | None
    objects_status: ObjectsStatus
    timings_ms: dict[str, float]
    conditions: list[Condition]
    events: list[Event]
    image_too_small: bool
    contrast: float | None
    sharpness: float | None
    frame_digest: str


class Reason(TypedDict):
    event_type: str
    share: float


class Result(TypedDict):
    session_id: str
    candidate_id: str
    frame_sequence: int
    captured_at_ms: int
    timestamp_ms: int
    cheating: bool
    risk_score: float
    attention: float
    verdict: Verdict
    confidence: float
    reasons: list[Reason]
    gaze: str | None
    conditions: list[str]
    face_count: int
    objects: list[DetectedObject] | None
    objects_status: ObjectsStatus
    recent_events: list[Event]
    processing_time_ms: float
    final: bool
    policy: str
    gaze_off_screen: float | None
    gaze_yaw_deg: float | None
    gaze_pitch_deg: float | None
    gaze_baseline: str
    unassessable_s: float
    unassessable_share: float


ReviewDecision = Literal["confirmed", "dismissed"]


class Review(TypedDict):
    session_id: str
    review_id: str
    decision: ReviewDecision
    event_id: str | None
    behaviour: str
    started_at_ms: int
    ended_at_ms: int
    policy: str
    reviewer: str
    note: str
    at_ms: int


class SessionControl(TypedDict):
    session_id: str
    action: SessionAction
    candidate_id: str
    policy: str
    at_ms: int
    metadata: dict[str, str]
    last_sequence: int | None
    source: str


class Evidence(TypedDict):
    type: str
    started_at_ms: int
    ended_at_ms: int
    evidence: float


class FinalReport(TypedDict):
    session_id: str
    candidate_id: str
    policy: str
    reason: EndReason
    started_at_ms: int
    ended_at_ms: int
    reported_at_ms: int
    frames: int
    observed_s: float
    verdict: Verdict
    confidence: float
    cheating: bool
    final_risk_score: float
    peak_risk_score: float
    mean_risk_score: float
    attention: float
    time_in_ms: dict[str, int]
    evidence: list[Evidence]
    reasons: list[Reason]
    unassessable_s: float
    unassessable_share: float
    quality_s: dict[str, float]


class DeadLetter(TypedDict):
    source_topic: str
    source_partition: int
    source_offset: int
    key: bytes | None
    stage: str
    reason: str
    failed_at_ms: int
    payload: bytes | None
    payload_size: int | None
    payload_sha256: str | None


class Recorded(TypedDict):
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    session_id: str
    value: SessionControl | Frame | Observation


def now_ms() -> int:
    """Wall-clock time in milliseconds, the unit of every ``*_ms`` field."""
    return int(time.time() * 1000)


def new_frame(
    session_id: str,
    sequence: int,
    image: bytes,
    *,
    width: int,
    height: int,
    captured_at_ms: int | None = None,
    candidate_id: str = "",
    encoding: ImageEncoding = "JPEG",
    source: str = "replay",
    metadata: dict[str, str] | None = None,
) -> Frame:
    """A Frame of an image of ``width`` x ``height`` pixels; captured now unless ``captured_at_ms`` says when."""
    return {
        "session_id": session_id,
        "candidate_id": candidate_id,
        "sequence": sequence,
        "captured_at_ms": now_ms() if captured_at_ms is None else captured_at_ms,
        "image": image,
        "encoding": encoding,
        "width": width,
        "height": height,
        "source": source,
        "metadata": metadata or {},
    }


def new_observation(
    session_id: str,
    frame_sequence: int,
    captured_at_ms: int,
    *,
    candidate_id: str = "",
    faces: list[Face] | None = None,
    head_pose: HeadPose | None = None,
    gaze: Gaze | None = None,
    objects: list[DetectedObject] | None = None,
    objects_status: ObjectsStatus = "skipped",
    conditions: list[Condition] | None = None,
    events: list[Event] | None = None,
    brightness: float = 100.0,
    contrast: float | None = 50.0,
    sharpness: float | None = 1000.0,
    frame_digest: str = "",
    observed_at_ms: int | None = None,
    timings_ms: dict[str, float] | None = None,
) -> Observation:
    """An Observation of a frame captured at ``captured_at_ms``: a well-lit, sharp frame with no face, no
    objects checked and no behaviour unless the arguments say otherwise (benchmarks, fuzzing, tests)."""
    return {
        "session_id": session_id,
        "candidate_id": candidate_id,
        "frame_sequence": frame_sequence,
        "captured_at_ms": captured_at_ms,
        "observed_at_ms": captured_at_ms + 5 if observed_at_ms is None else observed_at_ms,
        "brightness": brightness,
        "too_dark": False,
        "image_too_small": False,
        "contrast": contrast,
        "sharpness": sharpness,
        "frame_digest": frame_digest,
        "faces": faces or [],
        "head_pose": head_pose,
        "gaze": gaze,
        "objects": objects,
        "objects_status": objects_status,
        "timings_ms": timings_ms or {"total": 5.0},
        "conditions": conditions or [],
        "events": events or [],
    }


def new_session_control(
    session_id: str,
    action: SessionAction,
    candidate_id: str = "",
    *,
    policy: str = "default",
    metadata: dict[str, str] | None = None,
    last_sequence: int | None = None,
    at_ms: int | None = None,
    source: str = "",
) -> SessionControl:
    """A SessionControl record: start (with its policy), end (with the last frame's sequence) or expire."""
    return {
        "session_id": session_id,
        "action": action,
        "candidate_id": candidate_id,
        "policy": policy,
        "at_ms": now_ms() if at_ms is None else at_ms,
        "metadata": metadata or {},
        "last_sequence": last_sequence,
        "source": source,
    }


def new_review(
    session_id: str,
    decision: str,
    reviewer: str,
    *,
    event_id: str | None = None,
    behaviour: str = "",
    started_at_ms: int | None = None,
    ended_at_ms: int | None = None,
    policy: str = "",
    note: str = "",
    review_id: str | None = None,
    at_ms: int | None = None,
) -> Review:
    """A reviewer's decision about one event of a session (``event_id``: its behaviour and start come from
    it) or about a time range (``started_at_ms``, ``ended_at_ms``: default its start; ``behaviour``: empty for
    anything in it); made now unless ``at_ms`` says when, under a new id unless ``review_id`` repeats one.
    What ``integrity review`` and the dashboard publish. ValueError, in words, when the arguments do not
    describe one."""
    if decision not in get_args(ReviewDecision):
        raise ValueError(f"decision {decision!r}: use {' or '.join(get_args(ReviewDecision))}")
    if event_id:
        # Event ids are "<session>:<behaviour>:<start ms>" (streams.vision.behaviour).
        parts = event_id.rsplit(":", 2)
        if len(parts) != 3 or parts[0] != session_id or not parts[2].isdigit():
            raise ValueError(f"event id {event_id!r} is not one of session {session_id!r}'s events")
        behaviour = behaviour or parts[1]
        started_at_ms = int(parts[2]) if started_at_ms is None else started_at_ms
    if started_at_ms is None:
        raise ValueError("give the event's id, or the range's start (and end)")
    return {
        "session_id": session_id,
        "review_id": review_id or uuid.uuid4().hex,
        "decision": decision,  # type: ignore[typeddict-item]  # checked above
        "event_id": event_id or None,
        "behaviour": behaviour,
        "started_at_ms": started_at_ms,
        "ended_at_ms": started_at_ms if ended_at_ms is None else ended_at_ms,
        "policy": policy,
        "reviewer": reviewer,
        "note": note,
        "at_ms": now_ms() if at_ms is None else at_ms,
    }
