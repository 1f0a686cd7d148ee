"""One policy for a record an agent cannot process: a dead letter with the reason, and the stream goes on.

Every agent runs its records through ``process`` (after Quix Streams' ``on_processing_error``): a record
that is empty (a null value) or not decodable, a record the stage refuses (``Refused``, or an exception
the stage lists as a refusal), and an unexpected error all end as a DeadLetter on the dead-letter topic
with the stage, the reason, the source offset and the original bytes. Payloads go to that topic, never
to the log: frames are biometric data.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from faust.types import EventT, StreamT

from schemas.records import DeadLetter, now_ms
from streams.serializers import Undecodable
from streams.topics import dead_letter_topic

__all__ = ["Refused", "Stage", "process", "send_dead_letter"]

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


Handler = Callable[[EventT, Any], Awaitable[None]]


async def process(stream: StreamT, stage: Stage, handle: Handler) -> None:
    """Feed each record of ``stream`` to ``handle``; dead-letter what cannot be processed, and go on."""
    refusals = tuple(stage.refusals)
    async for event in stream.events():
        value = event.value
        if value is None:
            await send_dead_letter(event, stage.name, f"no {stage.record} record: the value is null (a tombstone)")
            continue
        if isinstance(value, Undecodable):
            await send_dead_letter(event, stage.name, f"bad {stage.record} record: {value.reason}")
            continue
        try:
            await handle(event, value)
        except Refused as exc:
            await send_dead_letter(event, stage.name, str(exc))
        except refusals as exc:
            prefix = next(text for kind, text in stage.refusals.items() if isinstance(exc, kind))
            await send_dead_letter(event, stage.name, f"{prefix}: {exc}")
        except Exception as exc:  # a bug must cost one record, not the partition
            message = event.message
            log.exception("%s failed on %s[%d]@%d", stage.name, message.topic, message.partition, message.offset)
            await send_dead_letter(event, stage.name, f"{stage.errors} error: {type(exc).__name__}: {exc}")


async def send_dead_letter(event: EventT, stage: str, reason: str) -> None:
    """Dead-letter the record behind ``event``. The payload goes to the topic, never to the log."""
    message = event.message
    key = message.key if isinstance(message.key, bytes) else None
    payload = message.value if isinstance(message.value, bytes) else None
    log.warning("dead letter from %s[%d]@%d (%s): %s", message.topic, message.partition, message.offset, stage, reason)
    record: DeadLetter = {
        "source_topic": message.topic,
        "source_partition": message.partition,
        "source_offset": message.offset,
        "key": key,
        "stage": stage,
        "reason": reason,
        "failed_at_ms": now_ms(),
        "payload": payload,
    }
    await dead_letter_topic.send(key=key, value=record)
