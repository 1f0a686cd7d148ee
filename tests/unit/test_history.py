"""A session's history for the views (streams.risk.history): a bounded timeline over the whole session that
keeps spikes, its behaviour intervals after they leave the evidence book, its last Results."""

from __future__ import annotations

import copy
import random
from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st

from schemas.records import Observation, Result
from streams.risk import PolicyBook, RiskEngine, final_report
from streams.risk.history import (
    BEHAVIOURS_KEPT,
    RECENT_RESULTS,
    TIMELINE_POINTS,
    new_timeline,
    note_behaviours,
    note_result,
)
from streams.risk.state import ended_session
from tests.unit.test_engine import START, timeline


def _result(at_ms: int, risk: float, sequence: int = 0) -> Result:
    result = {
        "frame_sequence": sequence,
        "captured_at_ms": at_ms,
        "risk_score": risk,
        "attention": 100.0 - risk,
        "verdict": "clear",
        "reasons": [],
        "gaze": "center",
        "face_count": 1,
        "objects": [{"label": "cell phone"}, {"label": "book"}, {"label": "cell phone"}],
        "conditions": [],
        "final": False,
    }
    return cast(Result, result)  # a partial Result: the fields the history reads


@given(frames=st.integers(min_value=1, max_value=5000), spike=st.floats(min_value=0, max_value=1))
def test_timeline_is_bounded_spans_the_session_and_keeps_its_peak(frames: int, spike: float) -> None:
    rng = random.Random(frames)
    risks = [rng.uniform(0, 40) for _ in range(frames)]
    peak_at = int(spike * (frames - 1))
    risks[peak_at] = 97.0
    history = new_timeline()
    recent: list[dict[str, Any]] = []
    for i, risk in enumerate(risks):
        recent = note_result(history, recent, _result(START + 1000 * i, risk, i))
    points = history["points"]
    assert 1 <= len(points) <= TIMELINE_POINTS
    assert points[-1][0] >= START + 1000 * (frames - 1) - history["step_ms"]
    assert points[0][0] <= START + history["step_ms"] + 1000
    assert max(p[1] for p in points) == 97.0
    assert [p[0] for p in points] == sorted({p[0] for p in points})
    assert len(recent) == min(frames, RECENT_RESULTS)
    assert recent[-1]["frame_sequence"] == frames - 1


def test_an_hour_at_one_frame_a_second_keeps_an_even_spacing() -> None:
    history = new_timeline()
    recent: list[dict[str, Any]] = []
    for i in range(3600):
        recent = note_result(history, recent, _result(START + 1000 * i, 10.0, i))
    gaps = [b[0] - a[0] for a, b in zip(history["points"], history["points"][1:], strict=False)]
    assert len(history["points"]) > TIMELINE_POINTS // 2
    assert max(gaps[:-1]) <= 2 * min(gaps[:-1])  # the newest point's spacing is still filling


def test_a_late_result_leaves_the_timeline_and_a_summary_names_objects_once() -> None:
    history = new_timeline()
    recent: list[dict[str, Any]] = []
    recent = note_result(history, recent, _result(START + 2000, 5.0, 2))
    recent = note_result(history, recent, _result(START + 1000, 50.0, 1))
    assert history["points"] == [[START + 2000, 5.0, 95.0]]
    assert recent[0]["objects"] == ["book", "cell phone"]


def test_behaviours_keep_the_newest_when_too_many() -> None:
    book = {
        f"e{i}": {"type": "face_absent", "start": i, "end": i + 1, "until": None, "seen_until": i + 1}
        for i in range(BEHAVIOURS_KEPT + 30)
    }
    kept = note_behaviours({}, book)
    assert len(kept) == BEHAVIOURS_KEPT
    assert min(b["start"] for b in kept.values()) == 30


def test_engine_keeps_every_behaviour_of_a_long_session_and_ends_with_them() -> None:
    engine = RiskEngine(PolicyBook())
    # Four absences of 3 s each between stretches of 4 s with a face, at 5 frames/s: each closes (ends
    # as an event) and is folded out of the evidence book; the timeline keeps all four.
    pattern = ("1" * 20 + "0" * 15) * 4 + "1" * 20
    state = None
    for observation in timeline(pattern):
        state, _ = engine.apply(state, cast(Observation, observation))
    assert state is not None
    absences = [b for b in state.behaviours.values() if b["type"] == "face_absent"]
    assert len(absences) == 4 and all(b["end"] for b in absences)
    assert not state.evidence["intervals"]  # folded: only the history has them
    assert len(state.recent_results) == RECENT_RESULTS
    assert state.recent_results[-1]["frame_sequence"] == len(pattern) - 1
    points = state.timeline["points"]
    assert len(points) <= TIMELINE_POINTS < len(pattern) and max(p[1] for p in points) > 0
    assert points[0][0] <= START + state.timeline["step_ms"]

    final = engine.final_result(state)
    assert state.recent_results[-1] == {**state.recent_results[-1], "final": True, "frame_sequence": -1}
    ended = ended_session(state, final_report(engine, state, "ended"), final["timestamp_ms"])
    assert ended["behaviours"] == state.behaviours and ended["timeline"]["points"] == points


def test_a_redelivered_observation_adds_no_result_to_the_history() -> None:
    engine = RiskEngine(PolicyBook())
    observations = timeline("1" * 12)
    state = None
    for observation in observations:
        state, _ = engine.apply(state, cast(Observation, observation))
    assert state is not None
    before = copy.deepcopy((state.timeline, state.recent_results))
    state, _ = engine.apply(state, cast(Observation, observations[5]))
    assert (state.timeline, state.recent_results) == before
