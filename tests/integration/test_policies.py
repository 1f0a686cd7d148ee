"""Policies without restarts, on a real broker with two workers (one partition each): a version published with
`integrity policy publish` judges the sessions started after it on either worker, while a session started
before keeps its version; invalid policies are refused with the reason (the command's exit status, the
workers' logs, one dead letter each) and the good one still applies; `integrity policy list` says it all."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from aiokafka import AIOKafkaProducer

from streams.child_process import free_port
from streams.kafka.admin import ensure_topics
from streams.kafka.clients import producer_options
from streams.kafka.embedded_broker import EmbeddedBroker
from streams.kafka.partitioning import partition_of
from streams.risk.policy import POLICY_DIR
from streams.settings import Settings, load_settings
from streams.stack.processes import GatewayProcess, WorkerProcess
from tests.helpers.frames import timeline
from tests.helpers.kafka import collect, control, publish, reports_of, results_of

pytestmark = pytest.mark.integration

PARTITIONS = 2  # two workers, one partition each
FRAMES = 6


class TwoWorkers:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        port = free_port()
        self.broker = EmbeddedBroker("127.0.0.1", port, log_path=folder / "broker.log")
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
            "INTEGRITY_EMBEDDED_BROKER": "true",
            "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
            "INTEGRITY_NAMESPACE": "policies",
            "INTEGRITY_PARTITIONS": str(PARTITIONS),
            "INTEGRITY_RISK_END_GRACE_S": "3",
            # Objects play no part here: the workers start and analyse faster without YOLO.
            "INTEGRITY_YOLO_WEIGHTS": "",
        }
        self.settings: Settings = load_settings(self.env)
        self.workers = [
            WorkerProcess(self.env, free_port(), folder / f"worker-{i}", folder / f"worker-{i}.log") for i in (0, 1)
        ]

    def start(self) -> TwoWorkers:
        self.broker.start()
        asyncio.run(ensure_topics(self.settings))
        for worker in self.workers:
            worker.start()
        for worker in self.workers:
            worker.wait_ready(timeout_s=300)
        return self

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.broker.stop()

    def frames_partitions(self) -> list[list[str]]:
        """Each worker's partitions of the frames topic, as its health says."""
        owned = []
        for worker in self.workers:
            lags = (worker.health() or {}).get("input_lag_s", {})
            owned.append(sorted(tp for tp in lags if tp.startswith(self.settings.topics.frames + "[")))
        return owned

    def integrity(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "streams.cli", *args], env=self.env, capture_output=True, text=True, timeout=120
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[TwoWorkers]:
    running = TwoWorkers(tmp_path_factory.mktemp("policies"))
    try:
        yield running.start()
    finally:
        running.stop()


def session_on(partition: int, prefix: str) -> str:
    """A session id whose records live on ``partition``."""
    names = (f"{prefix}-{i}" for i in range(1000))
    return next(name for name in names if partition_of(name.encode(), PARTITIONS) == partition)


def interview(version: int, **changes: object) -> str:
    data = yaml.safe_load((POLICY_DIR / "interview.yaml").read_text()) | {"version": version, **changes}
    return f"# {data['name']}, version {version}: a test's\n{yaml.safe_dump(data)}"


def send_raw_policy(settings: Settings, key: str, text: str) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(**producer_options(settings))
        await producer.start()
        try:
            await producer.send_and_wait(settings.topics.policies, key=key.encode(), value=text.encode(), partition=0)
        finally:
            await producer.stop()

    asyncio.run(send())


def play(settings: Settings, session_id: str, *, policy: str | None, first: int = 0, end: bool = True) -> None:
    records = [control(settings, session_id, "start", policy=policy)] if policy is not None else []
    frames = timeline(session_id, [("one_face", FRAMES)], first)
    records += [(settings.topics.frames, session_id, frame) for frame in frames]
    if end:
        records.append(control(settings, session_id, "end", last_sequence=frames[-1]["sequence"]))
    publish(settings, records)


def policies_of(settings: Settings, session_id: str, frames: int) -> set[str]:
    results = results_of(settings, session_id, frames + 1)
    assert len(results) == frames + 1 and results[-1]["final"], results[-1:]
    return {result["policy"] for result in results}


