"""Three workers in one consumer group on a real broker, with sessions from a platform's own client
(confluent-kafka, librdkafka's default CRC32 partitioner, Apache ``avro``): one worker killed, one
stopped, workers added and removed under load. Every frame answered, a frame answered twice answered
alike, every session one final report equal to an uninterrupted run's, and the longest wait for a
Result measured (docs/SCALING.md has the figures)."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from schemas.records import Frame, now_ms
from streams.child_process import free_port
from streams.kafka.admin import ensure_topics
from streams.kafka.embedded_broker import EmbeddedBroker
from streams.settings import Settings, load_settings
from streams.stack.processes import WorkerProcess
from tests.helpers.frames import SHARED_WEIGHTS, frame_record
from tests.integration.test_crashes import assert_answered_once_as_uninterrupted, end_record, start_record
from tests.integration.test_outside_client import CONTROL, FRAME, encode

pytestmark = pytest.mark.integration

PARTITIONS = 6  # three workers, two partitions each
FPS = 2.0  # per session: six sessions at 2 frames/s is what two cores analyse without falling behind
SCENES = [("one_face", 16), ("face_absent", 16), ("one_face", 16), ("two_faces", 12), ("one_face", 16)]


@pytest.fixture(scope="module")
def broker(tmp_path_factory) -> Iterator[EmbeddedBroker]:
    folder = tmp_path_factory.mktemp("scale-out")
    port = free_port()
    with EmbeddedBroker("127.0.0.1", port, log_path=folder / "broker.log") as running:
        yield running


class Fleet:
    """Workers of one consumer group (its own namespace on the shared broker), started and stopped by index."""

    def __init__(self, broker: EmbeddedBroker, folder: Path, name: str, **env: str) -> None:
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "INTEGRITY_EMBEDDED_BROKER": "true",
            "INTEGRITY_NAMESPACE": name,
            "INTEGRITY_PARTITIONS": str(PARTITIONS),
            "INTEGRITY_YOLO_WEIGHTS": SHARED_WEIGHTS,
            "INTEGRITY_RISK_END_GRACE_S": "3",
            **env,
        }
        self.settings: Settings = load_settings(self.env)
        self.folder = folder
        self.workers: dict[int, WorkerProcess] = {}
        asyncio.run(ensure_topics(self.settings))

    def start(self, *indexes: int) -> None:
        for i in indexes:
            worker = WorkerProcess(
                self.env, free_port(), self.folder / f"worker-{i}", self.folder / f"worker-{i}.log"
            ).start()
            self.workers[i] = worker
        for i in indexes:
            self.workers[i].wait_ready(timeout_s=240)

    def stop(self, index: int, sig: int) -> float:
        """Stop worker ``index``; returns the seconds the stop took."""
        started = time.monotonic()
        self.workers.pop(index).stop(sig=sig, timeout_s=60)
        return time.monotonic() - started

    def assignments(self) -> dict[int, list[str]]:
        """Each running worker's input partitions of the frames topic, as its health says."""
        owned = {}
        for i, worker in self.workers.items():
            health = worker.health() or {}
            lags = health.get("input_lag_s", {})
            owned[i] = sorted(tp for tp in lags if tp.startswith(self.settings.topics.frames + "["))
        return owned

    def close(self) -> None:
        for worker in self.workers.values():
            worker.stop(sig=signal.SIGKILL)


@pytest.fixture
def fleet(broker, tmp_path, request) -> Iterator[Fleet]:
    # Each test its own namespace (topics, group): a name cut short must not make two tests share one.
    test, _, case = request.node.name.partition("[")
    name = f"{test.removeprefix('test_')[:40]}-{case.rstrip(']')}".strip("-").replace("_", "-")
    running = Fleet(broker, tmp_path, name, **getattr(request, "param", {}))
    try:
        yield running
    finally:
        running.close()


