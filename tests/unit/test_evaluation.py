"""Offline evaluation: the engine's own Results and report per session, and metrics checked by hand."""

from __future__ import annotations

import json
import math
from typing import cast

import pytest

from schemas.records import Recorded, SessionControl
from streams.offline.evaluation import (
    RecordedSession,
    evaluate,
    load_sessions,
    replay_session,
    sessions_from_records,
)
from streams.offline.labels import LabelledRange, SessionLabel
from streams.recording.format import RecordingWriter
from streams.risk import PolicyBook, RiskEngine, final_report
from tests.helpers.sessions import absence_session, recorded, scripted_session


@pytest.fixture(scope="module")
def book() -> PolicyBook:
    return PolicyBook()


def _by_id(evaluation):
    return {o.session_id: o for o in evaluation.sessions}


def _timeless(result):
    """A Result without its processing time (wall clock, never the same twice)."""
    return {k: v for k, v in result.items() if k != "processing_time_ms"}


def test_a_replay_is_what_the_engine_gives_frame_by_frame(book):
    session = scripted_session("s", [("one_face", 4), ("face_absent", 9), ("one_face", 3), ("two_faces", 5)])
    engine = RiskEngine(book)
    state = engine.start(None, cast(SessionControl, session.start))
    expected = []
    for observation in session.observations:
        state, result = engine.apply(state, observation, now_ms=observation["captured_at_ms"])
        expected.append(result)
    report = final_report(engine, state, "ended", now_ms=session.observations[-1]["captured_at_ms"])

    replay = replay_session(session, RiskEngine(book))
    assert [_timeless(r) for r in replay.results] == [_timeless(r) for r in expected]
    assert replay.report == report
    assert replay.report["verdict"] == "flagged" and report["policy"] == "default@2"

    outcome = _by_id(evaluate([session], {}, book))["s"]
    assert outcome.verdict == report["verdict"] and outcome.report == report
    assert outcome.risk == tuple(
        ((r["captured_at_ms"] - session.first_captured_at_ms) / 1000, r["risk_score"]) for r in expected
    )
    first_flag = next(r["captured_at_ms"] for r in expected if r["verdict"] == "flagged")
    assert outcome.first_flag_s == (first_flag - session.first_captured_at_ms) / 1000
    # The second face is still there at the end: its interval runs to the last frame that showed it.
    assert [(d.behaviour, d.start_s, d.end_s) for d in outcome.detected] == [
        ("face_absent", 4.0, 13.0),
        ("multiple_faces", 16.0, 20.8),
    ]


def test_replays_are_deterministic(book):
    session = absence_session("s", 12)
    once, again = evaluate([session], {}, book), evaluate([session], {}, book)
    assert once.to_dict() == again.to_dict()


# 2 cheating + 2 clean sessions with known verdicts, and one without a label.
def _hand_checked_set() -> tuple[list[RecordedSession], dict[str, SessionLabel]]:
    sessions = [
        absence_session("cheat-long", 20),  # flagged: caught
        absence_session("cheat-short", 5),  # review: a missed flag, a caught review
        scripted_session("clean-quiet", [("one_face", 30)]),  # clear
        absence_session("clean-absent", 15),  # flagged: a false flag
        scripted_session("nobody-asked", [("one_face", 4), ("face_absent", 20)]),
    ]
    labels = {
        "cheat-long": SessionLabel("cheat-long", "cheating", (LabelledRange("face_absent", 3.0, 10.0),)),
        "cheat-short": SessionLabel("cheat-short", "cheating", (LabelledRange("multiple_faces", 0.0, 2.0),)),
        "clean-quiet": SessionLabel("clean-quiet", "clean"),
        "clean-absent": SessionLabel("clean-absent", "clean"),
        "not-recorded": SessionLabel("not-recorded", "clean"),
    }
    return sessions, labels


def test_metrics_of_a_hand_checked_set(book):
    sessions, labels = _hand_checked_set()
    evaluation = evaluate(sessions, labels, book)
    verdicts = {o.session_id: o.verdict for o in evaluation.sessions}
    assert verdicts == {
        "cheat-long": "flagged",
        "cheat-short": "review",
        "clean-absent": "flagged",
        "clean-quiet": "clear",
        "nobody-asked": "flagged",
    }
    m = evaluation.metrics
    assert (m.labelled_sessions, m.cheating_sessions, m.clean_sessions) == (4, 2, 2)
    assert evaluation.unlabelled == ("nobody-asked",) and evaluation.missing == ("not-recorded",)
    # flagged: cheat-long caught, cheat-short missed, clean-absent a false flag.
    assert (m.flagged.true_positives, m.flagged.false_positives, m.flagged.false_negatives) == (1, 1, 1)
    assert m.flagged.precision == 0.5 and m.flagged.recall == 0.5 and m.flagged.f1 == 0.5
    # review (review or flagged): both cheating sessions; clean-absent again.
    assert m.review.precision == pytest.approx(2 / 3) and m.review.recall == 1.0
    # One false flag; clean hours: 150 frames (29.8 s observed) + 110 frames (21.8 s), 5 frames a second.
    assert m.false_flags == 1
    assert m.clean_hours == pytest.approx((29.8 + 21.8) / 3600)
    assert m.false_flags_per_clean_hour == pytest.approx(3600 / 51.6)
    # Time to flag: cheat-long only (the one cheating session with a flagged Result).
    long = _by_id(evaluation)["cheat-long"]
    assert m.time_to_flag.sessions == 1 and m.time_to_flag.median_s == m.time_to_flag.max_s == long.first_flag_s
    assert 4 < long.first_flag_s < 24
    # Behaviours, over sessions whose labels carry ranges (cheat-long, cheat-short): cheat-long's absence
    # overlaps its range; cheat-short's is not the multiple_faces its reviewer saw.
    absent, two = m.behaviours["face_absent"], m.behaviours["multiple_faces"]
    assert (absent.detections, absent.confirmed, absent.precision) == (2, 1, 0.5)
    assert (absent.labelled_ranges, absent.ranges_found, absent.recall) == (1, 1, 1.0)
    assert (two.detections, two.precision, two.labelled_ranges, two.recall) == (0, None, 1, 0.0)
    assert [d.confirmed for d in long.detected] == [True]
    assert [d.confirmed for d in _by_id(evaluation)["clean-quiet"].detected] == []
    assert [d.confirmed for d in _by_id(evaluation)["clean-absent"].detected] == [None]  # no ranges to hold to


