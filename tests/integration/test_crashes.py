"""Workers that crash, fail over and stop, under load, on a real broker: nothing lost, nothing answered
twice differently, and the final reports those of an uninterrupted run."""

from __future__ import annotations

import itertools
import random
import signal
import threading
import time

import pytest

from schemas.records import FinalReport, Frame, SessionControl, new_session_control
from streams.child_process import free_port
from streams.kafka.partitioning import partition_of
from streams.risk import RiskEngine, final_report
from streams.settings import BehaviourSettings, VisionSettings
from streams.stack.processes import WorkerProcess
from streams.vision import BehaviourAnalyser, VisionPipeline
from tests.helpers.frames import SHARED_WEIGHTS, timeline
from tests.helpers.kafka import REPORTED, Record, collect, publish, reports_of, results_of
from tests.integration.test_lifecycle import assert_repeats_identical

pytestmark = pytest.mark.integration


def start_record(session_id: str) -> SessionControl:
    return new_session_control(session_id, "start", f"cand-{session_id}")


def end_record(session: list[Frame]) -> SessionControl:
    session_id = session[0]["session_id"]
    return new_session_control(session_id, "end", f"cand-{session_id}", last_sequence=len(session) - 1)


def uninterrupted(start: SessionControl, session: list[Frame]) -> FinalReport:
    """The session's frames through the core, once, in order: the report every run must end on."""
    pipeline = VisionPipeline(VisionSettings(yolo_weights=SHARED_WEIGHTS))
    analyser, engine = BehaviourAnalyser(BehaviourSettings()), RiskEngine()
    behaviour_state = check = None
    risk_state = engine.start(None, start)
    for frame in session:
        observation, check = pipeline.observe_in_session(frame, check)
        behaviour_state = analyser.annotate(behaviour_state, observation)
        risk_state, _ = engine.apply(risk_state, observation)
    return final_report(engine, risk_state, "ended")


def sessions_on_each_partition(prefix: str, partitions: int) -> list[str]:
    names: dict[int, str] = {}
    for i in range(1000):
        name = f"{prefix}-{i}"
        names.setdefault(partition_of(name.encode(), partitions), name)
        if len(names) == partitions:
            break
    return [names[p] for p in sorted(names)]


def assert_answered_once_as_uninterrupted(settings, starts: dict, sessions: dict) -> None:
    for session_id, session in sessions.items():
        report = reports_of(settings, session_id, timeout_s=240)[0]
        expected = uninterrupted(starts[session_id], session)
        if {k: report[k] for k in REPORTED} != {k: expected[k] for k in REPORTED}:
            raise AssertionError(f"{session_id}: {_what_went_wrong(settings, session_id, len(session))}")
        # One final report; every frame answered; a frame answered twice, answered the same.
        assert len(collect(settings, settings.topics.reports, "FinalReport", _of(session_id), 2, 3)) == 1
        results_of(settings, session_id, len(session) + 1)
        more = collect(settings, settings.topics.results, "Result", _of(session_id), 10 * len(session), 3)
        assert {r["frame_sequence"] for r in more} == {*range(len(session)), -1}
        assert_repeats_identical(more)


def _what_went_wrong(settings, session_id: str, frames: int) -> str:
    """The evidence a failed run leaves on the topics: which frames got no Result, and the session's
    dead letters (a CI log is all there is to go on)."""
    results = collect(settings, settings.topics.results, "Result", _of(session_id), 10 * frames, 3)
    reports = collect(settings, settings.topics.reports, "FinalReport", _of(session_id), 2, 3)
    letters = collect(
        settings, settings.topics.dead_letter, "DeadLetter", lambda r: r["key"] == session_id.encode(), 1000, 3
    )
    observed = collect(settings, settings.topics.events, "Observation", _of(session_id), 10 * frames, 3)
    answered = sorted(r["frame_sequence"] for r in results)
    return (
        f"no Result for frames {sorted(set(range(frames)) - set(answered))}; {len(results)} Results; "
        f"no Observation for frames {sorted(set(range(frames)) - {o['frame_sequence'] for o in observed})}; "
        f"{len(observed)} Observations; "
        f"reports {[{k: r[k] for k in REPORTED} for r in reports]}; "
        f"dead letters {[(d['stage'], d['source_topic'], d['source_offset'], d['reason']) for d in letters]}"
    )


