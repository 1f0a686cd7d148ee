"""Reading a topic's records, decoded: what a downstream consumer, the CLI, benchmarks and tests do.

No consumer group: a reader sees every partition and commits nothing, so it never takes partitions
from the workers or from another reader. Undecodable records are skipped with a warning (the worker
dead-letters what it cannot read; a reader only looks).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence, Sized
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from schemas import RecordDecodeError, codec_for
from streams.kafka.clients import consumer_options
from streams.settings import Settings

__all__ = ["TopicReader", "TopicVolume", "collect", "follow", "read_all", "read_raw", "volumes"]

log = logging.getLogger(__name__)

_Batch = TypeVar("_Batch", bound=Sized)


class TopicReader:
    """Decoded records of one topic, from its start (or only new ones); an async context manager."""

    def __init__(self, settings: Settings, topic: str, record_name: str, *, from_beginning: bool = True) -> None:
        self.topic = topic
        self.codec = codec_for(record_name)
        self._consumer = AIOKafkaConsumer(
            topic,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
            **consumer_options(settings),
        )

    async def __aenter__(self) -> TopicReader:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._consumer.stop()

    def _decode(self, message: Any) -> Any | None:
        try:
            return self.codec.decode(message.value)
        except RecordDecodeError as exc:
            where = f"{self.topic}[{message.partition}]@{message.offset}"
            log.warning("skipping undecodable %s at %s: %s", self.codec.name, where, exc)
            return None

    async def poll(self, timeout_s: float = 0.5) -> list[Any]:
        """The records that arrive within ``timeout_s`` (possibly none)."""
        batches = await self._consumer.getmany(timeout_ms=int(timeout_s * 1000))
        decoded = (self._decode(message) for messages in batches.values() for message in messages)
        return [record for record in decoded if record is not None]

    async def __aiter__(self) -> AsyncIterator[Any]:
        """Every record as it arrives, forever (cancel or break to stop)."""
        async for message in self._consumer:
            record = self._decode(message)
            if record is not None:
                yield record


async def follow(
    settings: Settings, topic: str, record_name: str, *, from_beginning: bool = True, session_id: str | None = None
) -> AsyncIterator[Any]:
    """Records of ``topic`` as they arrive, only ``session_id``'s when given; forever."""
    async with TopicReader(settings, topic, record_name, from_beginning=from_beginning) as reader:
        async for record in reader:
            if session_id is None or record["session_id"] == session_id:
                yield record


async def collect(
    settings: Settings,
    topic: str,
    record_name: str,
    want: Callable[[Any], bool] = lambda _: True,
    count: int = sys.maxsize,
    timeout_s: float = 90.0,
) -> list[Any]:
    """Read ``topic`` from the start until ``count`` records match ``want``, or ``timeout_s`` passed."""
    found: list[Any] = []
    deadline = time.monotonic() + timeout_s
    async with TopicReader(settings, topic, record_name) as reader:
        while len(found) < count and time.monotonic() < deadline:
            found.extend(record for record in await reader.poll() if want(record))
    return found[:count]


async def read_all(
    settings: Settings, topic: str, record_name: str, idle_s: float = 1.0, start_s: float = 5.0
) -> list[Any]:
    """Every record of ``topic`` there is now: read from the start until nothing more has come for
    ``idle_s`` (an empty topic: for ``start_s``, the time a first fetch may take). Not up to the end
    offsets alone: the embedded broker reports them short of the real end after batched produces."""
    found: list[Any] = []
    async with TopicReader(settings, topic, record_name) as reader:
        async for batch in _until_idle(lambda: reader.poll(idle_s), start_s):
            found.extend(batch)
    return found


async def read_raw(
    settings: Settings, topic: str, idle_s: float = 0.5, stall_s: float = 10.0
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` there is now, undecoded, with its partition, offset, timestamp and headers:
    read from the start up to the end offsets taken when it starts, then until nothing more comes for
    ``idle_s`` (the embedded broker may report the end short). A topic that does not exist or holds nothing
    ends at once, without waiting; one that stops answering short of its end ends after ``stall_s``."""
    consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, **consumer_options(settings))
    await consumer.start()
    try:
        if topic not in await consumer.topics():  # asked without naming it: nothing is auto-created
            return
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        if all(ends[tp] <= starts[tp] for tp in partitions):
            return
        await consumer.seek_to_beginning(*partitions)
        last_came = time.monotonic()
        while True:
            batches = await consumer.getmany(timeout_ms=int(idle_s * 1000))
            for messages in batches.values():
                for message in messages:
                    yield message
            if batches:
                last_came = time.monotonic()
                continue
            reached = all([await consumer.position(tp) >= ends[tp] for tp in partitions])
            if reached or time.monotonic() - last_came >= stall_s:
                return
    finally:
        await consumer.stop()


async def _until_idle(fetch: Callable[[], Awaitable[_Batch]], start_s: float) -> AsyncIterator[_Batch]:
    """The batches ``fetch`` returns (each waiting up to the idle time) until one comes back empty after
    something came, or nothing came for ``start_s`` (the time a first fetch may take)."""
    started, found = time.monotonic(), False
    while True:
        batch = await fetch()
        if batch:
            found = True
            yield batch
        elif found or time.monotonic() - started >= start_s:
            return


@dataclass(frozen=True)
class TopicVolume:
    """What a topic holds: its records and their key and value bytes (as stored, undecoded)."""

    records: int = 0
    bytes: int = 0


async def volumes(
    settings: Settings, topics: Sequence[str], idle_s: float = 1.0, start_s: float = 5.0
) -> dict[str, TopicVolume]:
    """The records and bytes each of ``topics`` holds now, read raw from the start as ``read_all`` reads
    (until nothing more has come for ``idle_s``)."""
    if not topics:
        return {}
    counts = {topic: [0, 0] for topic in topics}
    consumer = AIOKafkaConsumer(
        *topics, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest", **consumer_options(settings)
    )
    await consumer.start()
    try:
        async for batches in _until_idle(lambda: consumer.getmany(timeout_ms=int(idle_s * 1000)), start_s):
            for partition, messages in batches.items():
                tally = counts[partition.topic]
                tally[0] += len(messages)
                tally[1] += sum(len(m.key or b"") + len(m.value or b"") for m in messages)
    finally:
        await consumer.stop()
    return {topic: TopicVolume(records, size) for topic, (records, size) in counts.items()}
