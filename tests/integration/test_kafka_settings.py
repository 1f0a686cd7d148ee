"""The Kafka settings on a real broker and worker: a password never reaches a log, an output or a file,
and the frames topic is created with its short retention.

The embedded broker speaks PLAINTEXT only (tansu 0.6.0: SECURITY.md), so the worker runs with a SASL
user name and password set but unused, as a worker whose protocol is misconfigured would: the settings
accept them with a warning, and no trace of the password may be left anywhere. The options built for
SASL and TLS are checked in tests/unit/test_kafka_security.py.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.kafka.clients import admin_options
from streams.settings import Settings
from streams.stack.local import LocalStack
from tests.helpers.frames import timeline
from tests.helpers.kafka import publish, results_of

pytestmark = pytest.mark.integration

PASSWORD = f"never-logged-{secrets.token_hex(12)}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("kafka-settings")
    worker_env = {
        "KAFKA_SASL_USERNAME": "integrity-worker",
        "KAFKA_SASL_PASSWORD": PASSWORD,
        "INTEGRITY_YOLO_WEIGHTS": "",  # objects off: a faster start, and nothing here needs them
        # Everything the worker and its libraries say, aiokafka's requests included.
        "INTEGRITY_LOG_LEVEL": "debug",
    }
    with LocalStack(workdir, worker_env=worker_env) as running:
        yield running


def _topic_configs(settings: Settings, names: list[str]) -> dict[str, dict[str, str]]:
    async def describe() -> dict[str, dict[str, str]]:
        admin = AIOKafkaAdminClient(**admin_options(settings))
        await admin.start()
        try:
            resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
            responses = await admin.describe_configs(resources)
        finally:
            await admin.close()
        return {
            resource[3]: {entry[0]: entry[1] for entry in resource[4]}  # name: {config name: value}
            for response in responses
            for resource in response.resources
        }

    return asyncio.run(describe())


def test_the_frames_topic_keeps_frames_for_an_hour(stack):
    topics = stack.settings.topics
    configs = _topic_configs(stack.settings, [topics.frames, topics.results, topics.dead_letter])
    assert configs[topics.frames].get("retention.ms") == "3600000"
    assert "retention.ms" not in configs[topics.results] and "retention.ms" not in configs[topics.dead_letter]


def test_a_password_is_never_logged_printed_or_written(stack):
    settings, worker = stack.settings, stack.worker
    frames = timeline("secret-1", [("one_face", 5), ("face_absent", 5)])
    publish(settings, [(settings.topics.frames, "secret-1", frame) for frame in frames])
    assert len(results_of(settings, "secret-1", len(frames))) == len(frames)

    shown = subprocess.run(
        [sys.executable, "-m", "streams.cli", "settings"],
        env=worker.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    password_line = next(line for line in shown.stdout.splitlines() if line.startswith("KAFKA_SASL_PASSWORD "))
    assert password_line.split(maxsplit=1)[1] == "***  (set)"
    outputs = {"integrity settings": shown.stdout + shown.stderr}
    for path in ("/health/", "/sessions/", "/sessions/secret-1/"):
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}{path}", timeout=5) as response:
            outputs[path] = response.read().decode()

    stack.stop()  # the logs and the RocksDB folder, complete
    log = worker.log_path.read_text()
    assert log.count("KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD set but unused") == 1  # one warning, no value
    assert "Request to 127.0.0.1" in log  # aiokafka's debug lines are there to be searched
    assert [name for name, text in outputs.items() if PASSWORD in text] == []
    files = [path for path in Path(stack.workdir).rglob("*") if path.is_file()]
    assert worker.log_path in files and any(path.is_relative_to(worker.data_dir) for path in files)
    assert [str(path) for path in files if PASSWORD.encode() in path.read_bytes()] == []
