"""The risk engine over observation sequences: rise and decay, verdicts, event time, redelivery,
lateness, lifecycle and the final report. Behaviours come in as the analyser reports them."""

from __future__ import annotations

import copy
import itertools
import math
import random
from typing import cast

import pytest

from schemas.records import Observation, SessionControl
from streams.risk import LateObservation, PolicyBook, RiskEngine, SessionState, final_report

START = 1_800_000_000_000
FACE = {"confidence": 0.9, "x": 0.4, "y": 0.2, "width": 0.2, "height": 0.25, "too_small": False}


def timeline(pattern: str, interval_ms: int = 200, session: str = "s1") -> list[dict]:
    """One observation per character: '1' one face, '0' nobody, '2' two faces, 'd' dark.

    Conditions start after the analyser's minimums (absence 2 s, second face 3 frames) and carry the
    time the behaviour began, as the analyser reports them; ends come as events.
    """
    observations, since, run_kind = [], None, None
    for sequence, char in enumerate(pattern):
        captured = START + sequence * interval_ms
        kind = {"0": "face_absent", "2": "multiple_faces", "d": "low_visibility"}.get(char)
        events: list[dict] = []
        if kind != run_kind:
            if run_kind is not None and since is not None:
                events.append(_event(session, run_kind, since, captured, sequence))
            run_kind, since = kind, captured if kind else None
        conditions = []
        if kind and captured - cast(int, since) >= {"face_absent": 2000, "multiple_faces": 2 * interval_ms}.get(
            kind, 1000
        ):
            conditions.append({"type": kind, "confidence": 1.0, "since_ms": since, "until_ms": None})
        faces = {"1": 1, "2": 2}.get(char, 0)
        observations.append(
            {
                "session_id": session,
                "candidate_id": "c1",
                "frame_sequence": sequence,
                "captured_at_ms": captured,
                "observed_at_ms": captured + 5,
                "brightness": 10.0 if char == "d" else 120.0,
                "too_dark": char == "d",
                "faces": [FACE] * faces,
                "head_pose": None,
                "gaze": None,
                "objects": None,
                "objects_status": "unavailable",
                "timings_ms": {"total": 5.0},
                "conditions": conditions,
                "events": events,
            }
        )
    return observations


def _event(session: str, kind: str, since: int, ended: int, sequence: int) -> dict:
    return {
        "event_id": f"{session}:{kind}:{since}",
        "session_id": session,
        "frame_sequence": sequence,
        "type": kind,
        "confidence": 1.0,
        "started_at_ms": since,
        "ended_at_ms": ended,
        "details": {"phase": "end"},
    }


def run(engine: RiskEngine, observations: list[dict], state: SessionState | None = None):
    results = []
    for observation in observations:
        state, result = engine.apply(state, cast(Observation, observation), now_ms=observation["captured_at_ms"] + 10)
        results.append(result)
    return state, results


@pytest.fixture
def engine() -> RiskEngine:
    return RiskEngine()


def test_score_rises_while_the_face_is_absent_and_decays_after(engine):
    _, results = run(engine, timeline("1" * 20 + "0" * 40 + "1" * 50))
    scores = [r["risk_score"] for r in results]
    assert scores[:30] == [0.0] * 30  # the absence counts once it has lasted 2 s (frame 30)
    assert scores[30] > 0  # ...and then from its start
    assert all(b > a for a, b in itertools.pairwise(scores[30:60]))
    assert all(b < a for a, b in itertools.pairwise(scores[60:]))
    assert results[59]["reasons"][0]["event_type"] == "face_absent"


def test_verdicts_move_from_inconclusive_to_clear_to_review_to_flagged(engine):
    _, results = run(engine, timeline("1" * 20 + "0" * 150))
    verdicts = [r["verdict"] for r in results]
    assert verdicts[0] == "inconclusive"  # under 3 s seen: too early to call it clear
    assert verdicts[19] == "clear"
    assert "review" in verdicts and verdicts[-1] == "flagged"
    assert results[-1]["cheating"] and not results[19]["cheating"]
    first_review, first_flag = verdicts.index("review"), verdicts.index("flagged")
    assert 20 < first_review < first_flag


def test_a_second_face_weighs_more_than_an_empty_chair(engine):
    _, absent = run(engine, timeline("1" * 20 + "0" * 30))
    _, two = run(RiskEngine(), timeline("1" * 20 + "2" * 30))
    assert two[-1]["risk_score"] > absent[-1]["risk_score"]
    assert two[-1]["reasons"][0]["event_type"] == "multiple_faces"


def test_score_does_not_depend_on_the_frame_rate(engine):
    _, five = run(engine, timeline("1" * 10 + "0" * 50, interval_ms=200))
    _, ten = run(RiskEngine(), timeline("1" * 20 + "0" * 100, interval_ms=100))
    assert five[-1]["risk_score"] == pytest.approx(ten[-1]["risk_score"], rel=0.02)


