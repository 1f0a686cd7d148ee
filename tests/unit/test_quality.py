"""Capture quality is its own signal, never evidence of cheating: low light, blur, a face too small or
occluded, a frozen camera and missing frames become intervals that add nothing to the risk, hide what
they make unknowable, and count as unassessable time; a session mostly unassessable ends inconclusive
with the quality reasons, never flagged."""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np
import pytest

from producers.images import encode_jpeg
from schemas.records import Event, FinalReport, Observation, Result, SessionControl, new_frame
from streams.risk import RiskEngine, final_report
from streams.samples.scenes import scene_image
from streams.samples.session import jitter
from streams.settings import VisionSettings
from streams.vision import BehaviourAnalyser, VisionPipeline
from streams.vision.quality import frame_quality
from tests.helpers.frames import observation_record

START = 1_800_000_000_000
INTERVAL_MS = 200


def webcam(image: np.ndarray, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [jitter(image, rng) for _ in range(count)]


def test_frame_measures_tell_dark_flat_blurred_and_repeated_frames():
    settings = VisionSettings()
    face = scene_image("one_face")
    sharp, blurred = frame_quality(face), frame_quality(cv2.GaussianBlur(face, (0, 0), 8))
    assert sharp.sharpness > 20 * settings.blurred_sharpness and blurred.sharpness < settings.blurred_sharpness
    dark = frame_quality((face * 0.2).astype(np.uint8))
    assert dark.brightness < settings.too_dark_brightness < sharp.brightness
    flat = frame_quality(np.full_like(face, 128))
    assert flat.contrast < settings.low_contrast < sharp.contrast
    first, second = webcam(face, 2)
    assert frame_quality(first).digest != frame_quality(second).digest  # sensor noise
    assert frame_quality(first).digest == frame_quality(first.copy()).digest  # a frozen feed


def observations(kinds: list[tuple[str, int]]) -> list[Observation]:
    """Synthetic observations: ``clear`` (one readable face), ``dark``, ``blurred``, ``frozen`` (the same
    picture again), ``absent`` (nobody), ``occluded`` (a face the mesh cannot read), ``phone``."""
    out, seq = [], 0
    for kind, count in kinds:
        for _ in range(count):
            changes: dict = {}
            if kind == "dark":
                changes = {"too_dark": True, "brightness": 10.0, "head_pose": None, "gaze": None}
            elif kind == "blurred":
                changes = {"sharpness": 8.0, "faces": []}
            elif kind == "frozen":
                changes = {"frame_digest": "f" * 16, "faces": []}
            elif kind == "absent":
                changes = {"faces": [], "head_pose": None, "gaze": None}
            elif kind == "occluded":
                changes = {"head_pose": None, "gaze": None}
            elif kind == "phone":
                phone = {"label": "cell phone", "confidence": 0.9, "x": 0.1, "y": 0.1, "width": 0.1, "height": 0.1}
                changes = {"objects": [phone], "objects_status": "checked"}
            out.append(observation_record("q", seq, START + seq * INTERVAL_MS, **changes))
            seq += 1
    return out


def analyse(kinds: list[tuple[str, int]]) -> tuple[list[Observation], list[Event]]:
    analyser, state, events = BehaviourAnalyser(), None, []
    annotated = []
    for observation in observations(kinds):
        state = analyser.annotate(state, observation)
        annotated.append(observation)
        events.extend(observation["events"])
    return annotated, events


def started(events: list[Event]) -> list[str]:
    return [e["type"] for e in events if e["details"]["phase"] == "start"]


def test_quality_intervals_start_and_end_and_hide_what_they_make_unknowable():
    annotated, events = analyse([("clear", 10), ("blurred", 15), ("clear", 10), ("frozen", 20), ("clear", 10)])
    assert started(events) == ["low_visibility", "blurred", "low_visibility", "frozen_frame"]
    assert "low_visibility" in {c["type"] for c in annotated[20]["conditions"]}
    # No face on a blurred or frozen frame is "cannot see", never the candidate gone.
    assert "face_absent" not in started(events)
    ended = {e["type"]: (e["started_at_ms"], e["ended_at_ms"]) for e in events if e["details"]["phase"] == "end"}
    assert ended["blurred"] == (START + 10 * INTERVAL_MS, START + 25 * INTERVAL_MS)
    # A frozen camera counts from its first repeat, once it has lasted 2 s.
    assert ended["frozen_frame"][0] == START + 36 * INTERVAL_MS


def test_an_occluded_face_hides_the_gaze_and_a_gap_is_a_closed_interval():
    annotated, events = analyse([("clear", 10), ("occluded", 10), ("clear", 2)])
    assert "occluded" in started(events)
    assert {"occluded", "low_visibility"} <= {c["type"] for c in annotated[18]["conditions"]}
    late = observation_record("q", 30, START + 60_000)  # a minute without frames
    analyser, state = BehaviourAnalyser(), None
    for observation in [*observations([("clear", 5)]), late]:
        state = analyser.annotate(state, observation)
    gap = [e for e in late["events"] if e["type"] == "frame_gap"]
    assert [(g["started_at_ms"], g["ended_at_ms"]) for g in gap] == [(START + 4 * INTERVAL_MS, START + 60_000)]


def score(kinds: list[tuple[str, int]], policy: str = "default") -> tuple[list[Result], FinalReport]:
    engine, analyser = RiskEngine(), BehaviourAnalyser()
    start = cast(
        SessionControl, {"session_id": "q", "candidate_id": "c", "policy": policy, "metadata": {}, "at_ms": START}
    )
    state, behaviour, results = engine.start(None, start), None, []
    for observation in observations(kinds):
        behaviour = analyser.annotate(behaviour, observation)
        state, result = engine.apply(state, observation, now_ms=observation["captured_at_ms"] + 10)
        results.append(result)
    return results, final_report(engine, state, "ended")


def test_quality_never_adds_to_the_risk_and_counts_as_unassessable_time():
    results, report = score([("clear", 25), ("dark", 50), ("clear", 50)])
    assert max(r["risk_score"] for r in results) == 0.0
    assert results[24]["unassessable_s"] == 0.0
    # 10 s dark: low light counts once it has held 1 s (its minimum) and until it has been gone 1 s
    # (the release): 10 s unassessable.
    assert report["quality_s"]["low_light"] == pytest.approx(10.0, abs=0.3)
    assert report["unassessable_s"] == pytest.approx(10.0, abs=0.3)
    assert report["unassessable_share"] == pytest.approx(10.0 / 24.8, abs=0.02)
    assert report["verdict"] == "clear"


def test_a_session_mostly_unassessable_ends_inconclusive_with_the_quality_reasons_never_flagged():
    # A phone in view for 6 s (flagged on its own), then 20 s that cannot be judged.
    _, flagged_report = score([("clear", 20), ("phone", 30)])
    assert flagged_report["verdict"] == "flagged"
    results, report = score([("clear", 20), ("phone", 30), ("dark", 60), ("blurred", 60)])
    assert report["unassessable_share"] > 0.5
    assert report["verdict"] == "inconclusive" and report["cheating"] is False
    assert {r["event_type"] for r in report["reasons"]} == {"low_light", "blurred"}
    assert results[-1]["verdict"] == "inconclusive" and results[-1]["unassessable_share"] > 0.5
    # The evidence is still there, for a reviewer: the peak risk and the phone's interval.
    assert report["peak_risk_score"] >= 60 and report["evidence"][0]["type"] == "phone_visible"


def test_real_frames_dark_and_blurred_stretches_become_quality_intervals():
    pipeline, analyser, state = VisionPipeline(VisionSettings(yolo_weights="")), BehaviourAnalyser(), None
    face = scene_image("one_face")
    stretches = [(face, 10), ((face * 0.15).astype(np.uint8), 10), (cv2.GaussianBlur(face, (0, 0), 8), 10)]
    kinds: list[str] = []
    seq = 0
    for image, count in stretches:
        for frame_image in webcam(image, count):
            frame = new_frame("real", seq, encode_jpeg(frame_image, 90), width=640, height=480)
            frame["captured_at_ms"] = START + seq * INTERVAL_MS
            observation = pipeline.observe(frame)
            state = analyser.annotate(state, observation)
            kinds.extend(e["type"] for e in observation["events"] if e["details"]["phase"] == "start")
            seq += 1
    assert "low_light" in kinds and "blurred" in kinds and "face_absent" not in kinds
