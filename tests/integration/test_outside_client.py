"""A platform written outside the project: confluent-kafka (librdkafka) and Apache ``avro`` only, no
project code on the wire, with both of librdkafka's partitioners. Start -> frames -> end -> every Result
and one final report; the session exists once, on one partition, whatever the producer's partitioner.

The images come from the test helpers (data, not protocol); everything a platform does (schemas,
single-object encoding, keys, partitioning, reading Results and reports) is done here by hand."""

from __future__ import annotations

import io
import json
import time
import urllib.request
import zlib
from pathlib import Path
from typing import cast

import avro.io
import avro.schema
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from tests.helpers.frames import webcam_jpeg

pytestmark = pytest.mark.integration

PUBLISHED = Path(__file__).resolve().parents[2] / "schemas" / "published"


def _schema(name: str) -> avro.schema.Schema:
    return avro.schema.parse((PUBLISHED / f"integrity.{name}.avsc").read_text())


FRAME, CONTROL, RESULT, REPORT = (_schema(n) for n in ("Frame", "SessionControl", "Result", "FinalReport"))


def encode(schema: avro.schema.Schema, record: dict) -> bytes:
    """Avro single-object encoding: C3 01, the schema's CRC-64-AVRO fingerprint (little-endian), the body."""
    out = io.BytesIO()
    out.write(b"\xc3\x01" + schema.fingerprint("CRC-64-AVRO"))
    avro.io.DatumWriter(schema).write(record, avro.io.BinaryEncoder(out))
    return out.getvalue()


def decode(schema: avro.schema.Schema, data: bytes) -> dict:
    assert data[:2] == b"\xc3\x01" and data[2:10] == schema.fingerprint("CRC-64-AVRO")
    return cast(dict, avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(data[10:]))))


def _murmur2_partition(key: bytes, partitions: int) -> int:
    """Kafka's default (Java) partitioner, written out: murmur2 of the key, positive, modulo."""
    seed, m, r = 0x9747B28C, 0x5BD1E995, 24
    length = len(key)
    h = (seed ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(key[i : i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = length % 4
    if tail:
        rest = key[length - tail :]
        if tail == 3:
            h ^= rest[2] << 16
        if tail >= 2:
            h ^= rest[1] << 8
        h ^= rest[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % partitions


def _play_platform(bootstrap: str, partitioner: str | None, session_id: str, scenes: list[tuple[str, int]]) -> int:
    config = {"bootstrap.servers": bootstrap, "acks": "all"}
    if partitioner:
        config["partitioner"] = partitioner
    producer = Producer(config)
    now = int(time.time() * 1000)
    key = session_id.encode()

    def control(action: str, **fields) -> None:
        record = {
            "session_id": session_id,
            "action": action,
            "candidate_id": "alice",
            "policy": "strict",
            "at_ms": int(time.time() * 1000),
            "metadata": {"room": "7"},
            "last_sequence": None,
            "source": "confluent-kafka",
        } | fields
        producer.produce("integrity.session-control", key=key, value=encode(CONTROL, record))

    control("start")
    sequence = 0
    for scene, count in scenes:
        for _ in range(count):
            frame = {
                "session_id": session_id,
                "candidate_id": "alice",
                "sequence": sequence,
                "captured_at_ms": now + sequence * 200,
                "image": webcam_jpeg(scene, sequence),  # a webcam never repeats a frame exactly
                "encoding": "JPEG",
                "width": 640,
                "height": 480,
                "source": "confluent-kafka",
                "metadata": {"camera": "front"},
            }
            producer.produce("integrity.frames", key=key, value=encode(FRAME, frame))
            sequence += 1
    control("end", last_sequence=sequence - 1)
    assert producer.flush(30) == 0
    return sequence


def _read_until_final(bootstrap: str, session_id: str, timeout_s: float = 120) -> tuple[list[dict], list[dict]]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"platform-{session_id}", "enable.auto.commit": False}
    )
    consumer.assign(
        [TopicPartition(t, p, OFFSET_BEGINNING) for t in ("integrity.results", "integrity.reports") for p in range(4)]
    )
    results: list[dict] = []
    reports: list[dict] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not (reports and results and results[-1]["final"]):
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            if message.key() != session_id.encode():
                continue
            if message.topic() == "integrity.results":
                results.append(decode(RESULT, cast(bytes, message.value())))
            else:
                reports.append(decode(REPORT, cast(bytes, message.value())))
        time.sleep(2)  # a second final report would come right after the first
        while (message := consumer.poll(0.5)) is not None:
            if not message.error() and message.key() == session_id.encode() and message.topic() == "integrity.reports":
                reports.append(decode(REPORT, cast(bytes, message.value())))
    finally:
        consumer.close()
    return results, reports


@pytest.mark.parametrize(
    "partitioner, session_id",
    [(None, "ext-1"), ("murmur2_random", "ext-2")],
    ids=["librdkafka-default-crc32", "murmur2_random"],
)
def test_a_platform_on_confluent_kafka_and_apache_avro(settings, worker, partitioner, session_id):
    key, partitions = session_id.encode(), settings.topics.partitions
    if partitioner is None:  # the default sends this key elsewhere than murmur2 would: the case to prove
        assert zlib.crc32(key) % partitions != _murmur2_partition(key, partitions)
    scenes = [("one_face", 15), ("face_absent", 25), ("one_face", 10)]
    sent = _play_platform(settings.broker.bootstrap_servers, partitioner, session_id, scenes)

    results, reports = _read_until_final(settings.broker.bootstrap_servers, session_id)

    frames = [r for r in results if not r["final"]]
    assert sorted(r["frame_sequence"] for r in frames) == list(range(sent))
    assert [r["final"] for r in results].count(True) == 1
    assert len(reports) == 1, reports
    report = reports[0]
    # The start record reached the session (its policy) and the end finished it, with every frame.
    assert report["policy"] == "strict@2" and report["reason"] == "ended" and report["frames"] == sent
    assert report["candidate_id"] == "alice"
    assert report["time_in_ms"]["face_absent"] == 25 * 200
    # The session lived on one partition only: listed once, ended.
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/sessions/", timeout=10) as response:
        listed = [row for row in json.load(response)["sessions"] if row["session_id"] == session_id]
    assert [row["status"] for row in listed] == ["ended"]
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/health/", timeout=10) as response:
        forwarded = json.load(response)["forwarded_to_key_partition"]
    if partitioner is None:
        assert forwarded.get("integrity.frames", 0) >= sent and forwarded.get("integrity.session-control", 0) >= 2
