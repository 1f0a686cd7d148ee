"""One policy for every record an agent reads: handled, skipped as already answered, forwarded to its
key's partition, or a dead letter with the reason, and the stream goes on.

Every agent runs its records through ``process`` (after Quix Streams' ``on_processing_error``): a record
that is empty (a null value) or not decodable, a record the stage refuses (``Refused``, or an exception
the stage lists as a refusal), and an unexpected error all end as a DeadLetter on the dead-letter topic
(``streams.worker.dead_letters``).

Ingress topics (frames, session control, reviews) take records from any client. A record on another
partition than the one its key belongs on (``streams.kafka.partitioning``: a librdkafka producer with its
default CRC32 partitioner) is forwarded there once, untouched, and counted: a session's frames, control
records, state and results always meet on one partition, so a session never exists twice.

An event is acknowledged (its offset may be committed) only once it is handled; the app waits for the
record in hand before it closes the tables (``streams.worker.in_hand``), and a stopping worker starts no
new record (``unless_stopping``).

A record already answered (``streams.redelivery``) raises ``Redelivered``: skipped and counted, no
second answer and no dead letter. ``delivered`` sends a stage's output and waits for the broker's
acknowledgement, so that a stage records a frame as answered only once its answer is out. A stage may
instead return its answer's acknowledgement still to come (``sent``): the record is then acknowledged
when it comes, and stays in hand until then, while the stage goes on with the next record; such a stage
keeps the answers it is not sure of in its state, to send again (``streams.redelivery``). A forwarded
record is acknowledged only once its copy is out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from faust.types import EventT, StreamT, TopicT

from streams.app import app, settings
from streams.kafka.partitioning import partition_of
from streams.topics import dead_letter_topic
from streams.worker import progress
from streams.worker.dead_letters import DeadLetterLog, dead_letter
from streams.worker.in_hand import hold, holding
from streams.worker.metrics import count_dead_letter
from streams.worker.serializers import Undecodable

__all__ = [
    "Redelivered",
    "Refused",
    "Stage",
    "delivered",
    "process",
    "send_dead_letter",
    "sent",
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
    # DeadLetter.stage: detection, risk, control, reviews.
    name: str
    # The record type the stage reads ("bad Frame record: ...").
    record: str
    # How unexpected errors are labelled ("vision error: ...").
    errors: str
    # Exceptions that mean "this record is refused", with the reason's prefix ("bad image: ...").
    refusals: Mapping[type[Exception], str] = field(default_factory=dict)
    # Records come from outside producers: route each to its key's partition first.
    ingress: bool = False


# A handler returns None once the record is done with, or the acknowledgement of its answer still to come.
Handler = Callable[[EventT, Any], Awaitable["asyncio.Future[Any] | None"]]

_dead_letter_log = DeadLetterLog()


async def unless_stopping() -> None:
    """Return at once while the worker runs; once it is stopping, never (the agent is cancelled here,
    its event unacknowledged)."""
    if app.should_stop:
        await asyncio.Event().wait()


async def process(stream: StreamT, stage: Stage, handle: Handler) -> None:
    """Feed each record of ``stream`` to ``handle``; dead-letter what cannot be processed, and go on."""
    # Faust acks an event when the agent moves on, or is cancelled mid-event at shutdown: that one
    # would be committed unprocessed. Acked here instead, once handled.
    stream.enable_acks = False
    async for event in stream.events():
        await unless_stopping()
        with holding(stage.name):
            answer = None
            if not (stage.ingress and await _forwarded_to_its_partition(event)):
                answer = await _process_one(event, stage, handle)
                message = event.message
                progress.finished(message.topic, message.partition, message.offset, message.timestamp)
            if answer is None:
                event.ack()
            else:
                _acknowledge_once_out(event, answer, stage.name)


def _acknowledge_once_out(event: EventT, answer: asyncio.Future[Any], stage: str) -> None:
    """Acknowledge ``event`` when its answer is out; in hand until then (a stopping worker waits for it)."""
    release = hold(stage)

    def done(future: asyncio.Future[Any]) -> None:
        release()
        if future.cancelled() or future.exception() is not None:
            # Not acknowledged: the commit holds here (streams.worker.faust_acks), and the record comes
            # again at the next rebalance or restart, its answer sent again from the state.
            message = event.message
            reason = "cancelled" if future.cancelled() else repr(future.exception())
            log.error("%s: the answer to %s[%d]@%d was not sent: %s", stage, *message.tp, message.offset, reason)
            return
        event.ack()

    answer.add_done_callback(done)


async def _process_one(event: EventT, stage: Stage, handle: Handler) -> asyncio.Future[Any] | None:
    value = event.value
    if value is None:
        await send_dead_letter(event, stage.name, f"no {stage.record} record: the value is null (a tombstone)")
        return None
    if isinstance(value, Undecodable):
        await send_dead_letter(event, stage.name, f"bad {stage.record} record: {value.reason}")
        return None
    try:
        return await handle(event, value)
    except Redelivered as exc:
        progress.redelivered[stage.name] += 1
        count = progress.redelivered[stage.name]
        if count == 1 or count % 100 == 0:
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
    return None


async def sent(topic: TopicT, key: bytes, value: Any) -> asyncio.Future[Any]:
    """Send; returns the broker's acknowledgement, to wait for later."""
    pending = await topic.send(key=key, value=value)
    return asyncio.ensure_future(pending)  # Faust's FutureMessage is one already


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
    # Out before the record is acknowledged: a forward still in the producer's buffer when the worker
    # dies, or one the broker refused, would otherwise be a frame committed and never analysed.
    pending = await event.forward(message.topic, partition=home)
    await pending
    progress.forwarded[message.topic] += 1
    count = progress.forwarded[message.topic]
    if count == 1 or count % 1000 == 0:
        log.warning(
            "%d record(s) of %s arrived on a partition other than their key's (murmur2) and were forwarded, "
            "e.g. %s[%d]@%d to partition %d: set the producer's partitioner to murmur2_random to save the hop",
            count,
            message.topic,
            message.topic,
            message.partition,
            message.offset,
            home,
        )
    return True


async def send_dead_letter(event: EventT, stage: str, reason: str, *, keep_payload: bool = True) -> None:
    """Dead-letter the record behind ``event``. The payload goes to the topic, never to the log."""
    message = event.message
    where = f"{message.topic}[{message.partition}]@{message.offset}"
    count_dead_letter(stage, reason)
    if (count := _dead_letter_log.worth_logging(stage, reason)) is not None:
        log.warning("dead letter from %s (%s): %s%s", where, stage, reason, f" ({count} like it)" if count > 1 else "")
    key = message.key if isinstance(message.key, bytes) else None
    record = dead_letter(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=key,
        value=message.value if isinstance(message.value, bytes) else None,
        stage=stage,
        reason=reason,
        max_payload_bytes=settings.ingress.dead_letter_max_payload_bytes if keep_payload else 0,
    )
    try:
        await dead_letter_topic.send(key=key, value=record)
    except Exception:  # the agent must go on; the log says which record could not be kept
        log.exception("could not dead-letter %s (%s): %s", where, stage, reason)
