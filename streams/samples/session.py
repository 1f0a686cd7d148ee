"""The demo's recorded session, built at setup time from the scenes (``streams.samples.scenes``).

The session has a clean start, a stretch where the candidate's face leaves the frame, a second person
joining, and clean stretches after each so the score can be seen decaying. A ``manifest.json`` beside
the frames records each frame's scene and its true face count.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from producers.images import encode_jpeg
from streams.samples.scenes import HEIGHT, SCENES, WIDTH, Photos, scene_image

__all__ = ["SAMPLE_FPS", "TIMELINE", "build_sample_session", "jitter"]

# (scene, seconds) at SAMPLE_FPS frames per second.
SAMPLE_FPS = 5
TIMELINE: tuple[tuple[str, float], ...] = (
    ("one_face", 6),
    ("face_absent", 8),
    ("one_face", 8),
    ("two_faces", 6),
    ("one_face", 12),
)


def jitter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A few pixels of camera shake and sensor noise, so consecutive frames differ like a webcam's."""
    dx, dy = rng.integers(-4, 5, size=2)
    moved = cv2.warpAffine(
        image, np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32), (WIDTH, HEIGHT), borderValue=(32, 32, 32)
    )
    noise = rng.normal(0, 3, moved.shape)
    return np.clip(moved.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def build_sample_session(out_dir: Path, seed: int = 7) -> Path:
    """Write the sample session's JPEG frames and manifest into ``out_dir``; returns ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("frame_*.jpg"):
        old.unlink()
    photos = Photos.load()
    scenes = {name: scene_image(name, photos) for name in SCENES}
    rng = np.random.default_rng(seed)
    frames = []
    sequence = 0
    for scene, seconds in TIMELINE:
        for _ in range(int(seconds * SAMPLE_FPS)):
            name = f"frame_{sequence:05d}.jpg"
            (out_dir / name).write_bytes(encode_jpeg(jitter(scenes[scene], rng), 90))
            frames.append({"sequence": sequence, "file": name, "scene": scene, "faces": SCENES[scene]})
            sequence += 1
    manifest = {"fps": SAMPLE_FPS, "width": WIDTH, "height": HEIGHT, "frames": frames}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return out_dir
