"""Real photos that ship inside installed packages, shaped as webcam frames, for tests."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from producers.images import encode_jpeg
from schemas.records import Face, Frame, Observation, new_frame, new_observation, now_ms
from streams.samples.photos import ultralytics_asset as asset
from streams.samples.photos import zidane_face
from streams.samples.scenes import scene_image
from streams.samples.session import jitter

__all__ = [
    "INTERVAL_MS",
    "SHARED_WEIGHTS",
    "START_MS",
    "asset",
    "frame_record",
    "observation_record",
    "scene_jpeg",
    "timeline",
    "webcam_jpeg",
    "zidane_face",
]

# The real COCO weights of ../shared/models (never copied into the repo); INTEGRITY_YOLO_WEIGHTS wins.
SHARED_WEIGHTS = os.environ.get(
    "INTEGRITY_YOLO_WEIGHTS",
    str(Path(__file__).resolve().parents[3] / "shared" / "models" / "yolov8n_full_integer_quant.tflite"),
)

INTERVAL_MS = 200  # 5 frames per second of capture time
# Sessions of this test run start now: the worker refuses capture times far from the broker's clock.
START_MS = now_ms()


@cache
def _scene(scene: str) -> np.ndarray:
    return scene_image(scene)


def scene_jpeg(scene: str) -> bytes:
    return encode_jpeg(_scene(scene), 90)


@cache
def webcam_jpeg(scene: str, variant: int) -> bytes:
    """``scene`` with a little camera shake and sensor noise (one of 8 variants): consecutive frames of a
    real webcam are never identical, and identical ones are a frozen camera."""
    return encode_jpeg(jitter(_scene(scene), np.random.default_rng(variant % 8)), 90)


def _size(jpeg: bytes) -> tuple[int, int]:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return (image.shape[1], image.shape[0]) if image is not None else (640, 480)


def frame_record(session_id: str, sequence: int, captured_at_ms: int, scene: str, image: bytes | None = None) -> Frame:
    """A Frame of ``scene`` (or of ``image``, declared at its own size; undecodable bytes as 640x480)."""
    jpeg = webcam_jpeg(scene, sequence) if image is None else image
    width, height = _size(jpeg)
    return new_frame(
        session_id,
        sequence,
        jpeg,
        width=width,
        height=height,
        captured_at_ms=captured_at_ms,
        candidate_id=f"cand-{session_id}",
        source="test",
    )


def timeline(
    session_id: str, scenes: list[tuple[str, int]], first_sequence: int = 0, start_ms: int | None = None
) -> list[Frame]:
    """Frames of real photos ("one_face", "face_absent", "two_faces"), ``count`` of each, 5 per second,
    captured from ``start_ms`` (default: now, so that the worker's clock checks pass however late in a
    long test run the session is made)."""
    frames, sequence = [], first_sequence
    start_ms = now_ms() if start_ms is None else start_ms
    for scene, count in scenes:
        for _ in range(count):
            frames.append(frame_record(session_id, sequence, start_ms + sequence * INTERVAL_MS, scene))
            sequence += 1
    return frames


# A face found, big enough to read.
ONE_FACE: Face = {"confidence": 0.9, "x": 0.4, "y": 0.2, "width": 0.2, "height": 0.25, "too_small": False}


def observation_record(session: str, sequence: int, captured_at_ms: int, **changes: object) -> Observation:
    """An Observation as the vision stage writes one for a frame with one readable face, then ``changes``."""
    observation = new_observation(
        session,
        sequence,
        captured_at_ms,
        candidate_id="c",
        faces=[ONE_FACE],
        # A readable face has its mesh read (a readable face without one is occluded).
        head_pose={"yaw": 0.0, "pitch": 8.0, "roll": 0.0},
        gaze={
            "direction": "center",
            "off_screen": 0.0,
            "yaw_deg": 0.0,
            "pitch_deg": 0.0,
            "eyes_closed": False,
            "eye_aspect_ratio": 0.3,
            "mouth_open_ratio": 0.0,
            "eye_yaw_deg": 0.0,
            "eye_pitch_deg": -8.4,
            "baseline": "none",
        },
        objects_status="unavailable",
        contrast=55.0,
        sharpness=1500.0,
        frame_digest=f"{sequence:016x}",  # a webcam never repeats a frame exactly
    )
    return observation | changes  # type: ignore[return-value]
