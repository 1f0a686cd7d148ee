"""Scenes with a known face count, as 640x480 webcam frames: one face, nobody, two faces.

The astronaut comes from scikit-image, Grace Hopper from matplotlib's sample data.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from producers.images import encode_jpeg, fit
from streams.samples.photos import astronaut, grace_hopper

__all__ = ["HEIGHT", "SCENES", "WIDTH", "Photos", "noisy_jpegs", "scene_image"]

WIDTH, HEIGHT = 640, 480
# Scene -> true face count.
SCENES = {"one_face": 1, "face_absent": 0, "two_faces": 2}


@dataclass(frozen=True)
class Photos:
    astronaut: np.ndarray
    hopper: np.ndarray

    @classmethod
    def load(cls) -> Photos:
        return cls(astronaut=astronaut(), hopper=grace_hopper())


def scene_image(scene: str, photos: Photos | None = None) -> np.ndarray:
    """The 640x480 BGR image of a scene, before per-frame jitter."""
    photos = photos or Photos.load()
    if scene == "one_face":
        return fit(photos.astronaut, WIDTH, HEIGHT)
    if scene == "face_absent":
        # The candidate leans out: the photo slides up until the head has left the frame.
        frame = fit(photos.astronaut, WIDTH, HEIGHT)
        shift = int(HEIGHT * 0.45)
        out = np.full_like(frame, 32)
        out[: HEIGHT - shift] = frame[shift:]
        return out
    if scene == "two_faces":
        pair = np.hstack([cv2.resize(photos.astronaut, (320, 320)), cv2.resize(photos.hopper[:600], (320, 320))])
        return fit(pair, WIDTH, HEIGHT)
    raise ValueError(f"unknown scene {scene!r}")


def noisy_jpegs(images: list[np.ndarray], count: int, seed: int) -> list[bytes]:
    """``count`` webcam-like JPEGs cycling through ``images`` (same size), each with its own sensor noise."""
    rng = np.random.default_rng(seed)
    out = []
    for index in range(count):
        noisy = images[index % len(images)].astype(np.float32) + rng.normal(0, 3, images[0].shape)
        out.append(encode_jpeg(np.clip(noisy, 0, 255).astype(np.uint8), 85))
    return out
