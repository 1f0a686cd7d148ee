"""One policy for a record an agent cannot process: a dead letter with the reason, and the stream goes on.

Every agent runs its records through ``process`` (after Quix Streams' ``on_processing_error``): a record
that is empty (a null value) or not decodable, a record the stage refuses (``Refused``, or an exception
the stage lists as a refusal), and an unexpected error all end as a DeadLetter on the dead-letter topic
with the stage, the reason, the source offset and the original bytes. Payloads go to that topic, never
to the log: frames are biometric data.

Ingress topics (frames, session control) take records from any client. A record on another partition
than the one its key belongs on (``streams.kafka.partitioning``: a librdkafka producer with its default
CRC32 partitioner) is forwarded there once, untouched, and counted: a session's frames, control records,
state and results always meet on one partition, so a session never exists twice.

An event is acknowledged (its offset may be committed) only once it is handled. Before Faust closes the
tables (at shutdown, and for the partitions a rebalance takes away) it waits for the records the agents
have in hand to finish (``records_in_hand_finished``, called by ``streams.app``); a stopping worker
starts no new record (``unless_stopping``). A record still in hand when that wait runs out stays
unacknowledged and comes again (to this worker after its restart, or to another): never committed half
done.

A record already answered (``streams.redelivery``) raises ``Redelivered``: skipped and counted, no
second answer and no dead letter. ``delivered`` sends a stage's output and waits for the broker's
acknowledgement, so that a stage records a frame as answered only once its answer is out.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from faust.types import TP, EventT, StreamT, TopicT

from schemas.records import DeadLetter, now_ms
from streams.app import app, settings
from streams.kafka.partitioning import partition_of
from streams.serializers import Undecodable
from streams.topics import dead_letter_topic
from streams.web.metrics import count_dead_letter

__all__ = [
    "Redelivered",
    "Refused",
    "Stage",
    "caught_up_to",
    "delivered",
    "forwarded",
    "pending_records",
    "process",
    "redelivered",
    "send_dead_letter",
    "session_turn",
    "unless_stopping",
]

log = logging.getLogger(__name__)


class Refused(Exception):
    """A record this stage will not process; the message is the dead letter's reason.

    ``keep_payload=False``: the dead letter keeps the record's size and digest but not its bytes (a
    flood's excess frames are not worth keeping a second copy of)."""

    def __init__(self, reason: str, *, keep_payload: bool = True) -> None:
        super().__init__(reason)
        self.keep_payload = keep_payload


class Redelivered(Exception):
    """A record this stage has already answered (a redelivery, or a producer's resend): skipped."""


@dataclass(frozen=True)
class Stage:
    # DeadLetter.stage: detection, risk, control.
    name: str
    # The record type the stage reads ("bad Frame record: ...").
    record: str
    # How unexpected errors are labelled ("vision error: ...").
    errors: str
    # Exceptions that mean "this record is refused", with the reason's prefix ("bad image: ...").
    refusals: Mapping[type[Exception], str] = field(default_factory=dict)
    # Records come from outside producers: route each to its key's partition first.
    ingress: bool = False


# Records forwarded to their key's partition, by topic (shown by /health/).
forwarded: Counter[str] = Counter()
# Records skipped as already answered, by stage (shown by /health/).
redelivered: Counter[str] = Counter()

# How far each stage has got on each partition: (topic, partition) -> (broker timestamp of the newest
# record it finished, in ms; the offset after it).
_progress: dict[tuple[str, int], tuple[int, int]] = {}


def _next_offset(tp: TP) -> int:
    """The next offset this worker will process on ``tp``: the newer of the committed one (Faust sets it at
    assignment and on each commit) and the one after the newest record finished here."""
    committed = getattr(app.consumer, "_committed_offset", {}).get(tp) or 0  # Faust's own, not in its API
    _, finished = _progress.get((tp.topic, tp.partition), (0, 0))
    return max(committed, finished)


def pending_records(tp: TP) -> int | None:
    """Records on ``tp`` this worker has not processed yet (None: not fetched since it started)."""
    highwater = app.consumer.highwater(tp)
    return None if highwater is None else max(highwater - _next_offset(tp), 0)