def test_redelivered_observations_are_not_counted_twice(engine):
    observations = timeline("1" * 10 + "0" * 30 + "1" * 10)
    state, results = run(engine, observations)
    before = copy.deepcopy(state.to_dict())
    state, again = run(engine, observations[15:], state)  # a crash replays the last 35
    after = state.to_dict()
    for volatile in ("last_frame_wall_ms", "last_verdict"):
        before.pop(volatile)
        after.pop(volatile)
    assert after == before
    assert again[-1]["risk_score"] == results[-1]["risk_score"]


def test_out_of_order_observations_score_by_their_own_time(engine):
    observations = timeline("1" * 10 + "0" * 30 + "2" * 20 + "1" * 10)
    in_order, _ = run(engine, observations)
    shuffled = observations[:]
    random.Random(4).shuffle(shuffled)  # all within the 30 s lateness bound of each other
    out_of_order, _ = run(RiskEngine(), shuffled)
    assert out_of_order.last_score == pytest.approx(in_order.last_score, abs=1e-9)


def test_observations_older_than_the_lateness_bound_are_refused(engine):
    observations = timeline("0" * 20)
    state, _ = run(engine, observations)
    late = copy.deepcopy(observations[0])
    late["frame_sequence"] = 999
    late["captured_at_ms"] = observations[-1]["captured_at_ms"] - 31_000
    with pytest.raises(LateObservation, match="lateness bound is 30000 ms"):
        engine.apply(state, late)


def test_darkness_is_inconclusive_never_a_flag(engine):
    _, results = run(engine, timeline("1" * 20 + "d" * 200))
    assert all(r["verdict"] == "inconclusive" for r in results[30:])
    assert not any(r["cheating"] for r in results)
    assert results[-1]["risk_score"] == 0.0


def test_one_stuck_behaviour_is_capped(engine):
    observations = timeline("1" * 10 + "0" * 3000)  # ten minutes absent
    state, results = run(engine, observations)
    cap = engine.policy_for(state).behaviours["face_absent"].cap
    assert results[-1]["risk_score"] == pytest.approx(100 * (1 - math.exp(-cap / 10)), abs=1e-3)
    assert results[-1]["risk_score"] < 100


def test_attention_falls_without_a_face_and_recovers(engine):
    _, results = run(engine, timeline("1" * 5 + "0" * 50 + "1" * 100))
    assert results[4]["attention"] == 100.0
    # Attention has a 10 s half-life: 10 s without a face halves it, 20 s back recover 3/4 of the loss.
    assert results[54]["attention"] == pytest.approx(50.0, abs=0.5)
    assert results[-1]["attention"] == pytest.approx(87.5, abs=0.5)


def test_sessions_pick_their_policy(engine):
    strict = engine.start(
        None, {"session_id": "s1", "candidate_id": "c1", "policy": "strict", "metadata": {}, "at_ms": START}
    )
    state, strict_results = run(engine, timeline("1" * 20 + "0" * 40), strict)
    _, default_results = run(RiskEngine(), timeline("1" * 20 + "0" * 40))
    assert state.policy == "strict"
    assert strict_results[-1]["risk_score"] > default_results[-1]["risk_score"]
    unknown = engine.start(
        None, {"session_id": "s2", "candidate_id": "c", "policy": "nope", "metadata": {}, "at_ms": START}
    )
    assert unknown.policy == "default"


def test_a_session_that_names_no_policy_gets_the_configured_default():
    engine = RiskEngine(PolicyBook(default="strict"))
    state, _ = run(engine, timeline("1" * 5))
    assert state.policy == "strict"
    end = cast(SessionControl, {"session_id": "s9", "candidate_id": "c", "last_sequence": 3})
    assert engine.request_end(None, end).policy == "strict"


def test_the_final_result_answers_the_session_not_a_frame(engine):
    state, results = run(engine, timeline("1" * 20))
    final = engine.result(state, final=True)
    assert final["final"] is True and final["frame_sequence"] == -1
    assert results[-1]["frame_sequence"] == 19 and final["risk_score"] == results[-1]["risk_score"]


def test_an_end_waits_for_the_last_frame(engine):
    observations = timeline("1" * 20 + "0" * 30)
    state, _ = run(engine, observations[:40])
    state = engine.request_end(state, {"session_id": "s1", "candidate_id": "c1", "last_sequence": 49}, now_ms=0)
    assert not engine.ready_to_finish(state)
    state, _ = run(engine, observations[40:], state)
    assert engine.ready_to_finish(state)


