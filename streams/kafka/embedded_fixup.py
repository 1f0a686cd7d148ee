"""Everything the embedded broker (tansu 0.6.0) needs from us, in one object, switched by one setting.

Like Faust's ``faust/fixups``: the fixup knows whether it applies (``enabled``, from
``INTEGRITY_EMBEDDED_BROKER``) and does all of its work here; the app, the plain clients and the worker
command ask it. Real Kafka gets none of it. The facts behind each workaround (measured with
faust-streaming 0.15.3 and aiokafka 0.14; docs/DEVELOPMENT.md lists the embedded broker's other limits):

- **ListOffsets.** tansu answers "latest offset" with the first offset of the last batch + 1. With one
  record per producer batch that is the true end, and restarts stop failing with ConsistencyError.
- **Slow fetches.** tansu holds a fetch for its whole ``fetch_max_wait_ms`` instead of answering as
  soon as data arrives (measured: a record waited up to ~0.5 s with Faust's hard-coded 1500 ms, under
  30 ms with 100 ms). With two hops (frames -> events -> results) that alone put p95 frame-to-result
  over a second.
- **Generation 0.** tansu numbers a group's first generation 0 (Kafka starts at 1), and aiokafka sends
  LeaveGroup at a clean stop only from generation 1 on: a worker stopped before any rebalance left
  nothing behind but silence, and its partitions waited for its session to time out. Patched to leave.
- **Departures.** A killed worker is noticed when its session times out: the group timings are shorter
  than real Kafka's (``group``; measured in tests/integration/test_scale_out.py), so a dead worker's
  sessions move on within seconds.
- **Memory only.** A worker restarted against a new broker process finds its RocksDB folder ahead of
  the (empty) changelogs, and Faust's recovery dies with ConsistencyError. Each broker run therefore
  gets an id, written once into a one-partition topic; a worker remembers the id its folder was built
  against and drops the folder when the broker is a different one. The folder is only a cache of the
  changelogs, which on a new broker are empty anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from pathlib import Path
from typing import Any

from streams.settings import REAL_KAFKA_GROUP, BrokerSettings, GroupSettings, check_group

__all__ = ["RUN_TOPIC", "EmbeddedBrokerFixup", "drop_stale_state"]

RUN_TOPIC = "integrity.embedded-broker-run"
_MARKER = ".embedded-broker-run"
# Short enough for two hops well under 100 ms; long enough not to spin an idle consumer.
_FETCH_MAX_WAIT_MS = 50
# Measured with 3 workers (tests/integration/test_scale_out.py): see docs/SCALING.md. 3 s, not 4: tansu
# holds a rejoin half the session timeout, so a killed worker costs 1.5 s less (a SIGKILL wait of 10.3 s
# once in CI with 4 s, against the 10 s the scale-out issue allows).
EMBEDDED_GROUP = {"session_timeout_s": 3.0, "heartbeat_s": 1.0, "rebalance_timeout_s": 5.0}


class EmbeddedBrokerFixup:
    def __init__(self, broker: BrokerSettings) -> None:
        self.broker = broker

    def enabled(self) -> bool:
        return self.broker.embedded

    # -- Faust ---------------------------------------------------------------------------------------

    def group(self, group: GroupSettings) -> GroupSettings:
        """The group settings with this broker's timings where none was set."""
        resolved = group.with_defaults(EMBEDDED_GROUP if self.enabled() else REAL_KAFKA_GROUP)
        check_group(resolved)
        return resolved

    def app_options(self) -> dict[str, Any]:
        """Extra ``faust.App`` settings: one record per producer batch (ListOffsets)."""
        return {"producer_max_batch_size": 1} if self.enabled() else {}

    def patch_faust(self) -> None:
        """Make Faust's worker consumer ask for at most a short wait per fetch (slow fetches), and every
        consumer leave its group at a clean stop (generation 0).

        Faust passes ``fetch_max_wait_ms=1500`` with no setting to change it; aiokafka reads the
        attribute set here when the consumer starts."""
        if not self.enabled():
            return
        _leave_from_generation_zero()
        from faust.transport.drivers import aiokafka as driver

        thread: Any = driver.AIOKafkaConsumerThread
        if getattr(thread, "_integrity_patched", False):
            return
        create = thread._create_worker_consumer

        def _create_worker_consumer(self: Any, transport: Any) -> Any:
            consumer = create(self, transport)
            consumer._fetch_max_wait_ms = _FETCH_MAX_WAIT_MS
            return consumer

        thread._create_worker_consumer = _create_worker_consumer
        thread._integrity_patched = True

    # -- plain aiokafka clients ----------------------------------------------------------------------

    def producer_options(self) -> dict[str, Any]:
        return {"max_batch_size": 1} if self.enabled() else {}

    def consumer_options(self) -> dict[str, Any]:
        return {"fetch_max_wait_ms": _FETCH_MAX_WAIT_MS} if self.enabled() else {}

    # -- the worker's local state (memory only) ------------------------------------------------------

    async def broker_run_id(self, timeout_s: float = 10.0) -> str:
        """This broker process's id: the first record of RUN_TOPIC, written by whoever creates it."""
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic
        from aiokafka.errors import TopicAlreadyExistsError

        servers = self.broker.bootstrap_servers
        admin = AIOKafkaAdminClient(bootstrap_servers=servers)
        await admin.start()
        created = False
        try:
            if RUN_TOPIC not in await admin.list_topics():
                with contextlib.suppress(TopicAlreadyExistsError):  # another process won the race
                    await admin.create_topics([NewTopic(RUN_TOPIC, 1, 1)])
                    created = True
        finally:
            await admin.close()
        if created:
            producer = AIOKafkaProducer(bootstrap_servers=servers, **self.producer_options())
            await producer.start()
            try:
                await producer.send_and_wait(RUN_TOPIC, uuid.uuid4().hex.encode())
            finally:
                await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=None, **self.consumer_options())
        await consumer.start()
        try:
            partition = TopicPartition(RUN_TOPIC, 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            message = await asyncio.wait_for(consumer.getone(), timeout_s)
            return bytes(message.value or b"").decode()
        finally:
            await consumer.stop()

    async def prepare_worker(self, data_dir: Path) -> bool:
        """Before a worker starts: drop its RocksDB folder if it was built against another broker run.

        True when the folder was emptied (the tables rebuild from the changelogs)."""
        if not self.enabled():
            return False
        return drop_stale_state(data_dir, await self.broker_run_id())

    async def restarted_since_prepared(self, data_dir: Path) -> bool:
        """Whether the broker now is another run than the one ``data_dir`` was prepared against (a
        broker that cannot be reached has not restarted: it is down)."""
        marker = data_dir / _MARKER
        if not self.enabled() or not marker.exists():
            return False
        try:
            current = await asyncio.wait_for(self.broker_run_id(), 15)
        except Exception:
            return False
        return current != marker.read_text()


def _leave_from_generation_zero() -> None:
    from aiokafka.consumer.group_coordinator import GroupCoordinator

    coordinator: Any = GroupCoordinator
    if getattr(coordinator, "_integrity_patched", False):
        return
    leave = coordinator._maybe_leave_group

    async def _maybe_leave_group(self: Any) -> None:
        # LeaveGroup carries no generation: the check only stands for "has joined", which 0 is on tansu.
        if self.generation == 0 and self.member_id:
            self.generation = 1
        await leave(self)

    coordinator._maybe_leave_group = _maybe_leave_group
    coordinator._integrity_patched = True


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
