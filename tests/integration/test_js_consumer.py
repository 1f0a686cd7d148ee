"""The Node consumer (clients/js/consumer: kafkajs and avsc) against a real broker and worker.

A session's Results and FinalReport, then Results and a report written with earlier schema versions and
one record whose fingerprint nobody knows: ``read-results.mjs`` prints every decodable record, equal in
every field to what our Python codec decodes from the same bytes, and names the unknown one on stderr."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fastavro
import pytest
from aiokafka import AIOKafkaConsumer
from fastavro.schema import parse_schema

from schemas import HISTORY_DIR, RecordDecodeError, codec_for, schema_fingerprint
from schemas.records import FinalReport, Result
from streams.kafka.clients import consumer_options
from streams.settings import Settings
from tests.helpers.frames import timeline
from tests.helpers.kafka import Record, control, publish, reports_of, results_of

pytestmark = pytest.mark.integration

CONSUMER = Path(__file__).resolve().parents[2] / "clients" / "js" / "consumer"
SESSION = "js-consumer-1"
OLD = "js-consumer-old"  # the key of the records written with earlier schemas (and the unknown one)
UNKNOWN = bytes.fromhex("0123456789abcdef")


@pytest.fixture(scope="module")
def installed(node: str) -> Path:
    """The consumer's npm packages: `make setup` installs them; a checkout without them gets `npm ci`."""
    dependencies = json.loads((CONSUMER / "package.json").read_text())["dependencies"]
    if not all((CONSUMER / "node_modules" / name / "package.json").is_file() for name in dependencies):
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("no npm (Node.js 20+ with npm): apt-get install -y npm")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=CONSUMER, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
    return CONSUMER


def _encode_with(writer: Any, record: Mapping[str, Any]) -> bytes:
    """``record`` as a worker running an earlier release wrote it: that version's fields, its fingerprint."""
    fields = {field["name"] for field in writer["fields"]}
    out = io.BytesIO()
    out.write(b"\xc3\x01" + schema_fingerprint(writer))
    fastavro.schemaless_writer(out, writer, {k: v for k, v in record.items() if k in fields})
    return out.getvalue()


def _earlier_versions(settings: Settings, result: Result, report: FinalReport) -> list[Record]:
    """The session's first Result and its report, re-keyed to OLD and written with each history schema;
    first a Result carrying a fingerprint no schema has."""
    current = codec_for("Result").encode({**result, "session_id": OLD})
    records: list[Record] = [(settings.topics.results, OLD, current[:2] + UNKNOWN + current[10:])]
    for name, topic, record in (
        ("Result", settings.topics.results, result),
        ("FinalReport", settings.topics.reports, report),
    ):
        for path in sorted(HISTORY_DIR.glob(f"integrity.{name}.*.avsc")):
            writer = parse_schema(json.loads(path.read_text()), named_schemas={})
            records.append((topic, OLD, _encode_with(writer, {**record, "session_id": OLD})))
    return records


async def _raw(settings: Settings, topics: list[str], count: int, timeout_s: float = 60) -> list[Any]:
    """Every record of ``topics`` as bytes, once ``count`` have come and then nothing more for a second."""
    consumer = AIOKafkaConsumer(
        *topics, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest", **consumer_options(settings)
    )
    await consumer.start()
    found: list[Any] = []
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            if not batches and len(found) >= count:
                break
            found += [message for messages in batches.values() for message in messages]
    finally:
        await consumer.stop()
    return found


def test_node_reads_what_python_reads(node, installed, settings, worker):
    topics = {settings.topics.results: "Result", settings.topics.reports: "FinalReport"}
    frames = timeline(SESSION, [("one_face", 8), ("face_absent", 12), ("one_face", 5)])
    publish(
        settings,
        [
            control(settings, SESSION, "start"),
            *((settings.topics.frames, SESSION, frame) for frame in frames),
            control(settings, SESSION, "end", last_sequence=len(frames) - 1),
        ],
    )
    results = results_of(settings, SESSION, len(frames) + 1)
    reports = reports_of(settings, SESSION)
    assert results[-1]["final"] and len(reports) == 1
    earlier = _earlier_versions(settings, results[0], reports[0])
    publish(settings, earlier)

    # What our Python codec decodes from every record on the two topics, by where it is.
    raw = asyncio.run(_raw(settings, list(topics), len(results) + len(reports) + len(earlier)))
    python: dict[tuple[str, int, int], tuple[str, Any]] = {}
    refused = []
    for message in raw:
        try:
            value = codec_for(topics[message.topic]).decode(message.value)
        except RecordDecodeError as exc:
            refused.append(str(exc))
            continue
        python[(message.topic, message.partition, message.offset)] = (message.key.decode(), value)
    assert len(refused) == 1 and UNKNOWN.hex() in refused[0]

    brokers = settings.broker.bootstrap_servers
    command = [node, "read-results.mjs", "--brokers", brokers, "--from-beginning", "--max", str(len(python))]
    command += [arg for topic in topics for arg in ("--topic", topic)]
    try:
        done = subprocess.run(command, cwd=installed, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as exc:  # it waits for --max records: some never came
        out, err = (x.decode() if isinstance(x, bytes) else x or "" for x in (exc.stdout, exc.stderr))
        pytest.fail(f"read-results.mjs printed {len(out.splitlines())} of {len(python)} records in 120 s: {err}")
    assert done.returncode == 0, done.stderr

    printed = [json.loads(line) for line in done.stdout.splitlines()]
    by_place = {(line["topic"], line["partition"], int(line["offset"])): line for line in printed}
    assert len(by_place) == len(printed) == len(python)
    assert by_place.keys() == python.keys()
    for place, (key, value) in python.items():
        line = by_place[place]
        assert line["key"] == key and line["record"] == topics[place[0]]
        assert line["value"] == json.loads(json.dumps(value)), place  # every field, as JSON carries it
    # The unknown fingerprint is named on stderr, and the records after it (same partition) were read.
    assert f"schema fingerprint {UNKNOWN.hex()} is not a known version" in done.stderr

    # The session as a platform reads it: every frame's Result in order, the final one, the report.
    session = [
        line["value"] for line in sorted(printed, key=lambda line: int(line["offset"])) if line["key"] == SESSION
    ]
    node_results = [value for value in session if "frame_sequence" in value]
    assert [r["frame_sequence"] for r in node_results] == [*range(len(frames)), -1]
    assert [(r["verdict"], r["risk_score"]) for r in node_results] == [(r["verdict"], r["risk_score"]) for r in results]
    [node_report] = [value for value in session if "frame_sequence" not in value]
    assert node_report == json.loads(json.dumps(reports[0]))
    assert node_report["frames"] == len(frames) and node_report["reason"] == "ended"

    # Earlier versions: each writer named, the fields it lacked at their defaults.
    old = {line["fingerprint"]: line["value"] for line in printed if line["key"] == OLD}
    written = {path.name.split(".")[2] for name in topics.values() for path in HISTORY_DIR.glob(f"integrity.{name}.*")}
    assert set(old) == written
    assert old["cd600d63a2fc18e4"]["policy"] == "" and old["cd600d63a2fc18e4"]["unassessable_s"] == 0.0
    assert old["8dbdaaec46b15ba3"]["quality_s"] == {} and old["8dbdaaec46b15ba3"]["frames"] == len(frames)


def test_the_unit_tests_of_the_consumer(node, installed):
    # Its own tests (Python-written bytes of every schema version) run with Node's test runner.
    done = subprocess.run([node, "--test", "test/"], cwd=installed, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout and "# pass 0" not in done.stdout
