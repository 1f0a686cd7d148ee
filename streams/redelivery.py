"""Which frames a session has already answered: at-least-once delivery made idempotent.

Kafka redelivers what a worker had processed but not committed when it died, and a producer may
resend. Each stage remembers the sequences it answered most recently (a bounded list in its per-session
state) and writes its output, waiting for the broker's acknowledgement, *before* it records a frame as
answered. So a sequence in the list has its answer on the output topic, and a second delivery is
skipped: one answer per frame. A sequence not in the list has no state applied for it either, and is
processed as if for the first time, from the same state: the same answer.

The risk stage does not wait for each Result (a broker round trip per observation capped it at a few
hundred a second): it records the frame as answered at once and keeps, beside the list, the Results
whose acknowledgement it has not seen (``unconfirmed``). Its record is acknowledged only once the
Result is out, so a record whose Result may be lost comes again, before any newer record of its session
(one partition, in order); its sequence is answered, so its kept Result is sent again, identical
(unless this process still has it on its way: a producer's resend of the frame).
Results this process saw acknowledged leave the kept list at the session's next write, and so do those
kept by a previous owner: their records, had they been uncommitted, would have come first. Before a
stop or a rebalance closes the tables, once every Result is out, each session's list is written without
them: its records, refused acknowledgement then, come again to be skipped, not answered twice.

Plain Python over lists (no Faust, no Kafka): the vision and risk states both keep one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

__all__ = ["ANSWERED_KEPT", "AnswersOnTheirWay", "already_answered", "answered_with", "unconfirmed_answer"]

# Sequences remembered per session and stage. A SIGKILL redelivers up to one commit interval (1 s)
# of input: 256 frames covers any sane frame rate many times over. Older sequences are refused at the
# edge as too far behind (streams.validation), so none is answered twice unnoticed.
ANSWERED_KEPT = 256


def already_answered(answered: Sequence[int], sequence: int) -> bool:
    return sequence in answered


def answered_with(answered: Sequence[int], sequence: int) -> list[int]:
    """``answered`` with ``sequence`` added, the oldest dropped past ``ANSWERED_KEPT``."""
    return [*answered[-(ANSWERED_KEPT - 1) :], sequence]


def unconfirmed_answer(unconfirmed: Sequence[dict[str, Any]], sequence: int) -> dict[str, Any] | None:
    """The kept answer to frame ``sequence``, if its acknowledgement was not seen."""
    return next((answer for answer in unconfirmed if answer["frame_sequence"] == sequence), None)


class AnswersOnTheirWay:
    """The answers this process has sent and not seen acknowledged, by session and frame sequence.

    An answer whose send failed stays: it is kept in the state until its record comes again."""

    def __init__(self) -> None:
        self._out: dict[str, dict[int, asyncio.Future[Any]]] = {}
        # Acknowledged since the session's last write, while its state still lists them.
        self._seen: dict[str, set[int]] = {}

    def unconfirmed(
        self, session_id: str, kept: Sequence[dict[str, Any]], answer: dict[str, Any], out: asyncio.Future[Any]
    ) -> list[dict[str, Any]]:
        """The session's kept answers once ``answer`` is sent (``out``: its acknowledgement to come): those
        still on their way from this process (or failed), and ``answer``."""
        still = self.still_unconfirmed(session_id, kept)
        on_the_way = self._out.setdefault(session_id, {})
        self._seen.pop(session_id, None)
        sequence = answer["frame_sequence"]
        on_the_way[sequence] = out
        out.add_done_callback(lambda future: self._done(session_id, sequence, future))
        return [*still, answer]

    def _done(self, session_id: str, sequence: int, future: asyncio.Future[Any]) -> None:
        if not _acknowledged(future):
            return
        on_the_way = self._out.get(session_id, {})
        if on_the_way.get(sequence) is future:
            del on_the_way[sequence]
            self._seen.setdefault(session_id, set()).add(sequence)
            if not on_the_way:
                self._out.pop(session_id, None)

    def still_unconfirmed(self, session_id: str, kept: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Of the session's kept answers, those not seen acknowledged here (on their way, or failed)."""
        on_the_way = self._out.get(session_id, {})
        return [kept_answer for kept_answer in kept if kept_answer["frame_sequence"] in on_the_way]

    def to_send_again(self, session_id: str, sequence: int) -> bool:
        """Whether a kept answer must be sent again: not seen acknowledged here, nor still on its way
        (a producer's resend of the frame while it is)."""
        out = self._out.get(session_id, {}).get(sequence)
        if out is None:
            return sequence not in self._seen.get(session_id, ())
        return out.done() and not _acknowledged(out)

    def failed(self, session_id: str) -> set[int]:
        """The sequences whose answer this process failed to send (and has not sent again)."""
        on_the_way = self._out.get(session_id, {})
        return {sequence for sequence, out in on_the_way.items() if out.done() and not _acknowledged(out)}

    def sent_again(self, session_id: str, sequence: int) -> None:
        """A kept answer was sent again and acknowledged: out, like one seen acknowledged."""
        on_the_way = self._out.get(session_id, {})
        on_the_way.pop(sequence, None)
        if not on_the_way:
            self._out.pop(session_id, None)
        self._seen.setdefault(session_id, set()).add(sequence)

    async def all_out(self, session_id: str) -> None:
        """Wait until every answer of the session sent from here is acknowledged (raises if one failed)."""
        on_the_way = list(self._out.get(session_id, {}).values())
        if on_the_way:
            await asyncio.gather(*on_the_way)
        self._seen.pop(session_id, None)


def _acknowledged(out: asyncio.Future[Any]) -> bool:
    return not out.cancelled() and out.exception() is None
