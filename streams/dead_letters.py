"""Dead letters: every record a stage refuses goes here with the reason, and the stream goes on."""

from __future__ import annotations

import logging
import time
from typing import Any

from faust.types import EventT

from streams.topics import dead_letter_topic

__all__ = ["dead_letter_record", "send_dead_letter"]

log = logging.getLogger(__name__)


def dead_letter_record(
    *, topic: str, partition: int, offset: int, key: bytes | None, payload: bytes | None, stage: str, reason: str
) -> dict[str, Any]:
    return {
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "key": key,
        "stage": stage,
        "reason": reason,
        "failed_at_ms": int(time.time() * 1000),
        "payload": payload,
    }


async def send_dead_letter(event: EventT, stage: str, reason: str) -> None:
    """Dead-letter the record behind ``event``. The payload goes to the topic, never to the log."""
    message = event.message
    key = message.key if isinstance(message.key, bytes) else None
    payload = message.value if isinstance(message.value, bytes) else None
    log.warning("dead letter from %s[%d]@%d (%s): %s", message.topic, message.partition, message.offset, stage, reason)
    record = dead_letter_record(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=key,
        payload=payload,
        stage=stage,
        reason=reason,
    )
    await dead_letter_topic.send(key=key, value=record)
