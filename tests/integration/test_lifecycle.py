"""Sessions on a real broker and worker: start -> frames -> end -> final report, idle expiry, redelivery,
and a worker killed with SIGKILL mid-session."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from typing import cast

import pytest

from schemas import codec_for
from schemas.records import Frame
from streams.kafka.partitioning import partition_of
from streams.risk import RiskEngine
from streams.settings import BehaviourSettings, VisionSettings
from streams.vision import BehaviourAnalyser, VisionPipeline
from tests.helpers.frames import INTERVAL_MS, SHARED_WEIGHTS, timeline
from tests.helpers.kafka import collect, control, publish, reports_of, results_of

pytestmark = pytest.mark.integration


def frames(session_id: str, scenes: list[tuple[str, int]], first: int = 0) -> list[Frame]:
    return timeline(session_id, scenes, first)


def session_state(worker, session_id: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/sessions/{session_id}/", timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def test_start_frames_end_gives_a_final_report_and_releases_the_state(settings, worker):
    session = frames("lc-end", [("one_face", 20), ("face_absent", 25), ("two_faces", 15)])
    publish(
        settings,
        [control(settings, "lc-end", "start", policy="strict")]
        + [(settings.topics.frames, "lc-end", f) for f in session]
        + [control(settings, "lc-end", "end", last_sequence=len(session) - 1)],
    )
    results = results_of(settings, "lc-end", len(session) + 1)
    assert [r["final"] for r in results] == [False] * len(session) + [True]
    final = results[-1]

    report = reports_of(settings, "lc-end")[0]
    assert report["reason"] == "ended"
    assert report["policy"] == "strict@2"
    assert report["frames"] == len(session)
    assert report["verdict"] == final["verdict"]
    assert report["final_risk_score"] == final["risk_score"]
    assert report["peak_risk_score"] == max(r["risk_score"] for r in results)
    assert 0 < report["mean_risk_score"] < report["peak_risk_score"]
    assert report["time_in_ms"]["face_absent"] == 25 * INTERVAL_MS
    assert "multiple_faces" in report["time_in_ms"]
    assert {e["type"] for e in report["evidence"]} >= {"face_absent", "multiple_faces"}
    # Its working state is released; what stays is its ended record with the final report.
    ended = wait_for_status(worker, "lc-end", "ended")
    assert ended["final_report"] == report
    assert "evidence" not in ended
    # What a reviewer arriving later sees of it: its Results over time, its behaviours, its last Results.
    points = ended["timeline"]["points"]
    assert [p[0] for p in points] == [r["captured_at_ms"] for r in results[:-1]]
    assert [p[1] for p in points] == [round(r["risk_score"], 1) for r in results[:-1]]
    assert {b["type"] for b in ended["behaviours"].values()} >= {"face_absent", "multiple_faces"}
    recent = ended["recent_results"]
    assert [r["frame_sequence"] for r in recent] == [r["frame_sequence"] for r in results[-len(recent) :]]
    assert recent[-1]["final"] and recent[-1]["verdict"] == report["verdict"]

    # A late frame, or a repeated end, cannot start it again: refused, and no second report.
    late = frames("lc-end", [("one_face", 1)], first=len(session))
    publish(
        settings,
        [(settings.topics.frames, "lc-end", late[0]), control(settings, "lc-end", "end", last_sequence=len(session))],
    )
    letters = collect(settings, settings.topics.dead_letter, "DeadLetter", lambda d: d["key"] == b"lc-end", 2)
    assert sorted(letter["stage"] for letter in letters) == ["control", "risk"]
    assert all("which has ended (ended): its final report is out" in letter["reason"] for letter in letters)
    assert (
        len(collect(settings, settings.topics.reports, "FinalReport", lambda r: r["session_id"] == "lc-end", 2, 5)) == 1
    )


def wait_for_status(worker, session_id: str, status: str, timeout_s: float = 10) -> dict:
    deadline = time.monotonic() + timeout_s
    while (state := session_state(worker, session_id)) is None or state.get("status") != status:
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
    return state


def test_an_idle_session_is_expired_by_the_timer(settings, worker):
    session = frames("lc-idle", [("one_face", 10), ("face_absent", 15)])
    publish(
        settings,
        [control(settings, "lc-idle", "start", policy="quick")]  # quick: 3 s idle timeout
        + [(settings.topics.frames, "lc-idle", f) for f in session],
    )
    results = results_of(settings, "lc-idle", len(session) + 1, timeout_s=60)
    assert results[-1]["final"] is True
    report = reports_of(settings, "lc-idle")[0]
    assert report["reason"] == "expired"
    assert report["frames"] == len(session)
    assert wait_for_status(worker, "lc-idle", "ended")["final_report"]["reason"] == "expired"
    # Asked once: the timer (every second here) sends no further control records for the session.
    time.sleep(4)
    expires = collect(
        settings,
        settings.topics.control,
        "SessionControl",
        lambda r: r["session_id"] == "lc-idle" and r["action"] == "expire",
        100,
        timeout_s=3,
    )
    assert len(expires) == 1


def test_redelivered_observations_get_no_second_result(settings, worker):
    # The vision stage's own observations, published twice on the events topic, as a crash would.
    pipeline, analyser = VisionPipeline(VisionSettings()), BehaviourAnalyser(BehaviourSettings())
    state, observations = None, []
    for frame in frames("lc-redeliver", [("one_face", 10), ("face_absent", 20), ("one_face", 10)]):
        observation = pipeline.observe(frame)
        state = analyser.annotate(state, observation)
        observations.append(observation)
    codec = codec_for("Observation")
    records = [(settings.topics.events, "lc-redeliver", codec.encode(o)) for o in observations]
    publish(settings, records + records)

    results = results_of(settings, "lc-redeliver", len(observations))
    assert [r["frame_sequence"] for r in results] == list(range(len(observations)))
    assert max(r["risk_score"] for r in results) > 0
    # The second delivery is answered by the first: no second Result, and the session counts each frame once.
    deadline = time.monotonic() + 20
    while (worker.health() or {}).get("already_answered", {}).get("risk", 0) < len(observations):
        assert time.monotonic() < deadline, worker.health()
        time.sleep(0.2)
    assert len(results_of(settings, "lc-redeliver", 2 * len(observations), timeout_s=3)) == len(observations)
    assert cast(dict, session_state(worker, "lc-redeliver"))["frames"] == len(observations)


def test_a_worker_killed_mid_session_continues_without_loss_or_double_counting(settings, worker):
    session = frames("lc-kill", [("one_face", 15), ("face_absent", 40), ("one_face", 15), ("face_absent", 30)])
    first_half, second_half = session[:45], session[45:]
    publish(settings, [(settings.topics.frames, "lc-kill", f) for f in first_half])
    results_of(settings, "lc-kill", 30)  # mid-session...

    worker.stop(sig=signal.SIGKILL)  # ...crash: no commit, no clean close
    publish(settings, [(settings.topics.frames, "lc-kill", f) for f in second_half])
    worker.start()
    worker.wait_ready(timeout_s=180)

    deadline = time.monotonic() + 120
    results: list[dict] = []
    while time.monotonic() < deadline:
        results = collect(
            settings, settings.topics.results, "Result", lambda r: r["session_id"] == "lc-kill", 10_000, timeout_s=3
        )
        if results and results[-1]["frame_sequence"] == len(session) - 1:
            break
    assert {r["frame_sequence"] for r in results} == set(range(len(session)))  # nothing lost
    assert_repeats_identical(results)

    # The same frames through the core, once, in order: the score the stream must end on.
    weights = SHARED_WEIGHTS
    pipeline = VisionPipeline(VisionSettings(yolo_weights=weights))
    analyser, engine = BehaviourAnalyser(BehaviourSettings()), RiskEngine()
    behaviour_state = risk_state = check = None
    for frame in session:
        observation, check = pipeline.observe_in_session(frame, check)
        behaviour_state = analyser.annotate(behaviour_state, observation)
        risk_state, expected = engine.apply(risk_state, observation)
    assert results[-1]["risk_score"] == pytest.approx(expected["risk_score"], abs=1e-6)
    state = cast(dict, session_state(worker, "lc-kill"))
    assert state["frames"] == len(session)


def assert_repeats_identical(results: list[dict]) -> None:
    """A frame answered twice (the worker died between its answer and its state) is answered the same:
    every field but when and how fast it was computed."""
    by_frame: dict[int, dict] = {}
    for result in results:
        same = {k: v for k, v in result.items() if k not in ("timestamp_ms", "processing_time_ms")}
        assert by_frame.setdefault(result["frame_sequence"], same) == same


def test_an_observation_beyond_the_lateness_bound_is_dead_lettered(settings, worker):
    pipeline, analyser = VisionPipeline(VisionSettings()), BehaviourAnalyser(BehaviourSettings())
    session = frames("lc-late", [("one_face", 3)])
    observations = [pipeline.observe(frame) for frame in session]
    for observation in observations:
        analyser.annotate(None, observation)
    late = dict(observations[0], frame_sequence=3, captured_at_ms=observations[-1]["captured_at_ms"] - 45_000)
    codec = codec_for("Observation")
    publish(settings, [(settings.topics.events, "lc-late", codec.encode(o)) for o in [*observations, late]])

    letters = collect(settings, settings.topics.dead_letter, "DeadLetter", lambda d: d["key"] == b"lc-late", 1)
    assert letters[0]["stage"] == "risk"
    assert letters[0]["reason"].startswith("late observation") and "30000 ms" in letters[0]["reason"]
    assert letters[0]["source_topic"] == settings.topics.events
    assert [r["frame_sequence"] for r in results_of(settings, "lc-late", 3)] == [0, 1, 2]


def test_an_end_waits_for_its_frames_however_far_detection_is_behind(settings, worker):
    # Another session on the same partition floods detection first: the end record overtakes the frames
    # (it goes straight to the risk agent), but the session still ends once, with every frame.
    partitions = settings.topics.partitions
    busy = next(
        f"lc-busy-{i}"
        for i in range(100)
        if partition_of(f"lc-busy-{i}".encode(), partitions) == partition_of(b"lc-behind", partitions)
    )
    flood = frames(busy, [("one_face", 250)])
    session = frames("lc-behind", [("one_face", 10), ("face_absent", 15)])
    publish(
        settings,
        [(settings.topics.frames, busy, f) for f in flood]
        + [control(settings, "lc-behind", "start")]
        + [(settings.topics.frames, "lc-behind", f) for f in session]
        + [control(settings, "lc-behind", "end", last_sequence=len(session) - 1)],
    )
    results = results_of(settings, "lc-behind", len(session) + 1, timeout_s=180)
    assert [r["frame_sequence"] for r in results] == [*range(len(session)), -1]
    reports = collect(settings, settings.topics.reports, "FinalReport", lambda r: r["session_id"] == "lc-behind", 2, 8)
    assert len(reports) == 1
    assert reports[0]["reason"] == "ended" and reports[0]["frames"] == len(session)
