"""The embedded broker is memory-only: a worker must survive a broker restart without manual cleanup."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import cast

import pytest

from schemas.records import Result
from streams.child_process import free_port
from streams.kafka.embedded_broker import EmbeddedBroker
from streams.kafka.embedded_fixup import EmbeddedBrokerFixup
from streams.settings import BrokerSettings
from streams.stack.local import LocalStack
from tests.helpers.frames import timeline
from tests.helpers.kafka import publish, results_of

pytestmark = pytest.mark.integration


def _run(tmp_path, data_dir, name: str) -> list[Result]:
    with LocalStack(tmp_path / name, data_dir=data_dir, worker_env={"INTEGRITY_YOLO_WEIGHTS": ""}) as stack:
        frames = timeline(name, [("one_face", 3), ("face_absent", 12)])
        publish(stack.settings, [(stack.settings.topics.frames, name, f) for f in frames])
        return results_of(stack.settings, name, len(frames))


def test_a_worker_comes_back_after_the_embedded_broker_restarted(tmp_path):
    data_dir = tmp_path / "worker"
    first = _run(tmp_path, data_dir, "before")
    assert len(first) == 15
    second = _run(tmp_path, data_dir, "after")  # a new, empty broker; the same RocksDB folder
    assert [r["frame_sequence"] for r in second] == list(range(15))


def test_each_broker_run_has_its_own_id(tmp_path):
    ids = []
    for _ in range(2):
        with EmbeddedBroker("127.0.0.1", free_port()) as broker:
            fixup = EmbeddedBrokerFixup(BrokerSettings(broker.bootstrap_servers, embedded_broker=True))
            first = asyncio.run(fixup.broker_run_id())
            assert asyncio.run(fixup.broker_run_id()) == first
            ids.append(first)
    assert ids[0] != ids[1]


def test_readiness_follows_the_broker_and_liveness_does_not(tmp_path):
    with LocalStack(
        tmp_path / "stack", worker_env={"INTEGRITY_YOLO_WEIGHTS": "", "INTEGRITY_BROKER_PROBE_S": "1"}
    ) as stack:
        assert cast(dict, stack.worker.health())["ready"] is True
        stack.broker.stop()
        deadline = time.monotonic() + 30
        while (health := stack.worker.health() or {}).get("ready", True) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert health["ready"] is False
        assert any(reason.startswith("broker unreachable") for reason in health["not_ready_because"])
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.worker.web_port}/health/live/", timeout=5) as response:
            assert json.load(response) == {"live": True}


def test_a_worker_whose_embedded_broker_restarts_stops_with_one_clear_line(tmp_path):
    with LocalStack(tmp_path / "stack", worker_env={"INTEGRITY_YOLO_WEIGHTS": ""}) as stack:
        before = timeline("rs-before", [("one_face", 5)])
        publish(stack.settings, [(stack.settings.topics.frames, "rs-before", f) for f in before])
        assert len(results_of(stack.settings, "rs-before", 5)) == 5
        assert stack.worker.process is not None

        stack.broker.stop()
        stack.broker.start()  # a new, empty broker on the same port
        assert stack.worker.process.wait(timeout=120) == 3
        lines = stack.worker.log_path.read_text().splitlines()
        assert lines[-1].startswith("integrity: the embedded broker restarted; it keeps its topics in memory")
