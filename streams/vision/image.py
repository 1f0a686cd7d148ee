"""Decoding the encoded image of a frame, once, into the BGR array every detector shares.

The header is read first (Pillow's readers parse only the header when opened): an image whose header
claims more than ``MAX_PIXELS`` is refused before a byte of it is decoded, so a small file that unpacks
to gigabytes (a decompression bomb) costs nothing.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO, cast

import cv2
import numpy as np
from PIL import ImageFile, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from schemas.records import Frame, ImageEncoding, new_frame

__all__ = ["MAX_PIXELS", "ImageDecodeError", "decode_image", "frame_of_image", "image_header"]

# 4K is far above any webcam stream; a larger header is a decompression bomb, not a frame.
MAX_PIXELS = 3840 * 2160
_MAGIC = {"JPEG": (b"\xff\xd8",), "PNG": (b"\x89PNG",), "WEBP": (b"RIFF",)}
_HEADER_READERS: dict[str, Callable[[IO[bytes]], ImageFile.ImageFile]] = {
    "JPEG": JpegImagePlugin.JpegImageFile,
    "PNG": PngImagePlugin.PngImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
}


class ImageDecodeError(ValueError):
    """The frame's image bytes are not a decodable image of the declared encoding and size."""


def _header_size(data: bytes, encoding: str) -> tuple[int, int]:
    """(width, height) from the image's header, without decoding it."""
    # The format's own reader, not Image.open: Ultralytics patches Image.open to pip-install a HEIF
    # plugin when it meets an unknown image, which a worker fed garbage must never try.
    reader = _HEADER_READERS[encoding]
    try:
        with reader(io.BytesIO(data)) as header:
            width, height = header.size
    except Exception:  # Pillow raises SyntaxError, OSError, ValueError... on garbage
        unreadable = f"{encoding} data could not be decoded ({len(data)} bytes): no readable header"
        raise ImageDecodeError(unreadable) from None
    return int(width), int(height)


def image_header(data: bytes) -> tuple[str, int, int]:
    """(encoding, width, height) of an encoded image, from its first bytes and header, without decoding
    it; ``ImageDecodeError`` for anything else, or an image above ``MAX_PIXELS`` (a gateway's check)."""
    encoding = next((name for name, magics in _MAGIC.items() if data.startswith(magics)), None)
    if encoding is None:
        raise ImageDecodeError(f"{len(data)} bytes that do not start like a JPEG, PNG or WebP image")
    width, height = _header_size(data, encoding)
    if width * height > MAX_PIXELS:
        raise ImageDecodeError(f"image is {width}x{height}, above the {MAX_PIXELS}-pixel limit")
    return encoding, width, height


def frame_of_image(
    session_id: str,
    sequence: int,
    image: bytes,
    *,
    captured_at_ms: int | None,
    candidate_id: str,
    source: str,
    metadata: dict[str, str] | None = None,
) -> Frame:
    """A Frame of an encoded image from outside (the gateway's, a Python platform's), declaring the encoding
    and size its header says; ``ImageDecodeError`` for bytes that are not such an image."""
    encoding, width, height = image_header(image)
    return new_frame(
        session_id,
        sequence,
        image,
        width=width,
        height=height,
        captured_at_ms=captured_at_ms,
        candidate_id=candidate_id,
        encoding=cast(ImageEncoding, encoding),  # one of image_header's three
        source=source,
        metadata=metadata,
    )


def decode_image(data: bytes, encoding: str = "JPEG") -> np.ndarray:
    """Return the image as an HxWx3 uint8 BGR array, or raise ``ImageDecodeError`` saying why."""
    if not data:
        raise ImageDecodeError("empty image")
    magics = _MAGIC.get(encoding)
    if magics is None:
        raise ImageDecodeError(f"unsupported encoding {encoding!r}")
    if not data.startswith(magics):
        raise ImageDecodeError(f"bytes do not start like a {encoding} image")
    width, height = _header_size(data, encoding)
    if width * height > MAX_PIXELS:
        raise ImageDecodeError(f"image is {width}x{height}, above the {MAX_PIXELS}-pixel limit")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageDecodeError(f"{encoding} data could not be decoded ({len(data)} bytes)")
    return image
