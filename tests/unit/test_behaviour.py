"""The behaviour analyser: minimum durations, hysteresis, start/end events, idempotent redelivery."""

from __future__ import annotations

import random
from typing import cast

from schemas.records import Observation
from streams.settings import BehaviourSettings
from streams.vision import BehaviourAnalyser

FACE = {"confidence": 0.9, "x": 0.4, "y": 0.2, "width": 0.2, "height": 0.25, "too_small": False}
AWAY = {"center": (0.0, 0.0), "left": (-45.0, 0.0), "right": (45.0, 0.0), "up": (0.0, -35.0), "down": (0.0, 35.0)}


def obs(
    seq: int,
    faces: int = 1,
    *,
    dark: bool = False,
    tiny: bool = False,
    direction: str = "center",
    mouth: float = 0.0,
    objects: list[dict] | None = None,
    status: str = "unavailable",
    interval_ms: int = 200,
) -> dict:
    gaze, head = None, None
    if faces:
        # A direction as the head's angles, far past the screen's edge (even the wider limits that hold
        # before a baseline is set): the analyser judges the direction from the angles.
        yaw, pitch = AWAY[direction]
        head = {"yaw": yaw, "pitch": pitch, "roll": 0.0}
        gaze = {
            "direction": direction,
            "off_screen": 0.0 if direction == "center" else 0.7,
            "yaw_deg": yaw,
            "pitch_deg": pitch,
            "eyes_closed": False,
            "eye_aspect_ratio": 0.3,
            "mouth_open_ratio": mouth,
            "eye_yaw_deg": 0.0,
            "eye_pitch_deg": 0.0,
            "baseline": "none",
        }
    return {
        "session_id": "s",
        "frame_sequence": seq,
        "captured_at_ms": seq * interval_ms,
        "too_dark": dark,
        "image_too_small": tiny,
        "faces": [FACE] * faces,
        "head_pose": head,
        "gaze": gaze,
        "objects": objects,
        "objects_status": status,
    }


def run(frames: list[dict], settings: BehaviourSettings | None = None):
    analyser = BehaviourAnalyser(settings)
    state, timeline, events = None, [], []
    for frame in frames:
        state, conditions, raised = analyser.update(state, cast(Observation, frame))
        timeline.append({c["type"] for c in conditions})
        events.extend(raised)
    return state, timeline, events


def test_face_absent_counts_after_two_seconds_and_ends_after_the_release():
    frames = [obs(i) for i in range(5)] + [obs(i, faces=0) for i in range(5, 25)] + [obs(i) for i in range(25, 35)]
    _, timeline, events = run(frames)
    assert "face_absent" not in timeline[13]  # 1.8 s without a face: not yet
    assert "face_absent" in timeline[15]  # 2.0 s
    assert "face_absent" in timeline[28]  # face back for 0.6 s: still within the release time
    assert "face_absent" not in timeline[31]
    start, end = [e for e in events if e["type"] == "face_absent"]
    assert start["event_id"] == end["event_id"] == "s:face_absent:1000"
    assert start["started_at_ms"] == 1000 and start["ended_at_ms"] is None
    assert end["ended_at_ms"] == 5000 and end["details"]["duration_ms"] == "4000"


def test_a_flickering_detector_does_not_flap():
    pattern = [0] * 15 + [1] + [0] * 5 + [1] + [0] * 5  # two single-frame detections inside the absence
    _, timeline, events = run([obs(i, faces=f) for i, f in enumerate(pattern)])
    assert [e["type"] for e in events] == ["face_absent"]  # one start, no end
    assert all("face_absent" in t for t in timeline[10:])


def test_a_glance_is_not_looking_away():
    glance = [obs(i, direction="left" if 5 <= i < 10 else "center") for i in range(20)]  # 1 s
    _, timeline, _ = run(glance)
    assert not any("looking_away" in t for t in timeline)
    stare = [obs(i, direction="left" if 5 <= i < 25 else "center") for i in range(30)]  # 4 s
    _, timeline, _ = run(stare)
    assert "looking_away" in timeline[24]


def test_darkness_is_low_visibility_never_absence():
    _, timeline, events = run([obs(i, faces=0, dark=True) for i in range(30)])
    assert not any("face_absent" in t for t in timeline)
    assert {"low_visibility", "low_light"} == timeline[-1]  # the umbrella, and the reason
    assert [e["type"] for e in events] == ["low_visibility", "low_light"]


def test_an_image_too_small_to_show_a_face_is_low_visibility_never_absence():
    _, timeline, events = run([obs(i, faces=0, tiny=True) for i in range(30)])
    assert not any("face_absent" in t for t in timeline)
    assert "low_visibility" in timeline[-1]
    assert [e["type"] for e in events] == ["low_visibility"]


def looking(seq: int, yaw: float, pitch: float = 0.0) -> dict:
    """A frame whose gaze points ``yaw``/``pitch`` degrees from the screen's centre."""
    frame = obs(seq)
    frame["head_pose"] = {"yaw": yaw, "pitch": pitch, "roll": 0.0}
    frame["gaze"].update(yaw_deg=yaw, pitch_deg=pitch)
    return frame


def glances(spots: list[tuple[float, float]], on_screen: int = 4, away: int = 3) -> list[dict]:
    """Short glances (``away`` frames each) to each spot, ``on_screen`` frames apart."""
    frames: list[dict] = []
    for yaw, pitch in spots:
        frames += [looking(len(frames), 0.0) for _ in range(on_screen)]
        frames += [looking(len(frames), yaw, pitch) for _ in range(away)]
    return frames


