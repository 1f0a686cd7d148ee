"""Record sessions from a real broker and replay them into a namespace, with a real worker on each side:
the round trip loses nothing, production's topics and tables do not move, and two replays of one
recording are answered alike."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Final, cast

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.records import Frame, Recorded, SessionControl, new_session_control
from streams.child_process import free_port
from streams.kafka.clients import consumer_options
from streams.recording.format import kind_of, read_recording
from streams.recording.record import record, record_filter
from streams.recording.replay import ReplayOptions, replay
from streams.settings import Settings, load_settings
from streams.stack.processes import WorkerProcess
from tests.helpers.frames import timeline
from tests.helpers.kafka import REPORTED, Record, collect, publish, reports_of, results_of

pytestmark = pytest.mark.integration

NAMESPACE = "replay-test"
FRAMES = 24
SESSIONS = ("rec-a", "rec-b")
ANSWERED: Final = ("frame_sequence", "risk_score", "verdict", "reasons", "attention", "conditions", "face_count")


@pytest.fixture(scope="module")
def env(stack) -> dict[str, str]:
    """The environment of a user's shell beside the stack: its broker, no namespace."""
    return {k: v for k, v in stack.worker.env.items() if k != "INTEGRITY_NAMESPACE"}


@pytest.fixture(scope="module")
def ns_worker(env, tmp_path_factory):
    """A worker of the namespace, started first: it warms up while the original sessions run."""
    folder = tmp_path_factory.mktemp("namespace")
    worker = WorkerProcess(env | {"INTEGRITY_NAMESPACE": NAMESPACE}, free_port(), folder / "data", folder / "log")
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def ns_settings(env) -> Settings:
    return load_settings(env | {"INTEGRITY_NAMESPACE": NAMESPACE})


@pytest.fixture(scope="module")
def originals(settings, ns_worker) -> dict[str, list[Frame]]:
    """Two short sessions on the default topics (a face, a second person, no face: evidence to score),
    answered by the default worker."""
    scenes = [("one_face", 5), ("two_faces", 5), ("face_absent", FRAMES - 10)]
    sessions = {name: timeline(name, scenes) for name in SESSIONS}
    starts: list[Record] = [
        (settings.topics.control, n, new_session_control(n, "start", f"cand-{n}")) for n in SESSIONS
    ]
    frames: list[Record] = [(settings.topics.frames, n, sessions[n][i]) for i in range(FRAMES) for n in SESSIONS]
    ends: list[Record] = [
        (settings.topics.control, n, new_session_control(n, "end", f"cand-{n}", last_sequence=FRAMES - 1))
        for n in SESSIONS
    ]
    publish(settings, starts + frames + ends)
    for name in SESSIONS:
        assert reports_of(settings, name, timeout_s=120), f"no final report of {name}"
    return sessions


