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
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from faust.types import EventT, StreamT

from schemas.records import DeadLetter, now_ms
from streams.app import settings
from streams.kafka.partitioning import partition_of
from streams.serializers import Undecodable
from streams.topics import dead_letter_topic

__all__ = ["Refused", "Stage", "caught_up_to", "forwarded", "process", "send_dead_letter"]

log = logging.getLogger(__name__)


class Refused(Exception):
    """A record this stage will not process; the message is the dead letter's reason."""


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

# How far each stage has got on each partition: (topic, partition) -> (broker timestamp of the newest
# record it finished, in ms; this worker's clock when it finished one).
_progress: dict[tuple[str, int], tuple[int, int]] = {}
# A partition with no record finished for this long has nothing queued: it has caught up.
_IDLE_MS = 2_000


def caught_up_to(topic: str, partition: int, now_ms: int) -> int:
    """Broker time up to which this worker has processed ``topic``'s ``partition``: the records
    produced before it are done (0: nothing processed yet, and busy or never seen)."""
    newest, active_at = _progress.get((topic, partition), (0, 0))
    return max(newest, now_ms - _IDLE_MS) if now_ms - active_at >= _IDLE_MS else newest


def _finished(event: EventT) -> None:
    message = event.message
    received_ms = int(message.timestamp * 1000)
    newest, _ = _progress.get((message.topic, message.partition), (0, 0))
    _progress[(message.topic, message.partition)] = (max(newest, received_ms), now_ms())


Handler = Callable[[EventT, Any], Awaitable[None]]


async def process(stream: StreamT, stage: Stage, handle: Handler) -> None:
    """Feed each record of ``stream`` to ``handle``; dead-letter what cannot be processed, and go on."""
    async for event in stream.events():
        if stage.ingress and await _forwarded_to_its_partition(event):
            continue
        await _process_one(event, stage, handle)
        _finished(event)


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
    except Refused as exc:
        await send_dead_letter(event, stage.name, str(exc))
    except tuple(stage.refusals) as exc:
        prefix = next(text for kind, text in stage.refusals.items() if isinstance(exc, kind))
        await send_dead_letter(event, stage.name, f"{prefix}: {exc}")
    except Exception as exc:  # a bug must cost one record, not the partition
        message = event.message
        log.exception("%s failed on %s[%d]@%d", stage.name, message.topic, message.partition, message.offset)
        await send_dead_letter(event, stage.name, f"{stage.errors} error: {type(exc).__name__}: {exc}")


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
    *, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None, stage: str, reason: str
) -> DeadLetter:
    """The DeadLetter of a refused record; a value over the size limit keeps its prefix and its digest."""
    limit = settings.ingress.dead_letter_max_payload_bytes
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


async def send_dead_letter(event: EventT, stage: str, reason: str) -> None:
    """Dead-letter the record behind ``event``. The payload goes to the topic, never to the log."""
    message = event.message
    where = f"{message.topic}[{message.partition}]@{message.offset}"
    log.warning("dead letter from %s (%s): %s", where, stage, reason)
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
    )
    try:
        await dead_letter_topic.send(key=key, value=record)
    except Exception:  # the agent must go on; the log says which record could not be kept
        log.exception("could not dead-letter %s (%s): %s", where, stage, reason)
