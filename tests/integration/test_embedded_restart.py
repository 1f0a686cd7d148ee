"""The embedded broker is memory-only: a worker must survive a broker restart without manual cleanup."""

from __future__ import annotations

import asyncio

import pytest

from streams.admin import ensure_topics
from streams.broker import EmbeddedBroker, free_port
from streams.config import load_settings
from streams.embedded_broker_fixes import broker_run_id
from streams.worker_process import WorkerProcess
from tests.integration.conftest import publish, results_of, timeline

pytestmark = pytest.mark.integration


def _run(tmp_path, data_dir, name: str) -> list[dict]:
    with EmbeddedBroker("127.0.0.1", free_port(), log_path=tmp_path / f"{name}-broker.log") as broker:
        settings = load_settings(
            {"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers, "INTEGRITY_EMBEDDED_BROKER": "1"}
        )
        asyncio.run(ensure_topics(settings))
        worker = WorkerProcess(
            WorkerProcess.child_env(broker.bootstrap_servers, INTEGRITY_EMBEDDED_BROKER="1", INTEGRITY_YOLO_WEIGHTS=""),
            web_port=free_port(),
            data_dir=data_dir,
            log_path=tmp_path / f"{name}-worker.log",
        )
        worker.start()
        try:
            worker.wait_ready(timeout_s=180)
            frames = timeline(name, [("one_face", 3), ("face_absent", 12)])
            publish(settings, [(settings.topics.frames, name, f) for f in frames])
            return results_of(settings, name, len(frames))
        finally:
            worker.stop()


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
            first = asyncio.run(broker_run_id(broker.bootstrap_servers))
            assert asyncio.run(broker_run_id(broker.bootstrap_servers)) == first
            ids.append(first)
    assert ids[0] != ids[1]
