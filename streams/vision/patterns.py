"""Patterns in where the candidate looks, not single frames: repeated fixation on one off-screen spot,
and reading.

- **Fixation**: separate glances away (each from leaving the screen to coming back) that land on the same
  spot again and again (a phone under the screen, a second monitor, notes on the desk): at least
  ``fixation_glances`` within ``fixation_window_s`` whose mean angles lie within ``fixation_spread_deg``
  of each other. Glances scattered at random (thinking, looking around) never gather that many on one
  spot, and are not a pattern.
- **Reading**: horizontal sweeps, each a slow drift of the gaze's yaw over at least ``sweep_deg`` followed
  by a fast return the other way (the eyes jumping back to the next line), at least ``reading_sweeps``
  within ``reading_window_s``, their drifts all one way. Looking at one place, or glancing about, makes
  none.

Each pattern comes with the evidence that made it (``details``: glance count, direction, angles,
durations; sweep count and extent). Angles are the gaze's after the candidate's baseline
(``streams.vision.baseline``). The state is a plain dict (JSON-safe) in the session's behaviour state.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

__all__ = ["GlancePatterns", "PatternSettings", "Seen"]

# Yaw moves under this (degrees) between two frames are noise, not a change of direction.
_JITTER_DEG = 1.5
_KEPT = 40  # closed glances kept per session, at most
_NOISE_WEIGHT = 0.1  # of each new frame in the running noise estimate
_NOISE_CAP_DEG = 30.0  # a change larger than this is a move, not noise


@dataclass(frozen=True)
class PatternSettings:
    fixation_glances: int = 4
    fixation_window_s: float = 60.0
    fixation_spread_deg: float = 12.0
    reading_sweeps: int = 3
    reading_window_s: float = 20.0
    sweep_deg: float = 6.0


@dataclass(frozen=True)
class Seen:
    """One pattern on this frame: whether it holds, and the evidence for it."""

    holds: bool
    details: dict[str, str]


def _direction(yaw: float, pitch: float) -> str:
    horizontal = "right" if yaw > 0 else "left"
    vertical = "down" if pitch > 0 else "up"
    if abs(pitch) < abs(yaw) / 2:
        return horizontal
    if abs(yaw) < abs(pitch) / 2:
        return vertical
    return f"{vertical}-{horizontal}"


class GlancePatterns:
    def __init__(self, settings: PatternSettings | None = None) -> None:
        self.settings = settings or PatternSettings()

    @staticmethod
    def fresh() -> dict[str, Any]:
        return {"open": None, "glances": [], "run": None, "sweeps": []}

    def reset(self, state: dict[str, Any]) -> None:
        """Forget what was under way (a gap in the frames): a pattern must be seen again."""
        state.update(self.fresh())

    def update(self, state: dict[str, Any], away: bool, yaw: float, pitch: float, now: int) -> tuple[Seen, Seen]:
        """Advance by one frame's gaze; returns (fixation, reading) on this frame."""
        return self._fixation(state, away, yaw, pitch, now), self._reading(state, yaw, now)

    # -- fixation -----------------------------------------------------------------------------------

    def _fixation(self, state: dict[str, Any], away: bool, yaw: float, pitch: float, now: int) -> Seen:
        s = self.settings
        glances: list[list[Any]] = state["glances"]
        glances[:] = [g for g in glances if g[1] >= now - s.fixation_window_s * 1000][-_KEPT:]
        current = state["open"]
        if away:
            if current is None:
                current = state["open"] = {"start": now, "yaws": [], "pitches": []}
            current["yaws"].append(round(yaw, 2))
            current["pitches"].append(round(pitch, 2))
            spot = (statistics.median(current["yaws"]), statistics.median(current["pitches"]))
            same = [g for g in glances if math.dist(spot, (g[2], g[3])) <= s.fixation_spread_deg]
            count = len(same) + 1
            if count < s.fixation_glances:
                return Seen(False, {})
            durations = [g[1] - g[0] for g in same] + [now - current["start"]]
            details = {
                "glances": str(count),
                "direction": _direction(*spot),
                "yaw_deg": f"{spot[0]:.1f}",
                "pitch_deg": f"{spot[1]:.1f}",
                "glance_ms": ",".join(str(d) for d in durations[-10:]),
                "other_glances": str(len(glances) - len(same)),
            }
            return Seen(True, details)
        if current is not None:
            # Back on screen: the glance is one more visit to its spot.
            glances.append(
                [current["start"], now, statistics.median(current["yaws"]), statistics.median(current["pitches"])]
            )
            state["open"] = None
        return Seen(False, {})

    # -- reading ------------------------------------------------------------------------------------

    def _reading(self, state: dict[str, Any], raw_yaw: float, now: int) -> Seen:
        s = self.settings
        sweeps: list[list[Any]] = state["sweeps"]
        sweeps[:] = [w for w in sweeps if w[0] >= now - s.reading_window_s * 1000]
        # The gaze's own noise, from its frame-to-frame changes (a running mean of |change|, 1.13 sigma
        # for independent noise): a sweep must stand 3 sigma out of it. Measured on posed renders: a
        # face turned 40 degrees reads with a sigma of ~6 degrees, a frontal one of ~1-2.
        recent: list[float] = state.setdefault("recent_yaw", [])
        if recent:
            change = min(abs(raw_yaw - recent[-1]), _NOISE_CAP_DEG)
            state["noise"] = state.get("noise", change) * (1 - _NOISE_WEIGHT) + change * _NOISE_WEIGHT
        recent[:] = [*recent, raw_yaw][-3:]
        yaw = statistics.median(recent)  # a median of 3: one wild frame is not a move
        needed = max(s.sweep_deg, 3.0 * state.get("noise", 0.0) / 1.13)
        run = state["run"]
        if run is None:
            state["run"] = {"start_yaw": yaw, "peak_yaw": yaw, "sign": 0, "frames": 0}
            return self._reading_seen(sweeps)
        step = yaw - run["peak_yaw"]
        if abs(step) < _JITTER_DEG:
            run["frames"] += 1
        elif run["sign"] == 0 or math.copysign(1, step) == run["sign"]:
            run.update(peak_yaw=yaw, sign=int(math.copysign(1, step)), frames=run["frames"] + 1)
        else:
            drift = abs(run["peak_yaw"] - run["start_yaw"])
            # A steady drift over 4+ frames, then a jump back most of the way in one step: a line read.
            if drift >= needed and run["frames"] >= 4 and abs(step) >= 0.6 * drift:
                sweeps.append([now, run["sign"], round(drift, 1)])
            state["run"] = {
                "start_yaw": run["peak_yaw"],
                "peak_yaw": yaw,
                "sign": int(math.copysign(1, step)),
                "frames": 1,
            }
        return self._reading_seen(sweeps)

    def _reading_seen(self, sweeps: list[list[Any]]) -> Seen:
        if not sweeps:
            return Seen(False, {})
        sign, count = Counter(w[1] for w in sweeps).most_common(1)[0]
        if count < self.settings.reading_sweeps:
            return Seen(False, {})
        extents = [w[2] for w in sweeps if w[1] == sign]
        details = {
            "sweeps": str(count),
            "drift": "towards the image's right" if sign > 0 else "towards the image's left",
            "sweep_deg": f"{statistics.median(extents):.1f}",
        }
        return Seen(True, details)
