"""When a session's frame is worth the object detector: the detector's promise, kept at the least cost.

YOLO costs 3-20x the rest of a frame (docs/PERFORMANCE.md), and what it looks for (a phone, a book,
another person) stays in view for seconds. So per session it runs:
- on the session's first frame;
- then once ``every_s`` of capture time has passed since its last check, if the picture changed since
  that check: a phone that comes into view and stays is seen within ``every_s`` plus one frame;
- on a picture that did not change (no block of a 16x12 grid of the frame moved by ``still_below``
  grey levels or more), only after ``STILL_FACTOR`` times as long: what YOLO saw there is still there.

The decision reads only the frame and the session's last check (``ObjectsCheck``, kept in the session's
state), so a frame analysed again after a crash is decided, and answered, the same way.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TypedDict

import cv2
import numpy as np

__all__ = ["STILL_FACTOR", "ObjectsCheck", "ObjectsSchedule", "motion_grid"]

STILL_FACTOR = 5
_GRID = (16, 12)  # blocks of 40x40 px on a 640x480 frame: a phone in a hand covers one or more


class ObjectsCheck(TypedDict, total=False):
    at_ms: int  # capture time of the frame last checked
    grid: str  # its motion grid (base64 of 16x12 block means)


def motion_grid(grey: np.ndarray) -> np.ndarray:
    """Mean grey level of each block of a 16x12 grid (uint8): sensor noise averages out in a block, a
    hand or a phone moves it."""
    return cv2.resize(grey, _GRID, interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class ObjectsSchedule:
    every_s: float  # 0: every frame
    still_below: float  # grey levels; 0: never treat a picture as unchanged

    def due(self, last: ObjectsCheck | None, captured_at_ms: int, grid: np.ndarray) -> bool:
        if self.every_s <= 0 or not last or "at_ms" not in last:
            return True
        waited_ms = captured_at_ms - last["at_ms"]
        if waited_ms < 0:  # an earlier frame arriving late: its own picture, never assumed
            return True
        if waited_ms < self.every_s * 1000:
            return False
        if self.still_below > 0 and _moved(last.get("grid", ""), grid) < self.still_below:
            return waited_ms >= self.every_s * 1000 * STILL_FACTOR
        return True

    @staticmethod
    def checked(captured_at_ms: int, grid: np.ndarray) -> ObjectsCheck:
        return {"at_ms": captured_at_ms, "grid": base64.b64encode(grid.tobytes()).decode()}


def _moved(previous: str, grid: np.ndarray) -> float:
    """The largest change of a block's mean grey level since the grid ``previous`` (inf: no grid)."""
    try:
        before = np.frombuffer(base64.b64decode(previous), dtype=np.uint8)
    except ValueError:
        return float("inf")
    if before.size != grid.size:
        return float("inf")
    return float(np.abs(before.astype(np.int16) - grid.reshape(-1).astype(np.int16)).max())