class Cameras:
    """Six sessions played live by confluent-kafka at ``FPS``, in a thread; remembers what it sent."""

    def __init__(self, settings: Settings, count: int = 6) -> None:
        self.settings = settings
        self.names = [f"s{i}" for i in range(count)]
        self.starts = {name: start_record(name) for name in self.names}
        self.frames: dict[str, list[Frame]] = {name: [] for name in self.names}
        self.producer = Producer({"bootstrap.servers": settings.broker.bootstrap_servers, "acks": "all"})
        self.thread = threading.Thread(target=self._play, daemon=True)

    def _send(self, topic: str, name: str, value: bytes) -> None:
        self.producer.produce(topic, key=name.encode(), value=value)

    def _play(self) -> None:
        topics = self.settings.topics
        for name in self.names:
            self._send(topics.control, name, encode(CONTROL, dict(self.starts[name])))
        scenes = [scene for scene, count in SCENES for _ in range(count)]
        started = time.monotonic()
        for sequence, scene in enumerate(scenes):
            time.sleep(max(0.0, started + sequence / FPS - time.monotonic()))
            for name in self.names:
                frame = frame_record(name, sequence, now_ms(), scene)
                self.frames[name].append(frame)
                self._send(topics.frames, name, encode(FRAME, dict(frame)))
            self.producer.poll(0)
        for name in self.names:
            self._send(topics.control, name, encode(CONTROL, dict(end_record(self.frames[name]))))
        assert self.producer.flush(30) == 0
        del self.producer  # librdkafka's threads go with it, before the broker does

    def start(self) -> Cameras:
        self.thread.start()
        return self

    def join(self) -> None:
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(count for _, count in SCENES) / FPS


def longest_wait_s(settings: Settings, cameras: Cameras, after: float) -> tuple[float, str]:
    """The longest wait between two consecutive Results of any session, among those around ``after``."""
    from tests.helpers.kafka import results_of

    worst, who = 0.0, ""
    for name, frames in cameras.frames.items():
        stamps = sorted(r["timestamp_ms"] / 1000 for r in results_of(settings, name, len(frames) + 1) if not r["final"])
        for a, b in itertools.pairwise(stamps):
            if b > after and b - a > worst:
                worst, who = b - a, name
    return worst, who


Seen = list[tuple[float, bool, bool, list[str]]]


def watch_health(worker: WorkerProcess, until: threading.Event, seen: Seen) -> None:
    """Poll a worker's readiness and liveness until told to stop: (when, ready, live, why not ready)."""
    while not until.is_set():
        try:
            with urllib.request.urlopen(f"{worker.url}/health/live/", timeout=2) as response:
                live = response.status == 200
        except (OSError, urllib.error.HTTPError):
            live = False
        health: dict[str, Any] = worker.health() or {}
        seen.append((time.time(), bool(health.get("ready")), live, list(health.get("not_ready_because", []))))
        time.sleep(0.1)


@pytest.mark.parametrize(
    "fleet",
    [{"INTEGRITY_STANDBY_REPLICAS": "1"}, {"INTEGRITY_STANDBY_REPLICAS": "0"}],
    ids=["standby-1", "standby-0"],
    indirect=True,
)
def test_a_killed_workers_sessions_resume_on_the_others(fleet):
    fleet.start(0, 1, 2)
    assert all(fleet.assignments().values()), fleet.assignments()
    cameras = Cameras(fleet.settings).start()
    time.sleep(cameras.seconds / 3)
    killed_at = time.time()
    fleet.stop(2, signal.SIGKILL)
    print(f"killed at {time.strftime('%H:%M:%S', time.localtime(killed_at))}.{int(killed_at % 1 * 1000):03d}")
    cameras.join()

    wait, who = longest_wait_s(fleet.settings, cameras, killed_at - 1)
    standby = fleet.settings.group.standby_replicas
    print(f"SIGKILL of 1 of 3 workers (standby replicas {standby}): longest wait for a Result {wait:.1f} s ({who})")
    assert wait <= 10
    # Frames were lost at a rebalance twice in CI before 2026-12-03 (docs/SCALING.md); after the two holes
    # closed that day, not in three CI runs nor in local runs: a loss fails again.
    assert_answered_once_as_uninterrupted(fleet.settings, cameras.starts, cameras.frames)


def test_a_stopped_worker_leaves_the_group_at_once(fleet):
    fleet.start(0, 1, 2)
    cameras = Cameras(fleet.settings).start()
    time.sleep(cameras.seconds / 3)
    stopping = time.time()
    took = fleet.stop(2, signal.SIGTERM)
    cameras.join()

    wait, who = longest_wait_s(fleet.settings, cameras, stopping)
    print(f"SIGTERM of 1 of 3 workers: stopped in {took:.1f} s; longest wait for a Result {wait:.1f} s ({who})")
    # It leaves at once (LeaveGroup; embedded_fixup's generation 0): measured 6.3-6.5 s, of which tansu holds
    # the rejoin 2 s and Faust's assignment takes ~1.4 s. Waiting for its session to time out instead took
    # 10.1 s (docs/SCALING.md).
    assert wait <= 8
    assert_answered_once_as_uninterrupted(fleet.settings, cameras.starts, cameras.frames)


