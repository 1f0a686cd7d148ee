"""Real photos that ship inside installed packages, shaped as 640x480 webcam frames, for tests."""

from __future__ import annotations

from functools import cache

import numpy as np

from producers.images import encode_jpeg
from producers.sample import scene_image

__all__ = ["frame_record", "scene_jpeg"]


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
