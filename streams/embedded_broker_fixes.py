"""Workarounds that apply only when the broker is the embedded tansu (see shared/FAUST_NOTES.md).

Slow fetches, below; stale local state after the broker restarted, further down.

tansu holds a fetch for its whole ``fetch_max_wait_ms`` instead of answering as soon as data arrives
(measured: a record waited up to ~0.5 s with Faust's hard-coded 1500 ms, under 30 ms with 100 ms).
With two hops (frames -> events -> results) that alone put p95 frame-to-result over a second. Real
Kafka answers early, so production keeps Faust's default.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

__all__ = ["EMBEDDED_FETCH_MAX_WAIT_MS", "RUN_TOPIC", "broker_run_id", "drop_stale_state", "shorten_fetch_wait"]

EMBEDDED_FETCH_MAX_WAIT_MS = 50


def shorten_fetch_wait(max_wait_ms: int = EMBEDDED_FETCH_MAX_WAIT_MS) -> None:
    """Make Faust's worker consumer ask for at most ``max_wait_ms`` per fetch."""
    from faust.transport.drivers import aiokafka as driver

    thread = driver.AIOKafkaConsumerThread
    if getattr(thread, "_integrity_fetch_wait", None) is not None:
        thread._integrity_fetch_wait = max_wait_ms
        return
    create = thread._create_worker_consumer

    def _create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = create(self, transport)
        # Faust passes fetch_max_wait_ms=1500 with no setting to change it; aiokafka reads this
        # attribute when the consumer starts.
        consumer._fetch_max_wait_ms = thread._integrity_fetch_wait
        return consumer

    thread._integrity_fetch_wait = max_wait_ms
    thread._create_worker_consumer = _create_worker_consumer


# -- stale local state after the embedded broker restarted ------------------------------------------
#
# tansu keeps its topics in memory. A worker restarted against a new broker process finds its RocksDB
# folder ahead of the (empty) changelogs, and Faust's recovery dies with ConsistencyError. Each broker
# run therefore gets an id, written once into a one-partition topic; a worker remembers the id its
# folder was built against and drops the folder when the broker is a different one. The folder is only
# a cache of the changelogs, which on a new broker are empty anyway.

RUN_TOPIC = "integrity.embedded-broker-run"
_MARKER = ".embedded-broker-run"


async def broker_run_id(bootstrap_servers: str, timeout_s: float = 10.0) -> str:
    """This embedded broker process's id: the first record of RUN_TOPIC, written by whoever creates it."""
    import asyncio
    import uuid

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        created = False
        if RUN_TOPIC not in await admin.list_topics():
            try:
                await admin.create_topics([NewTopic(RUN_TOPIC, 1, 1)])
                created = True
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
    if created:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, max_batch_size=1)
        await producer.start()
        try:
            await producer.send_and_wait(RUN_TOPIC, uuid.uuid4().hex.encode())
        finally:
            await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=None, fetch_max_wait_ms=EMBEDDED_FETCH_MAX_WAIT_MS
    )
    await consumer.start()
    try:
        partition = TopicPartition(RUN_TOPIC, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        message = await asyncio.wait_for(consumer.getone(), timeout_s)
        return message.value.decode()
    finally:
        await consumer.stop()


def drop_stale_state(data_dir: Path, run_id: str) -> bool:
    """Empty ``data_dir`` unless it was built against broker run ``run_id``; True when it was emptied."""
    marker = data_dir / _MARKER
    if marker.exists() and marker.read_text() == run_id:
        return False
    stale = data_dir.exists() and any(entry.name != _MARKER for entry in data_dir.iterdir())
    if stale:
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(run_id)
    return stale