def _drained(topic: str, partition: int) -> bool:
    """Whether this worker has processed every record the partition held at its last fetch.

    The next offset to process is the newer of the committed one (Faust sets it at assignment and on
    each commit: a worker just restarted has processed nothing yet, but may have nothing to do) and the
    one after the newest record finished here. On the embedded broker a batching producer (librdkafka)
    makes the high watermark read low, so a partition can look drained a little early there."""
    pending = pending_records(TP(topic, partition))
    return pending == 0  # None: not fetched yet since this worker started: unknown, so not drained


def caught_up_to(topic: str, partition: int, now_ms: int) -> int:
    """Broker time up to which this worker has processed ``topic``'s ``partition``: ``now_ms`` when
    nothing of it is left to process, otherwise the broker time of the newest record finished here (0:
    none yet since this worker started)."""
    if _drained(topic, partition):
        return now_ms
    return _progress.get((topic, partition), (0, 0))[0]


def _finished(event: EventT) -> None:
    message = event.message
    received_ms = int(message.timestamp * 1000)
    newest, finished = _progress.get((message.topic, message.partition), (0, 0))
    _progress[(message.topic, message.partition)] = (max(newest, received_ms), max(finished, message.offset + 1))


Handler = Callable[[EventT, Any], Awaitable[None]]

# One lock per session with a record in hand. Three agents read a session's state, await (inference,
# the broker's acknowledgement) and write it back: without turns, an end record applied by one while
# another awaited was overwritten by the other's older state, and the session never ended.
_turns: dict[str, asyncio.Lock] = {}
_waiting: Counter[str] = Counter()


@contextlib.asynccontextmanager
async def session_turn(session_id: str) -> AsyncIterator[None]:
    """Hold the session's state from read to write: no other agent reads or writes it meanwhile."""
    lock = _turns.setdefault(session_id, asyncio.Lock())
    _waiting[session_id] += 1
    try:
        async with lock:
            yield
    finally:
        _waiting[session_id] -= 1
        if not _waiting[session_id]:
            del _waiting[session_id], _turns[session_id]


async def unless_stopping() -> None:
    """Return at once while the worker runs; once it is stopping, never (the agent is cancelled here,
    its event unacknowledged)."""
    if app.should_stop:
        await asyncio.Event().wait()


_in_hand: Counter[str] = Counter()  # agent stage -> records being handled (0 or 1: one at a time)
_all_put_down = asyncio.Event()


async def records_in_hand_finished(timeout_s: float) -> bool:
    """Wait (at most ``timeout_s``) until no agent has a record in hand; True when none has."""
    if not +_in_hand:
        return True
    _all_put_down.clear()
    try:
        await asyncio.wait_for(_all_put_down.wait(), timeout_s)
    except TimeoutError:
        log.warning("records still in hand after %.0f s: %s; they will come again", timeout_s, dict(+_in_hand))
        return False
    return True


async def process(stream: StreamT, stage: Stage, handle: Handler) -> None:
    """Feed each record of ``stream`` to ``handle``; dead-letter what cannot be processed, and go on."""
    # Faust acks an event when the agent moves on, or is cancelled mid-event at shutdown: that one
    # would be committed unprocessed. Acked here instead, once handled.
    stream.enable_acks = False
    async for event in stream.events():
        await unless_stopping()
        _in_hand[stage.name] += 1
        try:
            if not (stage.ingress and await _forwarded_to_its_partition(event)):
                await _process_one(event, stage, handle)
                _finished(event)
            event.ack()
        finally:
            _in_hand[stage.name] -= 1
            if not +_in_hand:
                _all_put_down.set()


