"""The vision stage of one frame: decode once, run the detectors, time each, raise the frame's events."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import numpy as np

from streams.config import VisionSettings
from streams.vision.face import FaceDetector
from streams.vision.frame_events import frame_events
from streams.vision.image import decode_image

__all__ = ["VisionPipeline"]


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 3)


class VisionPipeline:
    """Turns ``integrity.Frame`` records into ``integrity.Observation`` records."""

    def __init__(self, settings: VisionSettings | None = None) -> None:
        settings = settings or VisionSettings()
        self.faces = FaceDetector(settings.face_model, settings.face_min_confidence)

    def warm_up(self) -> None:
        """Load the models and run them once, so the first real frame is not the slow one."""
        self.faces.scan(np.zeros((480, 640, 3), dtype=np.uint8))

    def observe(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Observe one frame. Raises ``ImageDecodeError`` for an image that cannot be decoded."""
        started = time.perf_counter()
        image = decode_image(frame["image"], frame["encoding"])
        timings = {"decode": _ms_since(started)}

        faces_started = time.perf_counter()
        scan = self.faces.scan(image)
        timings["faces"] = _ms_since(faces_started)

        events = frame_events(frame["session_id"], frame["sequence"], frame["captured_at_ms"], scan)
        timings["total"] = _ms_since(started)
        return {
            "session_id": frame["session_id"],
            "candidate_id": frame["candidate_id"],
            "frame_sequence": frame["sequence"],
            "captured_at_ms": frame["captured_at_ms"],
            "observed_at_ms": int(time.time() * 1000),
            "faces": [asdict(face) for face in scan.faces],
            "gaze": None,
            # Object detection is not part of this stage yet: null says "not checked", never "no phone".
            "objects": None,
            "timings_ms": timings,
            "events": events,
        }