def integrity(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def recording(env, originals, tmp_path_factory) -> Path:
    """``integrity record --frames`` of the two sessions, as a user runs it."""
    out = tmp_path_factory.mktemp("recordings") / "originals.avro"
    sessions = [arg for name in SESSIONS for arg in ("--session", name)]
    done = integrity(env, "record", "--out", str(out), "--frames", *sessions)
    assert "biometric data" in done.stderr
    assert done.stdout.startswith(f"recorded 2 sessions into {out} (frames): ")
    assert f"{2 * FRAMES} frame" in done.stdout and len(done.stdout.strip().splitlines()) == 1
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    return out


def _by_session(path: Path, prefix: str = "") -> dict[str, list[Recorded]]:
    _, records = read_recording(path)
    grouped: dict[str, list[Recorded]] = {}
    for recorded in records:
        grouped.setdefault(recorded["session_id"].removeprefix(prefix), []).append(recorded)
    return grouped


def test_a_recording_replayed_into_a_namespace_and_recorded_again_is_the_same(env, ns_worker, ns_settings, recording):
    ns_worker.wait_ready(180)
    done = integrity(
        env, "replay", str(recording), "--namespace", NAMESPACE, "--session-prefix", "rt-", "--as-fast-as-possible"
    )
    assert done.stdout.startswith(f"replayed 2 sessions from 1 recording into namespace {NAMESPACE}: ")
    assert "no worker serves" not in done.stderr
    for name in SESSIONS:
        assert reports_of(ns_settings, f"rt-{name}", timeout_s=120)
    assert not collect(ns_settings, ns_settings.topics.dead_letter, "DeadLetter", lambda _: True, 1, 2)
    again = recording.with_name("again.avro")
    sessions = [arg for name in SESSIONS for arg in ("--session", f"rt-{name}")]
    integrity(env, "record", "--namespace", NAMESPACE, "--frames", "--out", str(again), *sessions)

    before, after = _by_session(recording), _by_session(again, "rt-")
    assert set(before) == set(after) == set(SESSIONS)
    for name in SESSIONS:
        was, now = before[name], after[name]
        frames_was, frames_now = _of_kind(was, "frame"), _of_kind(now, "frame")
        assert [_sequence_and_image(f) for f in frames_now] == [_sequence_and_image(f) for f in frames_was]
        assert [cast(Frame, f["value"])["sequence"] for f in frames_was] == list(range(FRAMES))
        # Capture times and broker times moved by one offset: the session's timeline kept as recorded.
        moves = {
            (
                cast(Frame, n["value"])["captured_at_ms"] - cast(Frame, w["value"])["captured_at_ms"],
                n["timestamp_ms"] - w["timestamp_ms"],
            )
            for w, n in zip(frames_was, frames_now, strict=True)
        }
        assert len(moves) == 1 and len(set(moves.pop())) == 1
        assert len(_of_kind(now, "observation")) == len(_of_kind(was, "observation"))
        actions = [
            [cast(SessionControl, c["value"])["action"] for c in _of_kind(side, "control")] for side in (was, now)
        ]
        assert actions == [["start", "end"]] * 2


def _of_kind(records: list[Recorded], kind: str) -> list[Recorded]:
    return [r for r in records if kind_of(r) == kind]


def _sequence_and_image(recorded: Recorded) -> tuple[int, bytes]:
    return recorded["value"]["sequence"], recorded["value"]["image"]  # type: ignore[typeddict-item]


def _end_offsets(settings: Settings, outside_namespace: bool) -> dict[TopicPartition, int]:
    async def read() -> dict[TopicPartition, int]:
        consumer = AIOKafkaConsumer(group_id=None, **consumer_options(settings))
        await consumer.start()
        try:
            names = [t for t in await consumer.topics() if not t.startswith("__")]
            if outside_namespace:
                names = [t for t in names if not t.startswith((f"{NAMESPACE}.", f"integrity-{NAMESPACE}-"))]
            partitions = [TopicPartition(t, p) for t in names for p in consumer.partitions_for_topic(t) or ()]
            return dict(await consumer.end_offsets(partitions))
        finally:
            await consumer.stop()

    return asyncio.run(read())


def _sessions_view(worker: WorkerProcess) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/sessions/", timeout=5) as response:
        return json.load(response)


def test_a_replay_into_a_namespace_leaves_the_default_topics_and_tables_as_they_were(
    stack, settings, ns_worker, ns_settings, recording
):
    ns_worker.wait_ready(180)
    offsets, view = _end_offsets(settings, outside_namespace=True), _sessions_view(stack.worker)
    assert {row["session_id"] for row in view["sessions"]} >= set(SESSIONS)
    asyncio.run(replay(ns_settings, [recording], ReplayOptions(speed=None, session_prefix="iso-")))
    for name in SESSIONS:
        assert reports_of(ns_settings, f"iso-{name}", timeout_s=120)
    assert _end_offsets(settings, outside_namespace=True) == offsets
    assert _sessions_view(stack.worker) == view
    assert not collect(settings, settings.topics.results, "Result", lambda r: r["session_id"].startswith("iso-"), 1, 2)


def test_two_replays_of_one_recording_are_answered_alike(ns_worker, ns_settings, recording):
    ns_worker.wait_ready(180)
    for prefix in ("d1-", "d2-"):
        asyncio.run(replay(ns_settings, [recording], ReplayOptions(speed=None, session_prefix=prefix)))
    for name in SESSIONS:
        reports = [reports_of(ns_settings, f"{prefix}{name}", timeout_s=120)[0] for prefix in ("d1-", "d2-")]
        assert reports[0]["frames"] == FRAMES and reports[0]["peak_risk_score"] > 0
        assert [{k: r[k] for k in REPORTED} for r in reports] == [{k: reports[0][k] for k in REPORTED}] * 2
        answered = []
        for prefix in ("d1-", "d2-"):
            results = results_of(ns_settings, f"{prefix}{name}", FRAMES + 1)
            by_frame = {r["frame_sequence"]: {k: r[k] for k in ANSWERED} for r in results if not r["final"]}
            assert sorted(by_frame) == list(range(FRAMES))
            answered.append(by_frame)
        assert answered[0] == answered[1]


def test_observations_replayed_into_a_namespace_are_scored_as_they_were_live(
    settings, ns_worker, ns_settings, originals, tmp_path
):
    """The privacy-preserving recording (no image): its observations go to the namespace's events topic
    and the risk agent scores them again into the final reports the live sessions got."""
    ns_worker.wait_ready(180)
    summary = record(settings, tmp_path / "observations.avro", record_filter(SESSIONS))
    assert summary.content == "observations" and summary.kinds["frame"] == 0
    assert summary.kinds["observation"] == len(SESSIONS) * FRAMES
    asyncio.run(replay(ns_settings, [summary.path], ReplayOptions(speed=None, session_prefix="obs-")))
    for name in SESSIONS:
        live = reports_of(settings, name)[0]
        again = reports_of(ns_settings, f"obs-{name}", timeout_s=120)[0]
        assert {k: again[k] for k in REPORTED} == {k: live[k] for k in REPORTED}
