"""Reading recorded sessions (an image folder or a video file) and shaping frames like a webcam's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

__all__ = ["IMAGE_SUFFIXES", "count_images", "encode_jpeg", "fit", "iter_images"]

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def _folder_images(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def count_images(path: Path) -> int | None:
    """How many frames ``iter_images`` will yield, when the container says (None if unknown)."""
    if path.is_dir():
        return len(_folder_images(path))
    capture = cv2.VideoCapture(str(path))
    try:
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    return count if count > 0 else None


def iter_images(path: Path) -> Iterator[np.ndarray]:
    """BGR images of a folder (sorted by file name) or of a video file, in order."""
    if path.is_dir():
        for file in _folder_images(path):
            image = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError(f"{file} is not a readable image")
            yield image
        return
    if not path.is_file():
        raise FileNotFoundError(f"{path} is neither an image folder nor a video file")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"{path} is not a video file OpenCV can read")
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                return
            yield image
    finally:
        capture.release()


def fit(image: np.ndarray, width: int, height: int, fill: int = 32) -> np.ndarray:
    """Scale ``image`` to fit ``width`` x ``height`` keeping its aspect, padding the rest (letterbox)."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    scale = min(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)), cv2.INTER_AREA)
    canvas = np.full((height, width, 3), fill, dtype=np.uint8)
    y = (height - resized.shape[0]) // 2
    x = (width - resized.shape[1]) // 2
    canvas[y : y + resized.shape[0], x : x + resized.shape[1]] = resized
    return canvas


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()
