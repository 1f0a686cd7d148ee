"""Which frames a session has already answered: at-least-once delivery made idempotent.

Kafka redelivers what a worker had processed but not committed when it died, and a producer may
resend. Each stage remembers the sequences it answered most recently (a bounded list in its per-session
state) and writes its output, waiting for the broker's acknowledgement, *before* it records a frame as
answered. So a sequence in the list has its answer on the output topic, and a second delivery is
skipped: one answer per frame. A sequence not in the list has no state applied for it either, and is
processed as if for the first time, from the same state: the same answer.

Plain Python over lists (no Faust, no Kafka): the vision and risk states both keep one.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ANSWERED_KEPT", "already_answered", "answered_with"]

# Sequences remembered per session and stage. A SIGKILL redelivers up to one commit interval (1 s)
# of input: 256 frames covers any sane frame rate many times over. Older sequences are refused at the
# edge as too far behind (streams.validation), so none is answered twice unnoticed.
ANSWERED_KEPT = 256


def already_answered(answered: Sequence[int], sequence: int) -> bool:
    return sequence in answered


def answered_with(answered: Sequence[int], sequence: int) -> list[int]:
    """``answered`` with ``sequence`` added, the oldest dropped past ``ANSWERED_KEPT``."""
    return [*answered[-(ANSWERED_KEPT - 1) :], sequence]
