import itertools

import pytest

from streams.risk import RiskEngine, RiskPolicy, SessionState

START = 1_700_000_000_000


def observation(sequence: int, faces: int, interval_ms: int = 200, session: str = "s1") -> dict:
    captured = START + sequence * interval_ms
    # The behaviour analyser's debounce is tested on its own: here every frame's condition holds.
    kind = {0: "face_absent", 1: None}.get(faces, "multiple_faces")
    conditions = [{"type": kind, "confidence": 1.0, "since_ms": captured}] if kind else []
    face = {"confidence": 0.9, "x": 0.4, "y": 0.2, "width": 0.2, "height": 0.2}
    return {
        "session_id": session,
        "candidate_id": "c1",
        "frame_sequence": sequence,
        "captured_at_ms": captured,
        "observed_at_ms": captured + 5,
        "brightness": 120.0,
        "too_dark": False,
        "faces": [face | {"too_small": False}] * faces,
        "head_pose": None,
        "gaze": None,
        "objects": None,
        "objects_status": "unavailable",
        "timings_ms": {"total": 5.0},
        "conditions": conditions,
        "events": [],
    }


def run(engine: RiskEngine, pattern: list[int], interval_ms: int = 200) -> tuple[SessionState, list[dict]]:
    state, results = None, []
    for sequence, faces in enumerate(pattern):
        state, result = engine.apply(state, observation(sequence, faces, interval_ms))
        results.append(result)
    return state, results


def test_score_rises_while_the_face_is_absent_and_decays_after():
    _, results = run(RiskEngine(), [1] * 10 + [0] * 40 + [1] * 50)
    scores = [r["risk_score"] for r in results]
    assert all(s == 0 for s in scores[:10])
    absent = scores[10:50]
    assert all(b > a for a, b in itertools.pairwise(absent))
    after = scores[50:]
    assert all(b < a for a, b in itertools.pairwise(after))
    assert results[49]["reasons"][0]["event_type"] == "face_absent"


def test_eight_seconds_absent_needs_review_and_a_clean_start_is_clear():
    _, results = run(RiskEngine(), [1] * 10 + [0] * 40)
    assert results[9]["verdict"] == "clear" and not results[9]["cheating"]
    assert results[-1]["verdict"] in {"review", "flagged"}
    assert results[-1]["face_count"] == 0


def test_a_second_face_weighs_more_than_an_empty_chair():
    _, absent = run(RiskEngine(), [1] + [0] * 15)
    _, two = run(RiskEngine(), [1] + [2] * 15)
    assert two[-1]["risk_score"] > absent[-1]["risk_score"]
    assert two[-1]["reasons"][0]["event_type"] == "multiple_faces"


def test_long_absence_is_flagged_as_cheating():
    _, results = run(RiskEngine(), [1] + [0] * 100)  # 20 s
    assert results[-1]["verdict"] == "flagged"
    assert results[-1]["cheating"]


def test_score_does_not_depend_on_the_frame_rate():
    _, five_fps = run(RiskEngine(), [1] * 5 + [0] * 50, interval_ms=200)
    _, ten_fps = run(RiskEngine(), [1] * 10 + [0] * 100, interval_ms=100)
    assert five_fps[-1]["risk_score"] == ten_fps[-1]["risk_score"]


def test_redelivered_frames_are_not_counted_twice():
    engine = RiskEngine()
    state, results = run(engine, [1] * 5 + [0] * 20)
    before = state.to_dict()
    for sequence in range(5, 25):  # the same observations again, as after a crash
        state, again = engine.apply(state, observation(sequence, 0))
    assert state.to_dict() == before | {"last_verdict": state.last_verdict}
    assert again["risk_score"] == results[-1]["risk_score"]


def test_a_stalled_stream_is_not_evidence():
    engine = RiskEngine(RiskPolicy(max_frame_gap_s=2.0))
    state, _ = engine.apply(None, observation(0, 0))
    gap = observation(1, 0)
    gap["captured_at_ms"] = START + 600_000  # ten minutes later
    state, result = engine.apply(state, gap)
    _, two_seconds = run(RiskEngine(), [0, 0], interval_ms=2000)
    assert result["risk_score"] == two_seconds[-1]["risk_score"]


def test_state_survives_a_dict_round_trip():
    state, _ = run(RiskEngine(), [1, 0, 0, 2])
    assert SessionState.from_dict(state.to_dict()) == state


def test_attention_falls_without_a_face_and_recovers():
    _, results = run(RiskEngine(), [1] * 5 + [0] * 50 + [1] * 100)
    assert results[4]["attention"] == 100.0
    # Attention has a 10 s half-life: 10 s without a face halves it, 20 s back recover 3/4 of the loss.
    assert results[54]["attention"] == pytest.approx(50.0, abs=0.5)
    assert results[-1]["attention"] == pytest.approx(87.5, abs=0.5)


def test_low_visibility_is_inconclusive_never_a_flag():
    engine = RiskEngine()
    state = None
    for sequence in range(60):
        dark = observation(sequence, 0)
        dark["too_dark"] = True
        dark["conditions"] = [{"type": "low_visibility", "confidence": 1.0, "since_ms": START}]
        state, result = engine.apply(state, dark)
    assert result["verdict"] == "inconclusive"
    assert not result["cheating"]
    assert result["risk_score"] == 0.0


def test_result_reports_conditions_and_objects_status():
    _, results = run(RiskEngine(), [1, 0])
    assert results[-1]["conditions"] == ["face_absent"]
    assert results[-1]["objects_status"] == "unavailable"
    assert results[-1]["objects"] is None
