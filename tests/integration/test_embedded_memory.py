"""The embedded broker keeps every record in memory: past its limit it is stopped, saying why."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest
from aiokafka import AIOKafkaProducer

from streams.child_process import free_port
from streams.kafka.embedded_broker import EmbeddedBroker, resident_mb, wait_for_port

pytestmark = pytest.mark.integration


async def _fill(bootstrap: str, megabytes: int) -> None:
    """Send ``megabytes`` of 256 KiB records; stops quietly when the broker goes away."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=1 << 20, request_timeout_ms=5000)
    await producer.start()
    try:
        for i in range(megabytes * 4):
            await producer.send_and_wait("filler", os.urandom(256 * 1024), key=str(i).encode())
    except Exception:
        pass  # the broker was stopped under us: what the test waits for
    finally:
        await asyncio.wait_for(producer.stop(), 10)


def test_the_broker_is_stopped_at_its_memory_limit_and_says_why(caplog):
    probe = EmbeddedBroker("127.0.0.1", free_port()).start()
    assert probe.process is not None
    idle_mb = resident_mb(probe.process.pid)
    probe.stop()
    assert idle_mb is not None

    limit = idle_mb + 40
    broker = EmbeddedBroker("127.0.0.1", free_port(), max_memory_mb=limit, check_every_s=0.2).start()
    try:
        asyncio.run(_fill(broker.bootstrap_servers, 200))
        assert broker.process is not None
        broker.process.wait(timeout=30)
        assert broker.stopped_because is not None
        assert f"INTEGRITY_EMBEDDED_BROKER_MAX_MB={limit:g}" in broker.stopped_because
        assert "real Kafka" in caplog.text
    finally:
        broker.stop()


def test_integrity_broker_exits_with_one_clear_line_at_its_limit(tmp_path):
    port = free_port()
    env = {**os.environ, "HOME": str(tmp_path), "INTEGRITY_EMBEDDED_BROKER_MAX_MB": "120"}
    command = [sys.executable, "-m", "streams.cli", "broker", "--listen", f"127.0.0.1:{port}"]
    broker = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port("127.0.0.1", port, 30)
        time.sleep(1)
        asyncio.run(_fill(f"127.0.0.1:{port}", 300))
        out, err = broker.communicate(timeout=60)
    finally:
        broker.kill()
    assert broker.returncode == 1
    assert "stopped at 120 MiB" in out  # said when it started
    assert "INTEGRITY_EMBEDDED_BROKER_MAX_MB=120" in err and "real Kafka" in err