def test_scale_one_to_three_to_one_under_load(fleet):
    fleet.start(0)
    seen: Seen = []
    done = threading.Event()
    watcher = threading.Thread(target=watch_health, args=(fleet.workers[0], done, seen), daemon=True)
    watcher.start()
    cameras = Cameras(fleet.settings).start()
    time.sleep(cameras.seconds / 4)
    grown = time.time()
    fleet.start(1, 2)
    owned = fleet.assignments()
    assert all(owned.values()) and sum(len(p) for p in owned.values()) == PARTITIONS, owned
    back_ready_s = time.time() - grown
    time.sleep(cameras.seconds / 4)
    shrunk = time.time()
    fleet.stop(2, signal.SIGTERM)
    fleet.stop(1, signal.SIGTERM)
    # Ready again with every partition: a readiness seen between the two leavers' rebalances is not it.
    deadline = time.monotonic() + 30
    while (
        not ((fleet.workers[0].health() or {}).get("ready") and len(fleet.assignments()[0]) == PARTITIONS)
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    ready_again_s = time.time() - shrunk
    cameras.join()
    # Lag from the rebalances (frames kept coming) is back under the readiness threshold within 30 s.
    while not (seen and seen[-1][1]) and time.time() - shrunk < 30:
        time.sleep(0.2)
    done.set()
    watcher.join()

    assert fleet.assignments()[0] and len(fleet.assignments()[0]) == PARTITIONS
    print(
        f"scale 1 -> 3: all ready {back_ready_s:.1f} s after the start; 3 -> 1: the last one ready again "
        f"{ready_again_s:.1f} s after the stops; longest wait for a Result "
        f"{longest_wait_s(fleet.settings, cameras, grown)[0]:.1f} s"
    )
    assert ready_again_s <= 30
    # Readiness went down while the group rebalanced or recovered, and came back; liveness never failed.
    not_ready = [reasons for at, ready, _, reasons in seen if not ready and at > grown]
    print(f"the first worker said not ready {len(not_ready)} times, e.g. {not_ready[:1]}")
    assert any("rebalancing" in " ".join(reasons) or "recovering" in " ".join(reasons) for reasons in not_ready)
    assert all(live for _, _, live, _ in seen), "liveness failed during the rebalances"
    assert seen[-1][1], f"not ready {time.time() - shrunk:.0f} s after the stops: {seen[-1][3]}"
    assert_answered_once_as_uninterrupted(fleet.settings, cameras.starts, cameras.frames)


def test_a_worker_refuses_topics_of_another_partition_count(fleet):
    env = {**fleet.env, "INTEGRITY_PARTITIONS": str(PARTITIONS - 2), "INTEGRITY_PROCESSES": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"INTEGRITY_PARTITIONS={PARTITIONS - 2} but" in done.stderr
    assert f"{fleet.settings.topics.frames} has {PARTITIONS}" in done.stderr and "docs/SCALING.md" in done.stderr


def test_processes_n_supervises_n_workers(fleet, tmp_path):
    port = free_port()
    env = {**fleet.env, "INTEGRITY_WEB_PORT": str(port), "INTEGRITY_DATA_DIR": str(tmp_path / "box")}
    log_path = tmp_path / "supervisor.log"
    with log_path.open("wb") as log:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker", "--processes", "2"], env=env, stdout=log, stderr=log
        )
    children = [
        WorkerProcess(env, port + i, tmp_path / "box" / f"process-{i}", tmp_path / "unused.log") for i in (0, 1)
    ]

    def pids_of_process_1() -> list[int]:
        return [int(pid) for pid in re.findall(r"process 1 started \(pid (\d+)", log_path.read_text())]

    try:
        for child in children:
            child.process = supervisor  # readiness from each child's own port; "exited early": the supervisor
            child.wait_ready(timeout_s=240)
        assert (tmp_path / "box" / "process-1").is_dir()
        # A child that dies is started again; the other goes on.
        [first] = pids_of_process_1()
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while len(pids_of_process_1()) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        children[1].wait_ready(timeout_s=180)
        assert children[0].health() is not None
        # SIGTERM to the supervisor stops every child cleanly.
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=90) == 0
        assert all(child.health() is None for child in children)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    text = log_path.read_text()
    assert "process 1 exited with status -9" in text and "restarting in 1 s" in text, text[-3000:]
    assert len(pids_of_process_1()) == 2 and "stopped 2 process(es) on signal 15" in text, text[-3000:]
