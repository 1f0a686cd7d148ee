"""The screen a candidate answers on: its size, shape and distance, and the angle it spans from their eyes.

Light on purpose (no vision imports): the edge rules check a start record's screen before any frame.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SCREEN_KEYS", "ScreenGeometry", "parse_aspect", "screen_from_metadata"]

# Start-record metadata that sets the session's screen (docs/CONTRACT.md).
SCREEN_KEYS = ("screen_diagonal_in", "screen_distance_cm", "screen_aspect")
_CM_PER_INCH = 2.54


def parse_aspect(text: str) -> tuple[float, float]:
    """``"16:9"`` -> (16.0, 9.0); ValueError for anything else."""
    width, sep, height = text.partition(":")
    try:
        aspect = (float(width), float(height))
    except ValueError:
        aspect = (0.0, 0.0)
    if not sep or not all(math.isfinite(a) and a > 0 for a in aspect):
        raise ValueError(f"a screen aspect is W:H, like 16:9, not {text!r}")
    return aspect


@dataclass(frozen=True)
class ScreenGeometry:
    """The screen the candidate answers on, seen from their eyes."""

    diagonal_in: float = 15.6
    aspect: tuple[float, float] = (16.0, 9.0)
    distance_cm: float = 60.0

    def half_angles_deg(self) -> tuple[float, float]:
        """(horizontal, vertical) half-angles the screen spans: 15.6" 16:9 at 60 cm -> (16.0, 9.2)."""
        diagonal = self.diagonal_in * _CM_PER_INCH
        width, height = (diagonal * side / math.hypot(*self.aspect) for side in self.aspect)
        return (
            math.degrees(math.atan(width / 2 / self.distance_cm)),
            math.degrees(math.atan(height / 2 / self.distance_cm)),
        )


def screen_from_metadata(metadata: Mapping[str, str]) -> dict[str, Any] | None:
    """The session's screen from its start record's metadata (None when it names none); ValueError,
    in words, for a value that is not a plausible screen."""
    if not any(key in metadata for key in SCREEN_KEYS):
        return None
    default = ScreenGeometry()
    screen: dict[str, Any] = {"diagonal_in": default.diagonal_in, "distance_cm": default.distance_cm}
    screen["aspect"] = list(default.aspect)
    for key, field, low, high in (
        ("screen_diagonal_in", "diagonal_in", 5.0, 100.0),
        ("screen_distance_cm", "distance_cm", 20.0, 300.0),
    ):
        if key in metadata:
            try:
                value = float(metadata[key])
            except ValueError:
                raise ValueError(f"metadata {key} is not a number: {metadata[key]!r}") from None
            if not low <= value <= high:
                raise ValueError(f"metadata {key} {value:g} is outside {low:g}..{high:g}")
            screen[field] = value
    if "screen_aspect" in metadata:
        screen["aspect"] = list(parse_aspect(metadata["screen_aspect"]))
    return screen
