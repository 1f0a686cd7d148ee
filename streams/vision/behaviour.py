"""The temporal behaviour analyser: per session, over observations, behaviours with a start and an end.

Each frame gives a signal per behaviour: true, false, or unknown (no face to read a gaze from, objects
not checked on this frame). A behaviour starts once its signal has held for its minimum duration or
frame count, and ends once it has been false for ``release_after_s`` (hysteresis). It raises one event
at its start (``ended_at_ms`` null) and one at its end, both with the same id, derived from the session,
the type and the start time: a redelivered frame raises nothing new.

The state is a plain dict (JSON-safe) so a Faust table can hold it per session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from schemas.records import QUALITY_KINDS, Condition, Event, Observation
from streams.settings import BehaviourSettings, VisionSettings
from streams.vision.baseline import GazeBaseline
from streams.vision.gaze import screen_limits
from streams.vision.patterns import GlancePatterns, PatternSettings

__all__ = ["BEHAVIOURS", "BehaviourAnalyser", "BehaviourState"]

# What the behaviour table holds per session: tracks per behaviour, glance patterns, mouth openings,
# the gaze baseline.
BehaviourState = dict[str, Any]

BEHAVIOURS = (
    "face_absent",
    "multiple_faces",
    "extra_person",
    "looking_away",
    "phone_visible",
    "book_visible",
    "laptop_visible",
    "fixation_pattern",
    "reading_pattern",
    "talking",
    "low_visibility",
    # Capture quality (QUALITY_KINDS): never evidence; `frame_gap` is raised as a closed interval.
    *(kind for kind in QUALITY_KINDS if kind != "frame_gap"),
)
_OBJECT_BEHAVIOURS = {"cell phone": "phone_visible", "book": "book_visible", "laptop": "laptop_visible"}


@dataclass(frozen=True)
class _Rule:
    min_s: float = 0.0
    min_frames: int = 1


def _rules(settings: BehaviourSettings) -> dict[str, _Rule]:
    return {
        "face_absent": _Rule(min_s=settings.face_absent_after_s),
        "multiple_faces": _Rule(min_frames=settings.extra_person_frames),
        "extra_person": _Rule(min_frames=settings.extra_person_frames),
        "looking_away": _Rule(min_s=settings.looking_away_after_s),
        "phone_visible": _Rule(min_frames=settings.object_frames),
        "book_visible": _Rule(min_frames=settings.object_frames),
        "laptop_visible": _Rule(min_frames=settings.object_frames),
        "fixation_pattern": _Rule(),
        "reading_pattern": _Rule(),
        "talking": _Rule(),
        "low_visibility": _Rule(min_s=1.0),
        "low_light": _Rule(min_s=1.0),
        "blurred": _Rule(min_s=1.0),
        "face_too_small": _Rule(min_s=1.0),
        "occluded": _Rule(min_s=1.0),
        "frozen_frame": _Rule(min_s=settings.frozen_after_s),
    }


class BehaviourAnalyser:
    def __init__(self, settings: BehaviourSettings | None = None, vision: VisionSettings | None = None) -> None:
        self.settings = settings = settings or BehaviourSettings()
        self.rules = _rules(settings)
        self.patterns = GlancePatterns(
            PatternSettings(
                fixation_glances=settings.fixation_glances,
                fixation_window_s=settings.fixation_window_s,
                fixation_spread_deg=settings.fixation_spread_deg,
                reading_sweeps=settings.reading_sweeps,
                reading_window_s=settings.reading_window_s,
                sweep_deg=settings.reading_sweep_deg,
            )
        )
        self.vision = vision = vision or VisionSettings()
        self.baseline = GazeBaseline(
            screen_limits(vision),
            vision.gaze_margin_deg,
            window_s=settings.baseline_s,
            min_frames=settings.baseline_min_frames,
            unbaselined_widen=settings.unbaselined_widen,
        )

    def update(
        self, state: BehaviourState | None, observation: Observation
    ) -> tuple[BehaviourState, list[Condition], list[Event]]:
        """Advance ``state`` by one observation; returns (state, conditions holding, events raised)."""
        state = self.fresh(state)
        if observation["frame_sequence"] <= state["last_sequence"]:
            # Redelivery: the frame was analysed already; its events were raised then.
            state["baseline"] = self.baseline.apply(state["baseline"], observation, learn=False)
            return state, self._conditions(state), []
        # Its gaze judged from the candidate's own neutral (or conservatively, while there is none).
        state["baseline"] = self.baseline.apply(state["baseline"], observation)
        now = observation["captured_at_ms"]
        events = self._close_after_gap(state, observation, now)
        signals = self._signals(state, observation, now)
        for kind in BEHAVIOURS:
            signal, confidence = signals.get(kind, (None, 0.0))
            event = self._advance(state["tracks"].setdefault(kind, {}), kind, signal, confidence, now, observation)
            if event:
                events.append(event)
        state["last_sequence"] = observation["frame_sequence"]
        state["last_ms"] = now
        return state, self._conditions(state), events

    @staticmethod
    def fresh(state: BehaviourState | None) -> BehaviourState:
        """``state`` with every part a session's state has (a new session's, from None). A session's
        baseline or screen may be set by its start record before its first frame."""
        state = state if state is not None else {}
        for key, empty in (("last_sequence", -1), ("tracks", {}), ("mouth", [])):
            state.setdefault(key, empty)
        state.setdefault("patterns", GlancePatterns.fresh())
        state.pop("glances", None)  # the reading rule's state before patterns (streams.vision.patterns)
        state.setdefault("baseline", GazeBaseline.restart(None))
        return state

    @staticmethod
    def rebaselined(state: BehaviourState | None, screen: dict[str, Any] | None) -> BehaviourState:
        """``state`` with its gaze baseline learnt again from the next frames (on ``screen`` when given):
        a ``rebaseline`` control record, or a start record that names the session's screen."""
        state = BehaviourAnalyser.fresh(state)
        state["baseline"] = GazeBaseline.restart(state["baseline"], screen)
        return state

    def _close_after_gap(self, state: BehaviourState, obs: Observation, now: int) -> list[Event]:
        last = state.get("last_ms")
        if last is None or now - last <= self.settings.max_frame_gap_s * 1000:
            return []
        # The gap itself: a closed interval of capture quality, from the last frame to this one.
        gap = {"since": last, "frames": 0, "confidence": 1.0}
        events = [self._event("frame_gap", gap, obs, ended_at=now)]
        for kind, track in state["tracks"].items():
            if track.get("active"):
                events.append(self._event(kind, track, obs, ended_at=track.get("clear_since") or last))
            track.update(since=None, frames=0, active=False, clear_since=None)
        self.patterns.reset(state["patterns"])
        state["mouth"].clear()
        return events

    def annotate(self, state: BehaviourState | None, observation: Observation) -> BehaviourState:
        """``update``, writing the conditions and events into ``observation``; returns the new state."""
        started = time.perf_counter()
        state, conditions, events = self.update(state, observation)
        observation["conditions"] = conditions
        observation["events"] = events
        timings = observation["timings_ms"]
        timings["behaviour"] = round((time.perf_counter() - started) * 1000.0, 3)
        timings["total"] = round(timings.get("total", 0.0) + timings["behaviour"], 3)
        return state

    # -- per-frame signals -------------------------------------------------------------------------

    def _quality(self, state: BehaviourState, obs: Observation) -> dict[str, bool]:
        """This frame's capture-quality problems (each True or False)."""
        faces, vision = obs["faces"], self.vision
        readable = [face for face in faces if not face["too_small"]]
        contrast, sharpness, digest = obs.get("contrast"), obs.get("sharpness"), obs.get("frame_digest", "")
        previous, state["last_digest"] = state.get("last_digest", ""), digest
        dark = obs["too_dark"] or (contrast is not None and contrast < vision.low_contrast)
        blurred = sharpness is not None and sharpness < vision.blurred_sharpness
        return {
            "low_light": dark,
            "blurred": blurred,
            "face_too_small": bool(faces) and not readable,
            # A face found where the face mesh reads nothing (a hand, a mask, half out of frame).
            "occluded": bool(readable) and obs["head_pose"] is None and not (dark or blurred),
            "frozen_frame": bool(digest) and digest == previous,
        }

    def _signals(self, state: BehaviourState, obs: Observation, now: int) -> dict[str, tuple[bool | None, float]]:
        faces = obs["faces"]
        quality = self._quality(state, obs)
        signals: dict[str, tuple[bool | None, float]] = {kind: (held, 1.0) for kind, held in quality.items()}
        # What a poor picture hides is unknown, not false: no evidence either way while it lasts.
        stale = quality["frozen_frame"]  # the same picture again says nothing new
        cannot_see = obs["image_too_small"] or quality["low_light"] or quality["blurred"] or stale
        signals["low_visibility"] = (cannot_see or any(quality.values()), 1.0)
        if stale:
            return signals
        if faces:
            signals["face_absent"] = (False, 1.0)
        elif not cannot_see:
            signals["face_absent"] = (True, 1.0)
        # In the dark, blurred, or in a thumbnail of an image, "no face" means "cannot see", never
        # "absent": the signal stays unknown.
        second = faces[1]["confidence"] if len(faces) > 1 else 1.0
        signals["multiple_faces"] = (len(faces) > 1, second)

        objects = obs["objects"]
        if objects is not None and not cannot_see:
            floor = self.settings.extra_person_min_confidence
            people = sorted((o["confidence"] for o in objects if o["label"] == "person"), reverse=True)
            people = people[:1] + [score for score in people[1:] if score >= floor]
            signals["extra_person"] = (len(people) > 1, people[1] if len(people) > 1 else 1.0)
            for label, kind in _OBJECT_BEHAVIOURS.items():
                scores = [o["confidence"] for o in objects if o["label"] == label]
                signals[kind] = (bool(scores), max(scores, default=1.0))

        gaze = obs["gaze"]
        if gaze is not None and not (cannot_see or quality["occluded"]):
            away = gaze["direction"] != "center"
            signals["looking_away"] = (away, gaze["off_screen"] if away else 1.0 - gaze["off_screen"])
            fixation, reading = self.patterns.update(state["patterns"], away, gaze["yaw_deg"], gaze["pitch_deg"], now)
            for kind, seen in (("fixation_pattern", fixation), ("reading_pattern", reading)):
                signals[kind] = (seen.holds, 1.0)
                if seen.holds:  # the evidence that made it, for the event that starts it
                    state["tracks"].setdefault(kind, {})["details"] = seen.details
            signals["talking"] = (self._talking(state, gaze["mouth_open_ratio"], now), 1.0)
        return signals

    def _talking(self, state: BehaviourState, mouth_ratio: float, now: int) -> bool:
        """The mouth opening and closing repeatedly within the window: speech, not a yawn."""
        s = self.settings
        openings: list[int] = state["mouth"]
        is_open = mouth_ratio >= s.mouth_open_ratio
        if is_open and not state.get("mouth_open", False):
            openings.append(now)
        state["mouth_open"] = is_open
        horizon = now - s.talking_window_s * 1000
        openings[:] = [t for t in openings if t >= horizon]
        return len(openings) >= s.talking_openings

    # -- start / end with minimum duration and hysteresis ------------------------------------------

    def _advance(
        self,
        track: dict[str, Any],
        kind: str,
        signal: bool | None,
        confidence: float,
        now: int,
        obs: Observation,
    ) -> Event | None:
        if signal is None:
            return None
        rule = self.rules[kind]
        if signal:
            track["clear_since"] = None
            if track.get("since") is None:
                track.update(since=now, frames=0, confidence=0.0, active=False)
            track["frames"] += 1
            track["confidence"] = max(track["confidence"], round(float(confidence), 4))
            long_enough = now - track["since"] >= rule.min_s * 1000 and track["frames"] >= rule.min_frames
            if not track["active"] and long_enough:
                track["active"] = True
                return self._event(kind, track, obs, ended_at=None)
            return None
        if not track.get("active"):
            track.update(since=None, frames=0, active=False, clear_since=None)
            return None
        if track.get("clear_since") is None:
            track["clear_since"] = now
        if now - track["clear_since"] >= self.settings.release_after_s * 1000:
            event = self._event(kind, track, obs, ended_at=track["clear_since"])
            track.update(since=None, frames=0, active=False, clear_since=None)
            return event
        return None

    @staticmethod
    def _event(kind: str, track: dict[str, Any], obs: Observation, ended_at: int | None) -> Event:
        session_id = obs["session_id"]
        details = {"phase": "start" if ended_at is None else "end", "frames": str(track["frames"])}
        details.update(track.get("details") or {})
        if ended_at is not None:
            details["duration_ms"] = str(ended_at - track["since"])
        return {
            "event_id": f"{session_id}:{kind}:{track['since']}",
            "session_id": session_id,
            "frame_sequence": obs["frame_sequence"],
            "type": kind,
            "confidence": track["confidence"],
            "started_at_ms": track["since"],
            "ended_at_ms": ended_at,
            "details": details,
        }

    @staticmethod
    def _conditions(state: BehaviourState) -> list[Condition]:
        return [
            {
                "type": kind,
                "confidence": track["confidence"],
                "since_ms": track["since"],
                "until_ms": track.get("clear_since"),
            }
            for kind, track in state["tracks"].items()
            if track.get("active")
        ]
