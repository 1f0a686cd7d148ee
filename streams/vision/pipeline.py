"""The vision stage of one frame: decode once, run every detector on the shared image, time each.

Stateless: the same frame gives the same observation wherever it runs. The temporal part (behaviours
with a start and an end) is ``streams.vision.behaviour``, which the caller runs with the session's state.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import cast

import numpy as np

from schemas.records import DetectedObject, Face, Frame, Gaze, HeadPose, ObjectsStatus, Observation
from streams.settings import VisionSettings
from streams.vision.face import FaceDetector
from streams.vision.gaze import eye_state, gaze, screen_limits
from streams.vision.head_pose import head_axes, pose_from_axes
from streams.vision.image import ImageDecodeError, decode_image
from streams.vision.landmarks import FaceLandmarker
from streams.vision.mouth import mouth_open_ratio
from streams.vision.objects import ObjectDetector
from streams.vision.quality import frame_quality

__all__ = ["VisionPipeline"]


class _Stopwatch:
    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round((now - self.last) * 1000.0, 3)
        self.last = now

    def total(self) -> dict[str, float]:
        self.timings["total"] = round((time.perf_counter() - self.started) * 1000.0, 3)
        return self.timings


class VisionPipeline:
    """Turns ``integrity.Frame`` records into ``integrity.Observation`` records (without behaviours)."""

    def __init__(self, settings: VisionSettings | None = None) -> None:
        self.settings = settings = settings or VisionSettings()
        self.faces = FaceDetector(settings.face_model, settings.face_min_confidence)
        self.landmarker = FaceLandmarker()
        self.objects = ObjectDetector(settings.yolo_weights, settings.object_min_confidence)
        self.gaze_limits = screen_limits(settings)

    def warm_up(self) -> None:
        """Load every model and run it once, so the first real frame is not the slow one."""
        blank = np.zeros((480, 640, 3), dtype=np.uint8)
        self.faces.scan(blank)
        self.landmarker.landmarks(blank)
        if self.objects.available:
            self.objects.detect(blank)

    def observe(self, frame: Frame) -> Observation:
        """Observe one frame. Raises ``ImageDecodeError`` for an image that cannot be decoded."""
        watch = _Stopwatch()
        image = decode_image(frame["image"], frame["encoding"])
        height, width = image.shape[:2]
        if (width, height) != (frame["width"], frame["height"]):
            raise ImageDecodeError(
                f"the image is {width}x{height}, the frame declares {frame['width']}x{frame['height']}"
            )
        watch.lap("decode")
        quality = frame_quality(image)

        scan = self.faces.scan(image)
        faces: list[Face] = [
            cast(Face, asdict(face) | {"too_small": face.width < self.settings.face_too_small}) for face in scan.faces
        ]
        watch.lap("faces")

        pose: HeadPose | None = None
        gaze_record: Gaze | None = None
        if any(not face["too_small"] for face in faces):
            points = self.landmarker.landmarks(image)
            if points is not None:
                axes = head_axes(points)
                if axes is not None:
                    head = pose_from_axes(axes)
                    eyes = eye_state(points, axes)
                    looking = gaze(head, eyes, self.gaze_limits)
                    pose = cast(HeadPose, asdict(head))
                    gaze_record = {
                        "direction": looking.direction,
                        "off_screen": looking.off_screen,
                        "yaw_deg": looking.yaw_deg,
                        "pitch_deg": looking.pitch_deg,
                        "eyes_closed": looking.eyes_closed,
                        "eye_aspect_ratio": round(eyes.ear, 4),
                        "mouth_open_ratio": mouth_open_ratio(points),
                        "eye_yaw_deg": looking.eye_yaw_deg,
                        "eye_pitch_deg": looking.eye_pitch_deg,
                        # Stateless: against the camera's axis; the behaviour analyser applies the
                        # session's baseline.
                        "baseline": "none",
                    }
            watch.lap("landmarks")

        objects, status = self._objects(image, frame["sequence"])
        if status == "checked":
            watch.lap("objects")

        return {
            "session_id": frame["session_id"],
            "candidate_id": frame["candidate_id"],
            "frame_sequence": frame["sequence"],
            "captured_at_ms": frame["captured_at_ms"],
            "observed_at_ms": int(time.time() * 1000),
            "brightness": quality.brightness,
            "too_dark": quality.brightness < self.settings.too_dark_brightness,
            "image_too_small": min(width, height) < self.settings.min_image_side,
            "contrast": quality.contrast,
            "sharpness": quality.sharpness,
            "frame_digest": quality.digest,
            "faces": faces,
            "head_pose": pose,
            "gaze": gaze_record,
            "objects": objects,
            "objects_status": status,
            "timings_ms": watch.total(),
            "conditions": [],
            "events": [],
        }

    def _objects(self, image: np.ndarray, sequence: int) -> tuple[list[DetectedObject] | None, ObjectsStatus]:
        if not self.objects.available:
            return None, "unavailable"
        if sequence % max(self.settings.yolo_stride, 1) != 0:
            return None, "skipped"
        return self.objects.detect(image), "checked"