def test_glances_again_and_again_to_one_spot_are_a_fixation_with_their_evidence():
    # A phone under the screen, to the left: five short glances to it in 7 s.
    _, timeline, events = run(glances([(-30.0, 40.0), (-28.0, 42.0), (-31.0, 38.0), (-29.0, 41.0), (-30.0, 40.0)]))
    assert "fixation_pattern" in timeline[-1]
    assert not any("looking_away" in t for t in timeline)  # each glance is too short on its own
    (start,) = [e for e in events if e["type"] == "fixation_pattern"]
    assert start["details"]["glances"] == "4" and start["details"]["direction"] == "down-left"
    assert start["details"]["glance_ms"].split(",")[:3] == ["600", "600", "600"]


def test_glances_scattered_at_random_are_not_a_pattern():
    spots = [(-30.0, 0.0), (30.0, 0.0), (0.0, -30.0), (25.0, 35.0), (-30.0, 40.0), (35.0, -20.0)]
    _, timeline, _ = run(glances(spots))
    assert not any("fixation_pattern" in t for t in timeline)


def test_horizontal_sweeps_are_reading_a_steady_look_is_not():
    # Looking down at notes, the eyes drifting across each line (2 degrees a frame) and jumping back.
    line = [-8.0, -6.0, -4.0, -2.0, 0.0, 2.0, 4.0, 6.0, 8.0]
    yaws = line * 5
    _, timeline, events = run([looking(i, yaw, 35.0) for i, yaw in enumerate(yaws)])
    assert "reading_pattern" in timeline[-1]
    (start,) = [e for e in events if e["type"] == "reading_pattern"]
    # 16 degrees a line; a median of 3 frames (one wild frame is not a move) trims a frame off each end.
    assert start["details"]["sweeps"] == "3" and start["details"]["sweep_deg"] == "12.0"
    _, timeline, _ = run([looking(i, (-1.0) ** i, 35.0) for i in range(45)])  # the gaze's noise
    assert not any("reading_pattern" in t for t in timeline)
    # Noisier still (a face turned far from the camera reads with a sigma of ~6 degrees): no sweeps.
    rng = random.Random(4)
    _, timeline, _ = run([looking(i, rng.gauss(0.0, 6.0), 35.0) for i in range(300)])
    assert not any("reading_pattern" in t for t in timeline)


def test_a_mouth_opening_and_closing_is_talking_a_smile_is_not():
    talking = [obs(i, mouth=0.3 if i % 3 == 0 else 0.01) for i in range(15)]
    _, timeline, _ = run(talking)
    assert "talking" in timeline[-1]
    smiling = [obs(i, mouth=0.3) for i in range(15)]
    _, timeline, _ = run(smiling)
    assert "talking" not in timeline[-1]


def test_a_phone_needs_two_checked_frames_and_unchecked_frames_change_nothing():
    phone = [{"label": "cell phone", "confidence": 0.8, "x": 0.1, "y": 0.1, "width": 0.1, "height": 0.2}]
    frames = []
    for i in range(12):
        if i % 3 == 0:
            frames.append(obs(i, objects=phone if i < 9 else [], status="checked"))
        else:
            frames.append(obs(i, status="skipped"))
    _, timeline, events = run(frames)
    assert "phone_visible" not in timeline[0]
    assert "phone_visible" in timeline[3]  # second checked frame
    assert "phone_visible" in timeline[5]  # skipped frames keep it
    starts = [e for e in events if e["type"] == "phone_visible"]
    assert starts[0]["confidence"] == 0.8


def test_two_people_by_yolo_is_an_extra_person():
    person = {"label": "person", "confidence": 0.8, "x": 0.1, "y": 0.1, "width": 0.3, "height": 0.8}
    _, timeline, _ = run([obs(i, objects=[person, person], status="checked") for i in range(4)])
    assert "extra_person" in timeline[2]


def test_redelivered_frames_raise_nothing_new():
    frames = [obs(i, faces=0) for i in range(20)]
    analyser = BehaviourAnalyser()
    state = None
    for frame in frames:
        state, _, _ = analyser.update(state, cast(Observation, frame))
    before = repr(state)
    for frame in frames[-5:]:
        state, conditions, events = analyser.update(state, cast(Observation, frame))
        assert events == []
        assert {c["type"] for c in conditions} == {"face_absent"}
    assert repr(state) == before


def test_state_is_json_safe():
    import json

    state, _, _ = run([obs(i, faces=i % 2, direction="left") for i in range(20)])
    assert json.loads(json.dumps(state)) == state


def test_a_weak_second_person_box_is_not_an_extra_person():
    # grace_hopper.jpg: the INT8 model adds a partial "person" at 0.45 to a portrait of one person.
    one = {"label": "person", "confidence": 0.93, "x": 0.1, "y": 0.1, "width": 0.6, "height": 0.9}
    part = dict(one, confidence=0.45, width=0.3)
    _, timeline, _ = run([obs(i, objects=[one, part], status="checked") for i in range(6)])
    assert not any("extra_person" in t for t in timeline)


def test_a_gap_in_the_stream_ends_every_behaviour_at_the_last_frame():
    frames = [obs(i, faces=0) for i in range(20)]  # 4 s absent
    late = obs(20, faces=0)
    late["captured_at_ms"] = 19 * 200 + 60_000  # a minute without frames
    analyser = BehaviourAnalyser()
    state = None
    for frame in frames:
        state, conditions, _ = analyser.update(state, cast(Observation, frame))
    assert {c["type"] for c in conditions} == {"face_absent"}
    state, conditions, events = analyser.update(state, cast(Observation, late))
    assert [(e["type"], e["details"]["phase"], e["started_at_ms"], e["ended_at_ms"]) for e in events] == [
        ("frame_gap", "end", 3800, 63800),  # the gap itself, a closed capture-quality interval
        ("face_absent", "end", 0, 3800),
    ]
    assert conditions == []  # a new absence must last its 2 s again
