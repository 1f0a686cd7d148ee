"""Dead-letter records: what a refused record becomes, and which of them the log mentions.

A dead letter keeps the stage, the reason, the source offset and the original bytes up to a limit
(beyond it a prefix, always the whole record's size and SHA-256). Payloads go to the dead-letter topic,
never to the log: frames are biometric data."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from schemas.records import DeadLetter, now_ms

__all__ = ["DeadLetterLog", "dead_letter"]


def dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    stage: str,
    reason: str,
    max_payload_bytes: int,
) -> DeadLetter:
    """The DeadLetter of a refused record; a value over ``max_payload_bytes`` keeps its prefix and digest."""
    return {
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "key": key,
        "stage": stage,
        "reason": reason,
        "failed_at_ms": now_ms(),
        "payload": value[:max_payload_bytes] if value is not None else None,
        "payload_size": len(value) if value is not None else None,
        "payload_sha256": hashlib.sha256(value).hexdigest() if value is not None else None,
    }


class DeadLetterLog:
    """Dead letters so far by stage and kind of reason (its first words): the log shows the 1st, 10th,
    100th... of each kind, so a flood of bad records does not flood the log (the topic has every one)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def worth_logging(self, stage: str, reason: str) -> int | None:
        """Count this one; its count when it is one to log (1, 10, 100, ...), else None."""
        kind = (stage, re.sub(r"\d+|'[^']*'", "_", reason)[:48])
        self.counts[kind] += 1
        count = self.counts[kind]
        return count if count == 10 ** (len(str(count)) - 1) else None
