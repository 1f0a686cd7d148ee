"""Real photos that ship inside installed packages, shaped as webcam frames, for tests."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import numpy as np

from producers.images import encode_jpeg
from producers.photos import ultralytics_asset as asset
from producers.photos import zidane_face
from producers.sample import scene_image

__all__ = ["SHARED_WEIGHTS", "asset", "frame_record", "scene_jpeg", "zidane_face"]

# The real COCO weights of ../shared/models (never copied into the repo); INTEGRITY_YOLO_WEIGHTS wins.
SHARED_WEIGHTS = os.environ.get(
    "INTEGRITY_YOLO_WEIGHTS",
    str(Path(__file__).resolve().parents[2] / "shared" / "models" / "yolov8n_full_integer_quant.tflite"),
)


@cache
def _scene(scene: str) -> np.ndarray:
    return scene_image(scene)


def scene_jpeg(scene: str) -> bytes:
    return encode_jpeg(_scene(scene), 90)


def frame_record(session_id: str, sequence: int, captured_at_ms: int, scene: str, image: bytes | None = None) -> dict:
    return {
        "session_id": session_id,
        "candidate_id": f"cand-{session_id}",
        "sequence": sequence,
        "captured_at_ms": captured_at_ms,
        "image": scene_jpeg(scene) if image is None else image,
        "encoding": "JPEG",
        "width": 640,
        "height": 480,
        "source": "test",
    }
