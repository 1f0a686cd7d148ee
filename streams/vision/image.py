"""Decoding the encoded image of a frame, once, into the BGR array every detector shares."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["MAX_PIXELS", "ImageDecodeError", "decode_image"]

# 4K is far above any webcam stream; a larger header is a decompression bomb, not a frame.
MAX_PIXELS = 3840 * 2160
_MAGIC = {"JPEG": (b"\xff\xd8",), "PNG": (b"\x89PNG",), "WEBP": (b"RIFF",)}


class ImageDecodeError(ValueError):
    """The frame's image bytes are not a decodable image of the declared encoding and size."""


def decode_image(data: bytes, encoding: str = "JPEG") -> np.ndarray:
    """Return the image as an HxWx3 uint8 BGR array, or raise ``ImageDecodeError`` saying why."""
    if not data:
        raise ImageDecodeError("empty image")
    magics = _MAGIC.get(encoding)
    if magics is None:
        raise ImageDecodeError(f"unsupported encoding {encoding!r}")
    if not data.startswith(magics):
        raise ImageDecodeError(f"bytes do not start like a {encoding} image")
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageDecodeError(f"{encoding} data could not be decoded ({len(data)} bytes)")
    height, width = image.shape[:2]
    if height * width > MAX_PIXELS:
        raise ImageDecodeError(f"image is {width}x{height}, above the {MAX_PIXELS}-pixel limit")
    return image
