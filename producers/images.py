"""Reading recorded sessions (an image folder or a video file) and shaping frames like a webcam's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

__all__ = ["IMAGE_SUFFIXES", "count_images", "encode_jpeg", "fit", "image_files", "iter_images", "read_image"]

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def image_files(folder: Path) -> list[Path]:
    """The images of a folder, sorted by file name: a recorded session's frames in order."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_image(path: Path) -> np.ndarray:
    """One image file as a BGR array."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path} is not a readable image")
    return image


def count_images(path: Path) -> int | None:
    """How many frames ``iter_images`` will yield, when the container says (None if unknown)."""
    if path.is_dir():
        return len(image_files(path))
    capture = cv2.VideoCapture(str(path))
    try:
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    return count if count > 0 else None


def iter_images(path: Path) -> Iterator[np.ndarray]:
    """BGR images of a folder (sorted by file name) or of a video file, in order."""
    if path.is_dir():
        for file in image_files(path):
            yield read_image(file)
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
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    # Bilinear, as every figure in docs/ACCURACY.md was measured with (INTER_AREA was once meant here,
    # but passed where OpenCV takes the output array, so it never applied).
    resized = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
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
