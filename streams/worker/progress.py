"""How far this worker has processed each input partition, and what it skipped or moved on the way.

The readiness check (lag in broker time), the idle-session timer (an end waits for every frame produced
before it) and ``/health/`` read it; the agents' stage (``streams.agents.stage``) writes it. Faust's
consumer is passed in: this module does not import the app."""

from __future__ import annotations

from collections import Counter
from typing import Any

from faust.types import TP

__all__ = ["caught_up_to", "finished", "forwarded", "pending_records", "redelivered"]

# Records forwarded to their key's partition, by topic (shown by /health/).
forwarded: Counter[str] = Counter()
# Records skipped as already answered, by stage (shown by /health/).
redelivered: Counter[str] = Counter()

# (topic, partition) -> (broker timestamp of the newest record finished here, in ms; the offset after it).
_progress: dict[tuple[str, int], tuple[int, int]] = {}


def finished(topic: str, partition: int, offset: int, timestamp_s: float) -> None:
    """A record of ``topic``'s ``partition`` at ``offset`` (broker time ``timestamp_s``) is handled."""
    received_ms = int(timestamp_s * 1000)
    newest, after = _progress.get((topic, partition), (0, 0))
    _progress[(topic, partition)] = (max(newest, received_ms), max(after, offset + 1))


def _next_offset(consumer: Any, tp: TP) -> int:
    """The next offset this worker will process on ``tp``: the newer of the committed one (Faust sets it at
    assignment and on each commit) and the one after the newest record finished here."""
    committed = getattr(consumer, "_committed_offset", {}).get(tp) or 0  # Faust's own, not in its API
    _, after = _progress.get((tp.topic, tp.partition), (0, 0))
    return max(committed, after)


def pending_records(consumer: Any, tp: TP) -> int | None:
    """Records on ``tp`` this worker has not processed yet (None: not fetched since it started)."""
    highwater = consumer.highwater(tp)
    return None if highwater is None else max(highwater - _next_offset(consumer, tp), 0)


def caught_up_to(consumer: Any, topic: str, partition: int, now_ms: int) -> int:
    """Broker time up to which this worker has processed ``topic``'s ``partition``: ``now_ms`` when nothing
    of it is left to process, otherwise the broker time of the newest record finished here (0: none yet
    since this worker started).

    Nothing is left when every record the partition held at its last fetch is processed; a partition not
    fetched yet since this worker started is unknown, so not drained. On the embedded broker a batching
    producer (librdkafka) makes the high watermark read low, so a partition can look drained a little
    early there."""
    if pending_records(consumer, TP(topic, partition)) == 0:
        return now_ms
    return _progress.get((topic, partition), (0, 0))[0]
