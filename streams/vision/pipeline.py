"""The vision stage of one frame: decode once, run every detector on the shared image, time each.

Stateless: the same frame gives the same observation wherever it runs. The temporal part (behaviours
with a start and an end) is ``streams.vision.behaviour``, which the caller runs with the session's state.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, cast

import cv2
import numpy as np

from schemas.records import DetectedObject, Face, Frame, Gaze, HeadPose, ObjectsStatus, Observation
from streams.machine import cpus_available
from streams.settings import VisionSettings, yolo_input_size
from streams.vision.face import FaceDetector, FaceScan, centred_detection
from streams.vision.gaze import eye_state, gaze, screen_limits
from streams.vision.head_pose import head_axes, pose_from_axes
from streams.vision.image import ImageDecodeError, decode_image
from streams.vision.landmarks import FaceLandmarker
from streams.vision.mouth import mouth_open_ratio
from streams.vision.objects import ObjectDetector
from streams.vision.quality import frame_quality
from streams.vision.schedule import ObjectsCheck, ObjectsSchedule
from streams.vision.tuning import set_inference_threads

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
        self.objects = ObjectDetector(
            settings.yolo_weights, settings.object_min_confidence, yolo_input_size(settings.yolo_input)
        )
        if self.objects.available:  # imports the runtimes: only when objects are on
            set_inference_threads(settings.inference_threads or cpus_available())
        self.gaze_limits = screen_limits(settings)
        self.schedule = ObjectsSchedule(settings.objects_every_s, settings.objects_still_below)

    def warm_up(self) -> None:
        """Load every model and run it once, so the first real frame is not the slow one."""
        blank = np.zeros((480, 640, 3), dtype=np.uint8)
        self.faces.scan(blank)
        self.landmarker.landmarks_at(blank, centred_detection())
        if self.objects.available:
            self.objects.detect(blank)

    def observe(self, frame: Frame) -> Observation:
        """Observe one frame, every detector on it. Raises ``ImageDecodeError`` for an image that cannot be
        decoded."""
        return self._observe(frame, None)[0]

    def observe_in_session(
        self, frame: Frame, last_check: ObjectsCheck | None
    ) -> tuple[Observation, ObjectsCheck | None]:
        """Observe a frame of a session whose objects were last checked at ``last_check`` (None: never),
        objects on the session's schedule (``streams.vision.schedule``). Returns the observation and the
        session's new last check."""
        return self._observe(frame, last_check or {})

    def _observe(self, frame: Frame, last_check: ObjectsCheck | None) -> tuple[Observation, ObjectsCheck | None]:
        watch = _Stopwatch()
        image = decode_image(frame["image"], frame["encoding"])
        height, width = image.shape[:2]
        if (width, height) != (frame["width"], frame["height"]):
            raise ImageDecodeError(
                f"the image is {width}x{height}, the frame declares {frame['width']}x{frame['height']}"
            )
        watch.lap("decode")
        quality = frame_quality(image)
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

        scan = self.faces.scan_rgb(rgb)
        faces: list[Face] = [
            cast(Face, asdict(face) | {"too_small": face.width < self.settings.face_too_small}) for face in scan.faces
        ]
        watch.lap("faces")

        pose: HeadPose | None = None
        gaze_record: Gaze | None = None
        if (mesh_on := self._mesh_face(scan)) is not None:
            points = self.landmarker.landmarks_at(rgb, mesh_on)
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

        objects, status, check = self._objects(image, frame["captured_at_ms"], quality.grid, last_check)
        if status == "checked":
            watch.lap("objects")

        observation: Observation = {
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
        return observation, check

    def _mesh_face(self, scan: FaceScan) -> Any | None:
        """The detection the mesh reads: the largest face large enough to read. The candidate sits
        nearest the camera; the most confident face would swap between two people from frame to frame,
        and their gaze and mouth would read as one person's movements."""
        readable = [
            (face.width * face.height, index)
            for index, face in enumerate(scan.faces)
            if face.width >= self.settings.face_too_small
        ]
        return scan.detections[max(readable)[1]] if readable else None

    def mesh(self, image: np.ndarray) -> np.ndarray | None:
        """The face mesh ``observe`` reads on a BGR image (pixels), or None."""
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        detection = self._mesh_face(self.faces.scan_rgb(rgb))
        return None if detection is None else self.landmarker.landmarks_at(rgb, detection)

    def _objects(
        self, image: np.ndarray, captured_at_ms: int, grid: np.ndarray, last_check: ObjectsCheck | None
    ) -> tuple[list[DetectedObject] | None, ObjectsStatus, ObjectsCheck | None]:
        if not self.objects.available:
            return None, "unavailable", last_check
        if last_check is not None and not self.schedule.due(last_check, captured_at_ms, grid):
            return None, "skipped", last_check
        return self.objects.detect(image), "checked", ObjectsSchedule.checked(captured_at_ms, grid)
