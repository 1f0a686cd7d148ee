"""Each candidate's own neutral gaze: a camera beside the screen is not looking away, turning away from
the screen still is; the baseline is learnt from clear frames only, resists glances, says when it is
missing, and starts again on request. Synthetic observations for the rules, posed renders of real
photos for the whole vision stage."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pytest

from producers.images import encode_jpeg, fit
from schemas.records import Event, Observation, new_frame
from streams.samples.photos import astronaut, grace_hopper
from streams.samples.posed import PoseRenderer
from streams.samples.session import jitter
from streams.settings import BehaviourSettings
from streams.vision import BehaviourAnalyser, VisionPipeline
from streams.vision.baseline import GazeBaseline
from streams.vision.landmarks import FaceLandmarker
from streams.vision.screen import ScreenGeometry, parse_aspect, screen_from_metadata

FACE = {"confidence": 0.9, "x": 0.4, "y": 0.2, "width": 0.2, "height": 0.25, "too_small": False}
INTERVAL_MS = 200  # 5 frames per second


def observation(seq: int, yaw: float, pitch: float = 8.0, *, eye_yaw: float = 0.0, dark: bool = False) -> dict:
    """A frame of one clear face whose head points ``yaw``/``pitch`` from the camera's axis (a face
    looking into the camera reads a pitch of ~8), the eyes ``eye_yaw`` in the head."""
    camera_pitch = pitch - 8.0  # what the pipeline reports: the typical neutral removed
    return {
        "session_id": "s",
        "frame_sequence": seq,
        "captured_at_ms": seq * INTERVAL_MS,
        "too_dark": dark,
        "image_too_small": False,
        "faces": [FACE],
        "head_pose": {"yaw": yaw, "pitch": pitch, "roll": 0.0},
        "gaze": {
            "direction": "center",
            "off_screen": 0.0,
            "yaw_deg": yaw + eye_yaw,
            "pitch_deg": camera_pitch,
            "eyes_closed": False,
            "eye_aspect_ratio": 0.3,
            "mouth_open_ratio": 0.0,
            "eye_yaw_deg": eye_yaw,
            "eye_pitch_deg": 0.0,
            "baseline": "none",
        },
        "objects": None,
        "objects_status": "unavailable",
    }


def session(yaws: list[float], analyser: BehaviourAnalyser | None = None, state=None, first: int = 0):
    analyser = analyser or BehaviourAnalyser()
    gazes: list[dict] = []
    events: list[Event] = []
    for seq, yaw in enumerate(yaws, start=first):
        frame = observation(seq, yaw)
        state, _, raised = analyser.update(state, cast(Observation, frame))
        gazes.append(dict(frame["gaze"]))
        events.extend(e for e in raised if e["type"] == "looking_away" and e["ended_at_ms"] is None)
    return state, gazes, events


def seconds(n: float) -> int:
    return int(n * 1000 / INTERVAL_MS)


def test_a_camera_beside_the_screen_is_not_looking_away():
    # The screen 25 degrees to the camera's right, the whole session: past the screen's half-angle
    # (20) from the camera's axis, so without a baseline every frame would look away.
    state, gazes, events = session([25.0] * seconds(120))
    assert events == []
    assert gazes[0]["baseline"] == "collecting" and gazes[-1]["baseline"] == "set"
    assert state["baseline"]["neutral"][0] == pytest.approx(25.0)
    assert gazes[-1]["yaw_deg"] == pytest.approx(0.0) and gazes[-1]["direction"] == "center"


def test_turning_away_from_the_screen_still_counts():
    state, _, events = session([25.0] * seconds(30))
    assert events == []
    # 30 degrees further than the screen (55 from the camera): looking away, after the usual 2 s.
    state, gazes, events = session([55.0] * seconds(5), state=state, first=seconds(30))
    assert gazes[-1]["direction"] == "right" and gazes[-1]["yaw_deg"] == pytest.approx(30.0)
    assert len(events) == 1
    # And to the camera's side of the screen, 30 from it: looking left.
    _, gazes, _ = session([-5.0] * seconds(1), state=state, first=seconds(35))
    assert gazes[-1]["direction"] == "left"


def test_glances_during_the_window_do_not_move_the_baseline():
    yaws = [25.0 if i % 5 else 70.0 for i in range(seconds(25))]  # one frame in five far away
    state, _, _ = session(yaws)
    assert state["baseline"]["neutral"][0] == pytest.approx(25.0)


def test_without_a_clear_face_the_baseline_is_missing_and_gaze_is_judged_conservatively():
    analyser, state = BehaviourAnalyser(), None
    for seq in range(seconds(25)):  # too dark to learn from: no baseline
        frame = observation(seq, 25.0, dark=True)
        state, _, _ = analyser.update(state, cast(Observation, frame))
    assert frame["gaze"]["baseline"] == "missing"
    # Judged from the camera's axis within 1.5 times the limits: 25 is on screen, 35 is not.
    assert frame["gaze"]["direction"] == "center"
    frame = observation(seconds(25), 35.0, dark=True)
    analyser.update(state, cast(Observation, frame))
    assert frame["gaze"]["direction"] == "right"
    # Clear frames later still set it.
    state, gazes, _ = session([25.0] * 12, analyser, state, first=seconds(25) + 1)
    assert gazes[-1]["baseline"] == "set"


def test_a_rebaseline_learns_the_new_camera_position():
    state, _, _ = session([25.0] * seconds(25))
    state["baseline"] = GazeBaseline.restart(state["baseline"])  # what a rebaseline record does
    state, gazes, events = session([-20.0] * seconds(25), state=state, first=seconds(25))
    assert gazes[0]["baseline"] == "collecting" and gazes[-1]["baseline"] == "set"
    assert state["baseline"]["neutral"][0] == pytest.approx(-20.0)
    assert events == []


def test_a_redelivered_frame_is_judged_but_not_learnt_from():
    analyser = BehaviourAnalyser()
    state, _, _ = session([25.0] * 5, analyser)
    samples = len(state["baseline"]["samples"])
    again = observation(2, 60.0)
    analyser.update(state, cast(Observation, again))
    assert len(state["baseline"]["samples"]) == samples
    assert again["gaze"]["baseline"] == "collecting"


def test_the_screen_sets_the_on_screen_region():
    assert ScreenGeometry().half_angles_deg() == pytest.approx((16.0, 9.2), abs=0.1)
    assert parse_aspect("16:10") == (16.0, 10.0)
    with pytest.raises(ValueError, match="W:H"):
        parse_aspect("wide")
    assert screen_from_metadata({"room": "7"}) is None
    screen = screen_from_metadata({"screen_diagonal_in": "27", "screen_distance_cm": "70"})
    assert screen == {"diagonal_in": 27.0, "distance_cm": 70.0, "aspect": [16.0, 9.0]}
    with pytest.raises(ValueError, match="screen_distance_cm 5 is outside"):
        screen_from_metadata({"screen_distance_cm": "5"})
    # A big screen near the eyes: 25 degrees off its centre is still on it.
    analyser = BehaviourAnalyser(BehaviourSettings())
    state = analyser.fresh(None)
    state["baseline"] = GazeBaseline.restart(None, screen_from_metadata({"screen_diagonal_in": "32"}))
    state, _, _ = session([0.0] * seconds(21), analyser, state)
    frame = observation(seconds(21), 25.0)
    analyser.update(state, cast(Observation, frame))
    assert frame["gaze"]["direction"] == "center"


@pytest.fixture(scope="module")
def renderers() -> list[PoseRenderer]:
    landmarker = FaceLandmarker()
    return [
        PoseRenderer(image, cast(np.ndarray, landmarker.landmarks(image))) for image in (astronaut(), grace_hopper())
    ]


def posed_session(renderer: PoseRenderer, poses: list[tuple[float, float, int]]) -> tuple[list[Any], list[Event]]:
    """Frames of the face at each (yaw, pitch) for n frames, through the vision stage and the analyser."""
    pipeline, analyser, state = VisionPipeline(), BehaviourAnalyser(), None
    # Each frame's Gaze, or None where no face was read: the tests check for None themselves.
    gazes: list[Any] = []
    events: list[Event] = []
    seq = 0
    for yaw, pitch, count in poses:
        image = fit(renderer.render(yaw, pitch), 640, 480)
        height, width = image.shape[:2]
        # A webcam's frames differ by noise; identical ones would be a frozen camera.
        variants = [encode_jpeg(jitter(image, np.random.default_rng(v)), 90) for v in range(4)]
        for _ in range(count):
            frame = new_frame("posed", seq, variants[seq % 4], width=width, height=height)
            frame["captured_at_ms"] = seq * INTERVAL_MS
            obs = pipeline.observe(frame)
            state, _, raised = analyser.update(state, obs)
            gazes.append(obs["gaze"])
            events.extend(e for e in raised if e["type"] == "looking_away" and e["ended_at_ms"] is None)
            seq += 1
    return gazes, events


@pytest.mark.parametrize("face", [0, 1], ids=["astronaut", "grace_hopper"])
def test_posed_faces_off_axis_then_turning_away(renderers, face):
    # Real faces rendered at a known pose: the camera 25 degrees to one side of the screen, then the
    # candidate turning 50 degrees the other way (to a notes sheet past the camera, say).
    gazes, events = posed_session(renderers[face], [(25.0, 0.0, seconds(22)), (25.0, 0.0, seconds(5))])
    assert all(g is not None for g in gazes)
    assert gazes[-1]["baseline"] == "set" and events == []
    gazes, events = posed_session(renderers[face], [(25.0, 0.0, seconds(21)), (-25.0, 0.0, seconds(4))])
    assert gazes[-1]["direction"] == "left" and len(events) == 1


@pytest.mark.parametrize("face", [0, 1], ids=["astronaut", "grace_hopper"])
def test_posed_faces_looking_slightly_up_are_not_flagged_once_baselined(renderers, face):
    # A camera below the eyes: the face tilted up 12 degrees the whole session.
    gazes, events = posed_session(renderers[face], [(0.0, -12.0, seconds(26))])
    assert events == [] and gazes[-1]["baseline"] == "set"
    assert gazes[-1]["direction"] == "center" and abs(gazes[-1]["pitch_deg"]) < 2.0
