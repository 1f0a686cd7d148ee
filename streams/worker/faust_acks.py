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
"""

from __future__ import annotations

from typing import Any

__all__ = ["acknowledge_only_processed_records"]


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
