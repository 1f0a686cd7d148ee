"""Faust must not acknowledge a record it skipped without processing.

faust-streaming 0.15.3 skips the records a stream has buffered when a rebalance begins (the record's
generation is no longer the consumer's) or while its flow is stopped (a rebalance, a shutdown), and
acknowledges them "so that the lag does not grow" (``Stream._py_aiter``). A partition that stays with the
worker then commits past them: they are never processed. Measured: after SIGKILLs, a restarted worker
joins a group that still lists its dead self, rebalances again ~10 s later, and loses the frames it had
buffered (a session's state missing 14 of 120 frames; frames refused as running 11 s ahead of the
session's newest).

Here an acknowledgement counts only for a record of the current generation while the flow runs; the
others stay unacknowledged and are fetched again from the committed offset. Agents acknowledge their
records themselves once handled (``streams.agents.stage``), and a record handled twice is answered
once (``streams.redelivery``), so refetching is safe.

A skipped record left unacknowledged must also hold the commit back. Faust's ``_new_offset`` commits the
first run of consecutive acknowledged offsets, and checks that the run starts at the committed offset
only loosely (``min(acked) - committed > 1``): a run starting one past it passes, so the one record *at*
the committed offset (the first one fetched again) is committed unprocessed when the records after it
were acknowledged first. Here a run must start at the committed offset or at a gap Faust knows of (a
compacted or transactional topic's missing offsets; ``streams.worker.faust_order`` records those it
confirms); otherwise nothing is committed for the partition until the record there is handled.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["acknowledge_only_processed_records", "commit_only_from_the_committed_offset"]

log = logging.getLogger(__name__)


def acknowledge_only_processed_records(app: Any) -> None:
    from faust.events import Event

    if getattr(Event, "_integrity_acks", False):
        return
    acknowledge = Event.ack

    def ack(self: Any) -> bool:
        if self.message.generation_id != app.consumer_generation_id or not app.flow_control.is_active():
            return False  # left for the next fetch from the committed offset
        return bool(acknowledge(self))

    Event.ack = ack  # type: ignore[method-assign]
    Event._integrity_acks = True  # type: ignore[attr-defined]


def commit_only_from_the_committed_offset() -> None:
    from faust.transport.consumer import Consumer

    if getattr(Consumer, "_integrity_commits", False):
        return
    new_offset = Consumer._new_offset
    held: set[tuple[Any, int]] = set()  # (tp, committed offset) already said, so the log says each once

    def _new_offset(self: Any, tp: Any) -> int | None:
        acked, committed = self._acked[tp], self._committed_offset[tp]
        if acked and committed is not None:
            lowest = min([*acked, *(interval.begin for interval in self._gap[tp])])
            if lowest > committed:
                if (tp, committed) not in held:
                    held.add((tp, committed))
                    log.warning(
                        "%s[%d]: offset %d is not handled yet, %d is: the commit waits for it",
                        tp.topic,
                        tp.partition,
                        committed,
                        lowest,
                    )
                return None
        result: int | None = new_offset(self, tp)
        return result

    Consumer._new_offset = _new_offset  # type: ignore[method-assign]
    Consumer._integrity_commits = True  # type: ignore[attr-defined]
