"""Is the frame good enough to judge? Darkness and face size, so low confidence never reads as cheating."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["brightness"]


def brightness(bgr: np.ndarray) -> float:
    """Mean luma (0..255) on a 4x-downscaled grey copy: cheap, and noise does not move it."""
    small = cv2.resize(bgr, (bgr.shape[1] // 4 or 1, bgr.shape[0] // 4 or 1), interpolation=cv2.INTER_AREA)
    return float(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).mean())