async def _process_one(event: EventT, stage: Stage, handle: Handler) -> None:
    value = event.value
    if value is None:
        await send_dead_letter(event, stage.name, f"no {stage.record} record: the value is null (a tombstone)")
        return
    if isinstance(value, Undecodable):
        await send_dead_letter(event, stage.name, f"bad {stage.record} record: {value.reason}")
        return
    try:
        await handle(event, value)
    except Redelivered as exc:
        redelivered[stage.name] += 1
        if redelivered[stage.name] == 1 or redelivered[stage.name] % 100 == 0:
            count = redelivered[stage.name]
            log.info("%s: %d record(s) already answered were skipped, e.g. %s", stage.name, count, exc)
    except Refused as exc:
        await send_dead_letter(event, stage.name, str(exc), keep_payload=exc.keep_payload)
    except tuple(stage.refusals) as exc:
        prefix = next(text for kind, text in stage.refusals.items() if isinstance(exc, kind))
        await send_dead_letter(event, stage.name, f"{prefix}: {exc}")
    except Exception as exc:  # a bug must cost one record, not the partition
        await unless_stopping()  # not a bug: the tables closed under a stopping worker
        message = event.message
        log.exception("%s failed on %s[%d]@%d", stage.name, message.topic, message.partition, message.offset)
        await send_dead_letter(event, stage.name, f"{stage.errors} error: {type(exc).__name__}: {exc}")


async def delivered(topic: TopicT, key: bytes, value: Any) -> None:
    """Send and wait for the broker's acknowledgement (what a table then records as done is out)."""
    pending = await topic.send(key=key, value=value)
    await pending


async def _forwarded_to_its_partition(event: EventT) -> bool:
    """Forward a record that sits on another partition than its key's; True when it was forwarded."""
    message = event.message
    if not isinstance(message.key, bytes):
        return False  # no key to route by: the stage refuses it
    home = partition_of(message.key, settings.topics.partitions)
    if message.partition == home:
        return False
    await event.forward(message.topic, partition=home)
    forwarded[message.topic] += 1
    if forwarded[message.topic] == 1 or forwarded[message.topic] % 1000 == 0:
        log.warning(
            "%d record(s) of %s arrived on a partition other than their key's (murmur2) and were forwarded, "
            "e.g. %s[%d]@%d to partition %d: set the producer's partitioner to murmur2_random to save the hop",
            forwarded[message.topic],
            message.topic,
            message.topic,
            message.partition,
            message.offset,
            home,
        )
    return True


def dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    stage: str,
    reason: str,
    keep_payload: bool = True,
) -> DeadLetter:
    """The DeadLetter of a refused record; a value over the size limit keeps its prefix and its digest."""
    limit = settings.ingress.dead_letter_max_payload_bytes if keep_payload else 0
    return {
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "key": key,
        "stage": stage,
        "reason": reason,
        "failed_at_ms": now_ms(),
        "payload": value[:limit] if value is not None else None,
        "payload_size": len(value) if value is not None else None,
        "payload_sha256": hashlib.sha256(value).hexdigest() if value is not None else None,
    }


# Dead letters so far by stage and kind of reason (its first words): the log shows the 1st, 10th,
# 100th... of each kind, so a flood of bad records does not flood the log (the topic has every one).
dead_letters: Counter[tuple[str, str]] = Counter()


def _worth_logging(stage: str, reason: str) -> int | None:
    """The count of this kind of dead letter when it is one to log (1, 10, 100, ...), else None."""
    kind = (stage, re.sub(r"\d+|'[^']*'", "_", reason)[:48])
    dead_letters[kind] += 1
    count = dead_letters[kind]
    return count if count == 10 ** (len(str(count)) - 1) else None


async def send_dead_letter(event: EventT, stage: str, reason: str, *, keep_payload: bool = True) -> None:
    """Dead-letter the record behind ``event``. The payload goes to the topic, never to the log."""
    message = event.message
    where = f"{message.topic}[{message.partition}]@{message.offset}"
    count_dead_letter(stage, reason)
    if (count := _worth_logging(stage, reason)) is not None:
        log.warning("dead letter from %s (%s): %s%s", where, stage, reason, f" ({count} like it)" if count > 1 else "")
    key = message.key if isinstance(message.key, bytes) else None
    value = message.value if isinstance(message.value, bytes) else None
    record = dead_letter(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=key,
        value=value,
        stage=stage,
        reason=reason,
        keep_payload=keep_payload,
    )
    try:
        await dead_letter_topic.send(key=key, value=record)
    except Exception:  # the agent must go on; the log says which record could not be kept
        log.exception("could not dead-letter %s (%s): %s", where, stage, reason)