def _of(session_id: str):
    return lambda record: record["session_id"] == session_id


def test_five_sigkills_under_load_change_no_final_report(settings, stack):
    worker = stack.worker
    names = sessions_on_each_partition("kill", settings.topics.partitions)[:3]
    scenes = [("one_face", 25), ("face_absent", 35), ("two_faces", 20), ("one_face", 40)]
    sessions = {name: timeline(name, scenes) for name in names}
    starts = {name: start_record(name) for name in names}
    records: list[Record] = [(settings.topics.control, name, starts[name]) for name in names]
    for i in range(len(sessions[names[0]])):
        records += [(settings.topics.frames, name, sessions[name][i]) for name in names]
    records += [(settings.topics.control, name, end_record(sessions[name])) for name in names]
    publish(settings, records)

    rng = random.Random(1705)
    for _ in range(5):
        time.sleep(rng.uniform(0.5, 2.5))  # mid-flight: 360 frames queue behind detection
        worker.stop(sig=signal.SIGKILL)
        worker.start()
        worker.wait_ready(timeout_s=180)
    # Each restart rebalances twice (the group lists the dead worker until its session times out): the
    # records buffered at the second were once acknowledged unprocessed, and lost (streams.worker.faust_acks).
    assert_answered_once_as_uninterrupted(settings, starts, sessions)


def test_a_killed_workers_sessions_continue_on_the_other(settings, stack, tmp_path):
    first = stack.worker
    second = WorkerProcess(first.env, free_port(), tmp_path / "worker-2", tmp_path / "worker-2.log").start()
    try:
        second.wait_ready(timeout_s=180)
        names = sessions_on_each_partition("failover", settings.topics.partitions)
        sessions = {name: timeline(name, [("one_face", 30), ("face_absent", 30), ("one_face", 30)]) for name in names}
        starts = {name: start_record(name) for name in names}
        publish(settings, [(settings.topics.control, name, starts[name]) for name in names])

        def produce_live() -> None:  # 5 frames per second per session, as cameras do
            for i in range(90):
                publish(settings, [(settings.topics.frames, name, sessions[name][i]) for name in names])
                time.sleep(0.2)
            publish(settings, [(settings.topics.control, name, end_record(sessions[name])) for name in names])

        cameras = threading.Thread(target=produce_live)
        cameras.start()
        time.sleep(8)
        second.stop(sig=signal.SIGKILL)
        killed_at = time.time()
        cameras.join()

        assert_answered_once_as_uninterrupted(settings, starts, sessions)
        # Failover: the longest wait for a Result across the kill (the dead worker's partitions wait for
        # the broker to notice it is gone and for a rebalance; the survivor's pause for the rebalance).
        gaps = []
        for name in names:
            stamps = sorted(r["timestamp_ms"] / 1000 for r in results_of(settings, name, 91) if not r["final"])
            gaps += [b - a for a, b in itertools.pairwise(stamps) if b > killed_at > a - 1]
        print(f"failover: the longest wait for a Result across the kill was {max(gaps):.1f} s")
        assert 1 < max(gaps) < 60
    finally:
        second.stop(sig=signal.SIGKILL)


def test_sigterm_finishes_in_flight_frames_and_answers_each_once(settings, stack):
    worker = stack.worker
    name = "sigterm-0"
    session = timeline(name, [("one_face", 40), ("face_absent", 40), ("one_face", 40)])
    start = start_record(name)
    publish(settings, [(settings.topics.control, name, start), *[(settings.topics.frames, name, f) for f in session]])
    results_of(settings, name, 20)  # mid-session

    stopping = time.monotonic()
    assert worker.stop(sig=signal.SIGTERM, timeout_s=60) == 0
    print(f"SIGTERM: stopped in {time.monotonic() - stopping:.1f} s")
    worker.start()
    worker.wait_ready(timeout_s=180)
    publish(settings, [(settings.topics.control, name, end_record(session))])

    assert_answered_once_as_uninterrupted(settings, {name: start}, {name: session})
    results = collect(settings, settings.topics.results, "Result", _of(name), 10 * len(session), 3)
    assert len(results) == len(session) + 1  # a clean stop commits what it answered: no frame twice
