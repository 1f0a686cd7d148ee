"""Following the results and reports topics for the gateway's callers: a frame's Result for the request
that sent it, a session's Results for its WebSocket, the latest Result and the final report on demand.

No consumer group: every gateway instance reads every partition (a platform's requests for a session may
reach any instance), commits nothing and never takes partitions from the workers. Results are read from
the end (only new ones matter); reports from ``report_lookback_s`` back, so a report asked for after the
gateway restarted is still found.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import RecordDecodeError, codec_for
from schemas.records import FinalReport, Result
from streams.kafka.clients import consumer_options
from streams.settings import Settings

__all__ = ["OWNER_KEY", "Follower", "Subscription"]

# The metadata entry of a start record that names the platform whose key started the session.
OWNER_KEY = "gateway.platform"

log = logging.getLogger(__name__)


class Subscription:
    """One WebSocket's Results and report, in a bounded queue: ``overflowed`` when the client read too slowly."""

    def __init__(self, session_id: str, size: int) -> None:
        self.session_id = session_id
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(maxsize=size)
        self.overflowed = asyncio.Event()

    def offer(self, kind: str, record: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait((kind, record))
        except asyncio.QueueFull:
            self.overflowed.set()


class _Bounded(OrderedDict[str, Any]):
    """A dict that forgets its least recently set entries beyond ``size``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class Follower:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.latest: _Bounded = _Bounded(settings.gateway.sessions_kept)
        self.reports: _Bounded = _Bounded(settings.gateway.sessions_kept)
        self._waiting: dict[tuple[str, int], asyncio.Future[Result]] = {}
        self._reports_waiting: dict[str, list[asyncio.Future[FinalReport]]] = {}
        self._subscriptions: dict[str, set[Subscription]] = {}
        # Which platform started each session (the start record's metadata, set by the gateway that took it).
        self.owners: _Bounded = _Bounded(settings.gateway.sessions_kept)
        self._codecs = {
            settings.topics.results: codec_for("Result"),
            settings.topics.reports: codec_for("FinalReport"),
            settings.topics.control: codec_for("SessionControl"),
        }
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.failure: str | None = None

    # -- lifecycle ------------------------------------------------------------------------------------

    @property
    def _kafka(self) -> AIOKafkaConsumer:
        assert self._consumer is not None, "Follower.start() first"
        return self._consumer

    async def start(self) -> None:
        """Positioned on every partition before it returns: a frame sent after this gets its Result."""
        # Kafka answers a fetch as soon as a record arrives; the embedded broker's fetch wait is shortened
        # by its fixup (streams.kafka.embedded_fixup), as for the workers.
        self._consumer = consumer = AIOKafkaConsumer(
            group_id=None, enable_auto_commit=False, **consumer_options(self.settings)
        )
        await consumer.start()
        topics = self.settings.topics
        partitions: list[TopicPartition] = []
        for topic in (topics.results, topics.reports, topics.control):
            numbers = await self._partitions_of(topic)
            partitions += [TopicPartition(topic, n) for n in numbers]
        self._kafka.assign(partitions)
        results = [tp for tp in partitions if tp.topic == topics.results]
        await self._kafka.seek_to_end(*results)
        await self._seek_back([tp for tp in partitions if tp not in results], self.settings.gateway.report_lookback_s)
        for tp in partitions:
            await self._kafka.position(tp)  # resolve now, not at the first fetch
        self._task = asyncio.create_task(self._run(), name="gateway-follower")
        self.ready.set()

    async def _partitions_of(self, topic: str) -> list[int]:
        deadline = time.monotonic() + 30
        while True:
            await self._kafka.topics()  # fetches the cluster's metadata
            numbers = self._kafka.partitions_for_topic(topic)
            if numbers:
                return sorted(numbers)
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {topic!r} does not exist on the broker (create it: integrity topics)")
            await asyncio.sleep(0.5)

    async def _seek_back(self, partitions: list[TopicPartition], seconds: float) -> None:
        since_ms = int((time.time() - seconds) * 1000)
        try:
            offsets = await self._kafka.offsets_for_times({tp: since_ms for tp in partitions})
        except Exception as exc:  # a broker without ListOffsets by time: read them all
            log.warning("reading final reports from their start: the broker cannot look them up by time (%s)", exc)
            await self._kafka.seek_to_beginning(*partitions)
            return
        for tp in partitions:
            found = offsets.get(tp)
            if found is None:
                await self._kafka.seek_to_end(tp)
            else:
                self._kafka.seek(tp, found.offset)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def _run(self) -> None:
        try:
            while True:
                batches = await self._kafka.getmany(timeout_ms=1000)
                for tp, messages in batches.items():
                    for message in messages:
                        self._take(tp.topic, message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # health says so; requests waiting time out into 202
            self.failure = f"following results stopped: {exc!r}"
            log.exception("gateway follower stopped")

    def _take(self, topic: str, message: Any) -> None:
        try:
            record = self._codecs[topic].decode(message.value)
        except RecordDecodeError as exc:
            log.warning("skipping undecodable record at %s[%d]@%d: %s", topic, message.partition, message.offset, exc)
            return
        if topic == self.settings.topics.results:
            self._on_result(record)
        elif topic == self.settings.topics.reports:
            self._on_report(record)
        elif record["action"] == "start" and (platform := record["metadata"].get(OWNER_KEY)):
            self.owners.put(record["session_id"], platform)

    def _on_result(self, result: Result) -> None:
        session = result["session_id"]
        self.latest.put(session, result)
        waiting = self._waiting.pop((session, result["frame_sequence"]), None)
        if waiting is not None and not waiting.done():
            waiting.set_result(result)
        for subscription in self._subscriptions.get(session, ()):
            subscription.offer("result", dict(result))

    def _on_report(self, report: FinalReport) -> None:
        session = report["session_id"]
        self.reports.put(session, report)
        for waiting in self._reports_waiting.pop(session, []):
            if not waiting.done():
                waiting.set_result(report)
        for subscription in self._subscriptions.get(session, ()):
            subscription.offer("report", dict(report))

    # -- for the routes -------------------------------------------------------------------------------

    def expect_result(self, session_id: str, sequence: int) -> asyncio.Future[Result]:
        """A future for frame ``sequence``'s Result: ask before sending the frame."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting[(session_id, sequence)] = future
        return future

    def forget_result(self, session_id: str, sequence: int) -> None:
        self._waiting.pop((session_id, sequence), None)

    def expect_report(self, session_id: str) -> asyncio.Future[FinalReport]:
        future: asyncio.Future[FinalReport] = asyncio.get_running_loop().create_future()
        if (report := self.reports.get(session_id)) is not None:
            future.set_result(report)
        else:
            self._reports_waiting.setdefault(session_id, []).append(future)
        return future

    def forget_report(self, session_id: str, future: asyncio.Future[FinalReport]) -> None:
        waiting = self._reports_waiting.get(session_id, [])
        if future in waiting:
            waiting.remove(future)
        if not waiting:
            self._reports_waiting.pop(session_id, None)

    def subscribe(self, session_id: str) -> Subscription:
        subscription = Subscription(session_id, self.settings.gateway.websocket_queue)
        self._subscriptions.setdefault(session_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribed = self._subscriptions.get(subscription.session_id)
        if subscribed is not None:
            subscribed.discard(subscription)
            if not subscribed:
                del self._subscriptions[subscription.session_id]
