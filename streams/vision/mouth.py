"""How open the mouth is: the inner-lip gap over the mouth's width (0 closed, ~0.3+ wide open).

One open mouth is not talking; the behaviour analyser looks for it opening and closing over time.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mouth_open_ratio"]

_UPPER_INNER_LIP, _LOWER_INNER_LIP = 13, 14
_MOUTH_CORNERS = (61, 291)


def mouth_open_ratio(landmarks: np.ndarray) -> float:
    width = float(np.linalg.norm(landmarks[_MOUTH_CORNERS[0], :2] - landmarks[_MOUTH_CORNERS[1], :2]))
    if width < 1e-6:
        return 0.0
    gap = float(np.linalg.norm(landmarks[_UPPER_INNER_LIP, :2] - landmarks[_LOWER_INNER_LIP, :2]))
    return round(gap / width, 4)
