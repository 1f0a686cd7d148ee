"""A real tansu broker process on a free 127.0.0.1 port and a real worker process, for the whole module."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from aiokafka import AIOKafkaConsumer

from producers.publisher import FramePublisher
from schemas import codec_for
from streams.admin import ensure_topics
from streams.broker import EmbeddedBroker, free_port
from streams.config import Settings, load_settings
from streams.risk.policy import POLICY_DIR
from streams.worker_process import WorkerProcess
from tests.photos import SHARED_WEIGHTS, frame_record


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    with EmbeddedBroker("127.0.0.1", free_port(), log_path=log) as running:
        yield running


@pytest.fixture(scope="module")
def settings(broker) -> Settings:
    settings = load_settings({"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers, "INTEGRITY_EMBEDDED_BROKER": "1"})
    asyncio.run(ensure_topics(settings))
    return settings


def _test_policies(folder: Path) -> Path:
    """The repository's policies, plus "quick": the default with a 3 s idle timeout, for expiry tests."""
    policies = folder / "policies"
    shutil.copytree(POLICY_DIR, policies)
    quick = yaml.safe_load((POLICY_DIR / "default.yaml").read_text()) | {"name": "quick", "idle_timeout_s": 3.0}
    (policies / "quick.yaml").write_text(yaml.safe_dump(quick))
    return policies


@pytest.fixture(scope="module")
def worker(broker, settings, tmp_path_factory):
    folder: Path = tmp_path_factory.mktemp("worker")
    process = WorkerProcess(
        WorkerProcess.child_env(
            broker.bootstrap_servers,
            INTEGRITY_EMBEDDED_BROKER="1",
            INTEGRITY_YOLO_WEIGHTS=SHARED_WEIGHTS,
            INTEGRITY_RISK_POLICY_DIR=str(_test_policies(folder)),
            INTEGRITY_RISK_EXPIRY_CHECK_S="1",
            INTEGRITY_RISK_END_GRACE_S="3",
        ),
        web_port=free_port(),
        data_dir=folder / "data",
        log_path=folder / "worker.log",
    )
    process.start()
    try:
        process.wait_ready(timeout_s=180)
        yield process
    finally:
        process.stop()


def publish(settings: Settings, records: list[tuple[str, str, bytes | dict]]) -> None:
    """Send (topic, session id, Frame dict / control dict / raw bytes) in order, each acknowledged."""

    async def send() -> None:
        async with FramePublisher(settings) as publisher:
            for topic, session_id, value in records:
                if isinstance(value, dict) and "action" in value:
                    await publisher.send_control(
                        session_id,
                        value["action"],
                        value.get("candidate_id", ""),
                        policy=value.get("policy", "default"),
                        last_sequence=value.get("last_sequence"),
                    )
                elif isinstance(value, dict):
                    await publisher.send_frame(value)
                else:
                    await publisher.send_raw(topic, session_id, value)

    asyncio.run(send())


def collect(
    settings: Settings,
    topic: str,
    record: str,
    want: Callable[[dict], bool],
    count: int,
    timeout_s: float = 90.0,
) -> list[dict]:
    """Read ``topic`` from the start until ``count`` decoded records match ``want`` (or time out)."""

    async def read() -> list[dict]:
        codec = codec_for(record)
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=settings.broker.bootstrap_servers, group_id=None, auto_offset_reset="earliest"
        )
        await consumer.start()
        found: list[dict] = []
        deadline = time.monotonic() + timeout_s
        try:
            while len(found) < count and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                for messages in batches.values():
                    for message in messages:
                        value = codec.decode(message.value)
                        if want(value):
                            found.append(value)
        finally:
            await consumer.stop()
        return found

    return asyncio.run(read())


INTERVAL_MS = 200  # 5 frames per second of capture time


def timeline(
    session_id: str, scenes: list[tuple[str, int]], first_sequence: int = 0, start_ms: int = 1_800_000_000_000
) -> list[dict]:
    """Frames of real photos ("one_face", "face_absent", "two_faces"), ``count`` of each, 5 per second."""
    frames, sequence = [], first_sequence
    for scene, count in scenes:
        for _ in range(count):
            frames.append(frame_record(session_id, sequence, start_ms + sequence * INTERVAL_MS, scene))
            sequence += 1
    return frames


def results_of(settings: Settings, session_id: str, count: int, timeout_s: float = 120) -> list[dict]:
    """The session's Results, in order, once ``count`` have arrived."""
    return collect(
        settings, settings.topics.results, "Result", lambda r: r["session_id"] == session_id, count, timeout_s
    )
