"""The records the agents have in hand, so that a stopping worker lets them finish.

Faust closes the tables at shutdown and for the partitions a rebalance takes away; before that the app
waits here (``records_in_hand_finished``) for the record each agent is handling: its answer out, its
state written, its offset acknowledged. A record still in hand when the wait runs out stays
unacknowledged and comes again (to this worker after its restart, or to another): never committed half
done."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Iterator

__all__ = ["holding", "records_in_hand_finished"]

log = logging.getLogger(__name__)

_in_hand: Counter[str] = Counter()  # agent stage -> records being handled (0 or 1: one at a time)
_all_put_down = asyncio.Event()


@contextlib.contextmanager
def holding(stage: str) -> Iterator[None]:
    """A record of ``stage`` in hand for the duration of the block."""
    _in_hand[stage] += 1
    try:
        yield
    finally:
        _in_hand[stage] -= 1
        if not +_in_hand:
            _all_put_down.set()


async def records_in_hand_finished(timeout_s: float) -> bool:
    """Wait (at most ``timeout_s``) until no agent has a record in hand; True when none has."""
    if not +_in_hand:
        return True
    _all_put_down.clear()
    try:
        await asyncio.wait_for(_all_put_down.wait(), timeout_s)
    except TimeoutError:
        log.warning("records still in hand after %.0f s: %s; they will come again", timeout_s, dict(+_in_hand))
        return False
    return True
