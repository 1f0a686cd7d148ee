"""Events raised by a single frame: who is (not) in view.

Each event id is derived from the session, the frame and the type, so a redelivered frame raises the
very same ids and the risk engine can tell it apart from new evidence.
"""

from __future__ import annotations

from typing import Any

from streams.vision.face import FaceScan

__all__ = ["FACE_ABSENT", "MULTIPLE_FACES", "event_id", "frame_events"]

FACE_ABSENT = "face_absent"
MULTIPLE_FACES = "multiple_faces"


def event_id(session_id: str, frame_sequence: int, event_type: str) -> str:
    return f"{session_id}:{frame_sequence}:{event_type}"


def frame_events(session_id: str, frame_sequence: int, captured_at_ms: int, scan: FaceScan) -> list[dict[str, Any]]:
    """Events as ``integrity.Event`` records for one frame's face scan."""
    count = len(scan.faces)
    if count == 1:
        return []
    if count == 0:
        event_type = FACE_ABSENT
        # How sure we are nobody is there: the nearest rejected candidate lowers it.
        confidence = 1.0 - scan.best_rejected
    else:
        event_type = MULTIPLE_FACES
        # As sure as we are of the second face.
        confidence = scan.faces[1].confidence
    return [
        {
            "event_id": event_id(session_id, frame_sequence, event_type),
            "session_id": session_id,
            "frame_sequence": frame_sequence,
            "type": event_type,
            "confidence": round(confidence, 4),
            "started_at_ms": captured_at_ms,
            "ended_at_ms": captured_at_ms,
            "details": {"face_count": str(count)},
        }
    ]