def test_an_end_waits_for_the_frames_sent_before_it_however_far_detection_is_behind(engine):
    state, _ = run(engine, timeline("1" * 5))
    ended_at = state.last_frame_wall_ms + 1_000
    state = engine.request_end(state, {"session_id": "s1", "candidate_id": "c1", "last_sequence": 99}, now_ms=ended_at)
    a_minute_later = ended_at + 60_000
    # Detection is still on frames produced before the end: keep waiting, past the grace.
    assert not engine.is_idle(state, a_minute_later, end_grace_s=10, frames_done_up_to_ms=ended_at - 1)
    # Detection has passed the end's broker time: the last frame is not coming, after the grace.
    assert engine.is_idle(state, a_minute_later, end_grace_s=10, frames_done_up_to_ms=ended_at + 5)
    assert not engine.is_idle(state, ended_at + 5_000, end_grace_s=10, frames_done_up_to_ms=ended_at + 5)


def test_idle_sessions_are_noticed(engine):
    state, _ = run(engine, timeline("1" * 5))
    last = state.last_frame_wall_ms
    assert not engine.is_idle(state, last + 60_000, end_grace_s=10)
    assert engine.is_idle(state, last + 900_000, end_grace_s=10)
    state = engine.request_end(state, {"session_id": "s1", "candidate_id": "c1", "last_sequence": 99}, now_ms=last)
    assert engine.is_idle(state, last + 10_000, end_grace_s=10)


def test_final_report_explains_the_session(engine):
    state, results = run(engine, timeline("1" * 20 + "0" * 50 + "1" * 20 + "2" * 30 + "1" * 20))
    report = final_report(engine, state, "ended", now_ms=START + 60_000)
    assert report["frames"] == 140 and report["reason"] == "ended" and report["policy"] == "default@2"
    assert report["peak_risk_score"] == max(r["risk_score"] for r in results)
    assert 0 < report["mean_risk_score"] < report["peak_risk_score"]
    assert report["time_in_ms"]["face_absent"] == 50 * 200
    assert report["time_in_ms"]["multiple_faces"] == 30 * 200
    kinds = [e["type"] for e in report["evidence"]]
    assert set(kinds) == {"face_absent", "multiple_faces"}
    assert report["evidence"][0]["evidence"] >= report["evidence"][-1]["evidence"]
    assert report["verdict"] == results[-1]["verdict"]


def test_state_survives_a_json_round_trip(engine):
    import json

    state, _ = run(engine, timeline("1" * 10 + "0" * 20 + "2" * 10))
    restored = SessionState.from_dict(json.loads(json.dumps(state.to_dict())))
    _, a = engine.apply(state, timeline("0" * 41)[-1] | {"frame_sequence": 40})
    _, b = engine.apply(restored, timeline("0" * 41)[-1] | {"frame_sequence": 40})
    assert a["risk_score"] == b["risk_score"]


def test_policies_load_from_the_repository():
    book = PolicyBook()
    assert {"default", "strict"} <= set(book.policies)
    assert book.get("default").behaviours["phone_visible"].rate > book.get("default").behaviours["talking"].rate


def holding(kind: str, seconds: int, session: str = "s1") -> list[dict]:
    """A candidate in view for ``seconds`` at 5 fps, with ``kind`` held from the first frame."""
    observations = timeline("1" * seconds * 5, session=session)
    for observation in observations:
        observation["conditions"] = [{"type": kind, "confidence": 1.0, "since_ms": START, "until_ms": None}]
    return observations


def in_context(policy: str, observations: list[dict]) -> list[dict]:
    engine = RiskEngine()
    start = cast(
        SessionControl, {"session_id": "s1", "candidate_id": "c1", "policy": policy, "metadata": {}, "at_ms": START}
    )
    _, results = run(engine, observations, engine.start(None, start))
    return results


def test_context_policies_judge_what_their_context_allows():
    # Talking is the point of an interview; a book is allowed in an open-book exam; neither in an exam.
    talking, book = holding("talking", 20), holding("book_visible", 20)
    assert in_context("interview", talking)[-1]["risk_score"] == 0.0
    assert in_context("exam", talking)[-1]["risk_score"] > 0.0
    assert in_context("open-book", book)[-1]["risk_score"] == 0.0
    assert in_context("exam", book)[-1]["verdict"] in {"review", "flagged"}
    # A phone is a phone in every context.
    phone = holding("phone_visible", 10)
    assert all(in_context(name, phone)[-1]["verdict"] == "flagged" for name in ("interview", "exam", "open-book"))


def test_every_result_names_the_policy_and_its_version(engine):
    assert {"default", "strict", "interview", "exam", "open-book"} <= set(PolicyBook().policies)
    results = in_context("open-book", holding("book_visible", 2))
    assert {r["policy"] for r in results} == {"open-book@2"}
    state, results = run(engine, timeline("1" * 5))
    assert results[0]["policy"] == "default@2" and engine.result(state, final=True)["policy"] == "default@2"