def test_a_published_policy_reaches_both_workers_and_started_sessions_keep_theirs(stack, tmp_path):
    settings = stack.settings
    owned = stack.frames_partitions()
    assert sorted(owned) == [[f"{settings.topics.frames}[0]"], [f"{settings.topics.frames}[1]"]], owned

    # A session started before: interview@2, from the policy files.
    before = session_on(0, "before")
    play(settings, before, policy="interview", end=False)
    assert {r["policy"] for r in results_of(settings, before, FRAMES)} == {"interview@2"}

    # Version 3 published, while both workers run.
    path = tmp_path / "interview-3.yaml"
    path.write_text(interview(3, flagged_at=45.0))
    done = stack.integrity("policy", "publish", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"interview@3 published to {settings.topics.policies}[0]@"), done.stdout
    again = stack.integrity("policy", "publish", str(path))
    assert again.returncode == 0 and "already published" in again.stdout, again.stdout + again.stderr

    # New sessions on either worker's partition get it; the one started before keeps interview@2.
    after = [session_on(partition, "after") for partition in (0, 1)]
    for session in after:
        play(settings, session, policy="interview")
    play(settings, before, policy=None, first=FRAMES)
    for session in after:
        assert policies_of(settings, session, FRAMES) == {"interview@3"}
        assert reports_of(settings, session)[0]["policy"] == "interview@3"
    assert policies_of(settings, before, 2 * FRAMES) == {"interview@2"}
    assert reports_of(settings, before)[0]["policy"] == "interview@2"

    # An invalid policy: the command refuses it with the reason and sends nothing.
    bad = tmp_path / "interview-4.yaml"
    bad.write_text(interview(4, review_at=80.0))
    refused = stack.integrity("policy", "publish", str(bad))
    assert refused.returncode == 2 and "review_at (80.0) is above flagged_at" in refused.stderr, refused.stderr
    changed = tmp_path / "interview-3-changed.yaml"
    changed.write_text(interview(3, flagged_at=40.0))
    refused = stack.integrity("policy", "publish", str(changed))
    assert refused.returncode == 2 and "interview@3 is known with other content" in refused.stderr, refused.stderr

    # ... and when another producer sends them anyway, the workers refuse them: logged by each, one dead
    # letter each with the reason; interview@3 still applies.
    send_raw_policy(settings, "interview@4", interview(4, review_at=80.0))
    send_raw_policy(settings, "interview@3", interview(3, flagged_at=40.0))
    letters = collect(
        settings, settings.topics.dead_letter, "DeadLetter", lambda d: d["stage"] == "policies", 2, timeout_s=60
    )
    reasons = sorted(letter["reason"] for letter in letters)
    assert len(reasons) == 2, reasons
    assert reasons[0].startswith("invalid policy 'interview@4': review_at (80.0) is above flagged_at"), reasons
    assert reasons[1].startswith("policy version conflict: interview@3 is known with other content"), reasons
    assert {letter["source_topic"] for letter in letters} == {settings.topics.policies}
    deadline = time.monotonic() + 30
    while not all(worker.log().count("refused the policy at") >= 2 for worker in stack.workers):
        assert time.monotonic() < deadline, [worker.log()[-2000:] for worker in stack.workers]
        time.sleep(0.5)

    later = [session_on(partition, "later") for partition in (0, 1)]
    for session in later:
        play(settings, session, policy="interview")
    for session in later:
        assert reports_of(settings, session)[0]["policy"] == "interview@3"

    listed = stack.integrity("policy", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["name", "version", "published", "offset", "status"]
    assert lines[1].split()[:2] == ["interview", "3"] and lines[1].endswith("newest"), lines
    assert "refused: invalid policy 'interview@4': review_at (80.0)" in lines[2], lines
    assert "refused: policy version conflict: interview@3" in lines[3], lines


def test_the_gateway_takes_a_policy_published_after_it_started(stack, tmp_path):
    settings = stack.settings
    with (
        GatewayProcess(stack.env, tmp_path / "gateway.log") as gateway,
        httpx.Client(base_url=gateway.url, timeout=30) as http,
    ):
        refused = http.post("/sessions", json={"policy": "house"})
        assert refused.status_code == 422 and "unknown policy 'house'" in refused.text, refused.text
        path = tmp_path / "house.yaml"
        path.write_text(interview(1, name="house"))
        done = stack.integrity("policy", "publish", str(path))
        assert done.returncode == 0, done.stderr
        started = http.post("/sessions", json={"policy": "house"})
        assert started.status_code == 201, started.text
        session = started.json()["session_id"]
        assert started.json()["policy"] == "house"
    play(settings, session, policy=None)  # its frames and end; the gateway's start named the policy
    assert reports_of(settings, session)[0]["policy"] == "house@1"
