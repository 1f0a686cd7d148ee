"""Each candidate's own neutral gaze, learnt from the first seconds of their session.

A camera beside the screen, a laptop low on a desk, a face whose iris rests high in the eye: against the
camera's axis and a typical face's neutral, each looks away all interview. So the first ``window_s`` of a
session with one clear face (one readable face, eyes open, enough light) set the candidate's neutral head
pose and eye position, as medians (a glance away during the window does not move them); from then on the
gaze is judged from that neutral, within the screen's half-angles (``GazeLimits``).

Until the baseline is set (status ``collecting``), and in a session that never gets one (``missing``: no
clear face for ``window_s``), the gaze is judged against the camera's axis with limits widened by
``unbaselined_widen``: conservatively, so an off-axis camera does not read as looking away. Clear frames
after the window still set it. A ``rebaseline`` control record (the camera moved) starts it again.

The state is a plain dict (JSON-safe), kept in the behaviour table with the session's tracks.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from schemas.records import Observation
from streams.vision.gaze import GazeLimits, judge
from streams.vision.screen import ScreenGeometry

__all__ = ["BaselineState", "GazeBaseline"]

BaselineState = dict[str, Any]

_MAX_SAMPLES = 600  # the window's clear frames, at most (2 minutes at 5 fps)


@dataclass(frozen=True)
class _Sample:
    head_yaw: float
    head_pitch: float
    eye_yaw: float
    eye_pitch: float


class GazeBaseline:
    def __init__(
        self,
        limits: GazeLimits,
        margin_deg: float,
        window_s: float = 20.0,
        min_frames: int = 10,
        unbaselined_widen: float = 1.5,
    ) -> None:
        self.limits = limits
        self.margin_deg = margin_deg
        self.window_ms = int(window_s * 1000)
        self.min_frames = min_frames
        self.unbaselined_widen = unbaselined_widen

    @staticmethod
    def restart(state: BaselineState | None, screen: dict[str, Any] | None = None) -> BaselineState:
        """A baseline learnt again from the next frames (a new session, or the camera moved); the
        session's screen is kept unless a new one is given."""
        kept = (state or {}).get("screen") if screen is None else screen
        return {"status": "collecting", "since_ms": None, "samples": [], "neutral": None, "screen": kept}

    def apply(self, state: BaselineState | None, observation: Observation, learn: bool = True) -> BaselineState:
        """Judge ``observation``'s gaze from the baseline (rewriting its direction, score, angles and
        ``baseline``), after learning from it when ``learn`` (False for a redelivered frame)."""
        state = state or self.restart(None)
        now = observation["captured_at_ms"]
        if learn:
            if state["since_ms"] is None:
                state["since_ms"] = now
            if state["neutral"] is None:
                self._learn(state, observation, now)
        record = observation["gaze"]
        if record is None:
            return state
        limits = self._limits(state)
        head = observation["head_pose"] or {"yaw": 0.0, "pitch": 0.0}
        neutral = state["neutral"]
        if neutral is not None:
            n_head_yaw, n_head_pitch, n_eye_yaw, n_eye_pitch = neutral
            yaw = head["yaw"] - n_head_yaw
            pitch = head["pitch"] - n_head_pitch
            if not record["eyes_closed"]:
                yaw += record["eye_yaw_deg"] - n_eye_yaw
                pitch += record["eye_pitch_deg"] - n_eye_pitch
            record["yaw_deg"], record["pitch_deg"] = round(yaw, 2), round(pitch, 2)
            status = "set"
        else:
            # The camera-axis angles the pipeline measured, judged within wider limits.
            yaw, pitch = record["yaw_deg"], record["pitch_deg"]
            limits = limits.widened(self.unbaselined_widen)
            status = "collecting" if now - state["since_ms"] < self.window_ms else "missing"
        record["direction"], record["off_screen"] = judge(yaw, pitch, limits)
        record["baseline"] = status
        state["status"] = status
        return state

    def _limits(self, state: BaselineState) -> GazeLimits:
        screen = state.get("screen")
        if not screen:
            return self.limits
        width, height = screen["aspect"]
        geometry = ScreenGeometry(screen["diagonal_in"], (width, height), screen["distance_cm"])
        return GazeLimits.for_screen(geometry, self.margin_deg)

    def _learn(self, state: BaselineState, observation: Observation, now: int) -> None:
        sample = self._clear(observation)
        samples: list[list[float]] = state["samples"]
        if sample is not None and len(samples) < _MAX_SAMPLES:
            samples.append([sample.head_yaw, sample.head_pitch, sample.eye_yaw, sample.eye_pitch])
        if now - state["since_ms"] >= self.window_ms and len(samples) >= self.min_frames:
            state["neutral"] = [round(statistics.median(column), 3) for column in zip(*samples, strict=True)]
            state["set_at_ms"] = now
            state["samples"] = []

    @staticmethod
    def _clear(observation: Observation) -> _Sample | None:
        """The frame's head and eyes, when it shows one clear face with open eyes; else None."""
        faces, gaze, head = observation["faces"], observation["gaze"], observation["head_pose"]
        if len(faces) != 1 or faces[0]["too_small"] or observation["too_dark"] or gaze is None or head is None:
            return None
        if gaze["eyes_closed"]:
            return None
        return _Sample(head["yaw"], head["pitch"], gaze["eye_yaw_deg"], gaze["eye_pitch_deg"])