def test_time_to_flag_is_the_median_and_max_over_flagged_cheating_sessions(book):
    # The same absence after a longer lead flags as much later.
    sessions = [absence_session(f"lead-{lead}", 20, lead_s=lead) for lead in (2, 4, 8)]
    labels = {s.session_id: SessionLabel(s.session_id, "cheating") for s in sessions}
    labels["clean"] = SessionLabel("clean", "clean")
    sessions.append(absence_session("clean", 20))  # flagged too, but not cheating: not in the time to flag
    evaluation = evaluate(sessions, labels, book)
    times = [_by_id(evaluation)[f"lead-{lead}"].first_flag_s for lead in (2, 4, 8)]
    assert times[1] - times[0] == pytest.approx(2) and times[2] - times[0] == pytest.approx(6)
    ttf = evaluation.metrics.time_to_flag
    assert (ttf.sessions, ttf.median_s, ttf.max_s) == (3, times[1], times[2])


def test_ratios_with_nothing_to_divide_by_are_none(book):
    evaluation = evaluate([scripted_session("quiet", [("one_face", 10)])], {}, book)
    m = evaluation.metrics
    assert m.labelled_sessions == 0
    assert (m.flagged.precision, m.flagged.recall, m.flagged.f1, m.false_flags_per_clean_hour) == (None,) * 4
    assert m.time_to_flag.median_s is None


def test_a_forced_policy_judges_every_session(book):
    sessions = [absence_session("a", 8), scripted_session("b", [("one_face", 4), ("face_absent", 8)], policy=None)]
    named = _by_id(evaluate(sessions, {}, book))
    forced = _by_id(evaluate(sessions, {}, book, policy="strict"))
    strict = book.policies["strict"]
    assert {o.policy for o in named.values()} == {"default@2"}  # no start record: the book's default
    assert {o.policy for o in forced.values()} == {strict.id}
    assert forced["a"].peak_risk != named["a"].peak_risk
    with pytest.raises(KeyError, match="no policy 'nope'"):
        evaluate(sessions, {}, book, policy="nope")


def test_the_json_form_is_json_and_leaves_the_per_frame_risk_out(book):
    sessions, labels = _hand_checked_set()
    data = json.loads(json.dumps(evaluate(sessions, labels, book).to_dict()))
    assert data["metrics"]["flagged"] == {
        "true_positives": 1,
        "false_positives": 1,
        "false_negatives": 1,
        "true_negatives": 1,
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
    }
    assert math.isclose(data["metrics"]["false_flags_per_clean_hour"], 3600 / 51.6)
    assert data["unlabelled"] == ["nobody-asked"] and data["missing"] == ["not-recorded"]
    assert data["thresholds"] == {"default@2": {"review_at": 30.0, "flagged_at": 60.0}}
    session = next(s for s in data["sessions"] if s["session_id"] == "cheat-long")
    assert "risk" not in session and session["flagged"] and session["report"]["verdict"] == "flagged"
    assert session["detected"] == [{"behaviour": "face_absent", "start_s": 4.0, "end_s": 24.0, "confirmed": True}]


def test_recordings_are_read_into_sessions_once_per_frame_in_frame_order(tmp_path, book):
    a, b = absence_session("a", 8), scripted_session("b", [("one_face", 5)], policy="strict")
    records = recorded(a) + recorded(b)
    records = records[:1] + records[1:][::-1] + records[5:9]  # out of order, four observations twice
    path = tmp_path / "rec.avro"
    with RecordingWriter(path, "observations", ["a", "b"]) as writer:
        for record in records:
            writer.write(record)
    sessions = load_sessions([path])
    assert [s.session_id for s in sessions] == ["a", "b"]
    assert sessions[0].observations == a.observations and sessions[0].start == a.start
    assert sessions[1].observations == b.observations and cast(SessionControl, sessions[1].start)["policy"] == "strict"
    assert sessions_from_records(records) == sessions


def test_a_session_recorded_as_frames_goes_through_vision_first(book):
    from tests.helpers.frames import timeline

    frames = timeline("f", [("one_face", 3), ("face_absent", 15), ("one_face", 2)], start_ms=1_800_000_000_000)
    records: list[Recorded] = [
        {"topic": "frames", "partition": 0, "offset": i, "timestamp_ms": 0, "session_id": "f", "value": frame}
        for i, frame in enumerate(frames)
    ]
    seen = []
    (session,) = sessions_from_records(records, on_frame=lambda: seen.append(1))
    assert len(seen) == len(frames) == len(session.observations)
    assert [len(o["faces"]) for o in session.observations] == [1] * 3 + [0] * 15 + [1] * 2
    assert any(c["type"] == "face_absent" for c in session.observations[17]["conditions"])  # the analyser's
    outcome = _by_id(evaluate([session], {}, book))["f"]
    assert [d.behaviour for d in outcome.detected] == ["face_absent"]
