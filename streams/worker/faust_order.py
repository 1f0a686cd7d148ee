"""Faust must hand the agents each partition's records in offset order, from where it last sought.

faust-streaming 0.15.3 fetches a batch of records and feeds it to the agents lazily. When it seeks a
partition back to its committed offset meanwhile (at the end of each table recovery: after a restart,
at every rebalance), the rest of the old batch still comes after the first records fetched from the
committed offset. Faust then sees offsets jump ahead, takes the jump for a gap (as compaction or
transaction markers leave), treats the skipped offsets as acknowledged, and commits past them; the
skipped records themselves arrive later, behind its read offset, and are dropped without a word.
Measured on the embedded broker: after SIGKILL restarts, 18 and 26 consecutive frames of one session
never analysed, no dead letter, the offsets committed.

The same window loses records a second way: between that seek and the moment the streams resume,
Faust fetches records and its streams skip them (their flow is still stopped). It used to acknowledge
them (``streams.worker.faust_acks`` stops that); unacknowledged, they still come again only at the next
seek, which may be the next rebalance: measured, the last 6 frames of a session waited for ever and the
session never ended.

Here each source partition's next expected offset is tracked (set by every seek, advanced by every
record handed on). A record behind it is a stale copy: dropped (the position is past it). A record
ahead of it is either stale (from before a backward seek) or after a real gap: it is dropped and the
partition is sought back to the expected offset; if the same jump comes again from there, the gap is
real, recorded as Faust's gap (its offsets count as handled), and the record is handed on. A record
the streams would skip (their flow stopped, or a record of an older rebalance generation) is not handed
on either: the partition is sought back to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Literal

__all__ = ["deliver_in_order"]

log = logging.getLogger(__name__)


class _Order:
    """One consumer's bookkeeping: the next offset expected per partition, and jumps sought back."""

    def __init__(self) -> None:
        self.expected: dict[Any, int | None] = {}
        # tp -> (expected, offset) of the last jump sought back, and the batch count when it was.
        self.sought_back: dict[Any, tuple[int, int, int]] = {}
        self.batches = 0
        self.dropped = 0

    def admit(self, tp: Any, offset: int, batch: int) -> Literal["hand_on", "hand_on_after_gap", "drop", "seek_back"]:
        """What to do with the record at ``offset`` of ``tp``, from the ``batch``-th fetch."""
        expected = self.expected.get(tp)
        if expected is not None and offset < expected:
            return "drop"  # a stale copy: the position is past it
        if expected is not None and offset > expected:
            last = self.sought_back.get(tp)
            # The same jump again, from a batch fetched after it was sought back: a real gap.
            if not (last is not None and last[:2] == (expected, offset) and batch > last[2]):
                self.sought_back[tp] = (expected, offset, self.batches)
                return "seek_back"
            self.expected[tp] = offset + 1
            return "hand_on_after_gap"
        self.expected[tp] = offset + 1
        return "hand_on"

    def hold(self, tp: Any, offset: int) -> int | None:
        """The offset to fetch ``tp`` again from, for a record at ``offset`` the streams would skip now;
        None when it is a stale copy the position is already past."""
        expected = self.expected.get(tp)
        if expected is None:
            self.expected[tp] = expected = offset
        return None if offset < expected else expected

    def reset(self, tp: Any, offset: int | None) -> None:
        self.expected[tp] = offset if offset is not None and offset >= 0 else None
        self.sought_back.pop(tp, None)


def _order_of(consumer: Any) -> _Order:
    order = consumer.__dict__.get("_integrity_order")
    if order is None:
        order = consumer.__dict__["_integrity_order"] = _Order()
    return order


def deliver_in_order(app: Any, is_source: Callable[[str], bool]) -> None:
    """Patch Faust's consumer; ``is_source(topic)``: whether the topic is one the agents read
    (changelogs, read by table recovery, are left as they are)."""
    from faust.transport.consumer import Consumer, ThreadDelegateConsumer

    if getattr(Consumer, "_integrity_order", False):
        return
    getmany, seek, seek_to_committed = Consumer.getmany, Consumer.seek, ThreadDelegateConsumer.seek_to_committed

    async def _seek_to_committed(self: Any) -> Mapping[Any, int]:
        offsets = await seek_to_committed(self)
        order = _order_of(self)
        for tp, offset in offsets.items():
            order.reset(tp, offset)
        return offsets

    async def _seek(self: Any, partition: Any, offset: int) -> None:
        await seek(self, partition, offset)
        _order_of(self).reset(partition, offset)

    async def _seek_quietly(self: Any, tp: Any, offset: int) -> None:
        try:
            await seek(self, tp, offset)
        except Exception as exc:  # the partition went away at a rebalance: its next owner seeks
            log.info("could not seek %s[%d] back to %d: %r", *tp, offset, exc)

    async def _getmany(self: Any, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        order = _order_of(self)
        order.batches += 1
        batch = order.batches  # fetched after every seek made before this point
        stale: set[Any] = set()  # partitions sought back during this batch: the rest of it is old
        async for tp, message in getmany(self, timeout):
            if not is_source(tp.topic):
                yield tp, message
                continue
            if tp not in stale and (
                not app.flow_control.is_active() or message.generation_id != app.consumer_generation_id
            ):
                # The streams would skip it: fetch it again once they run (a short pause: until then
                # every fetch comes back here).
                stale.add(tp)
                order.dropped += 1
                again = order.hold(tp, message.offset)
                if again is not None:
                    await _seek_quietly(self, tp, again)
                    await asyncio.sleep(0.05)
                continue
            expected = order.expected.get(tp)
            verdict = "drop" if tp in stale else order.admit(tp, message.offset, batch)
            if verdict == "hand_on_after_gap" and expected is not None:
                # Faust marks a gap from the offset after the one it last read, which after a seek is the
                # first missing one itself: recorded here, so that commits pass the whole gap
                # (streams.worker.faust_acks holds a commit at an offset not handled).
                self._gap[tp].addi(expected, message.offset)
            if verdict == "drop":
                order.dropped += 1
                continue
            if verdict == "seek_back":
                order.dropped += 1
                stale.add(tp)
                expected = order.expected[tp]
                assert expected is not None  # a jump is measured from a known offset
                log.info("%s[%d]: record %d came before %d; fetching again from there", *tp, message.offset, expected)
                await _seek_quietly(self, tp, expected)
                continue
            yield tp, message

    Consumer.getmany = _getmany  # type: ignore[method-assign]
    Consumer.seek = _seek  # type: ignore[method-assign]
    ThreadDelegateConsumer.seek_to_committed = _seek_to_committed  # type: ignore[method-assign]
    Consumer._integrity_order = True  # type: ignore[attr-defined]
