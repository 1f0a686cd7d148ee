"""The records the agents have in hand, so that a stopping worker lets them finish.

Faust closes the tables at shutdown and for the partitions a rebalance takes away; before that the app
waits here (``records_in_hand_finished``) for the record each agent is handling, and for the answers
still on their way to the broker: their answer out, their state written, their offset acknowledged. A
record still in hand when the wait runs out stays unacknowledged and comes again (to this worker after
its restart, or to another): never committed half done."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator

__all__ = ["hold", "holding", "records_in_hand_finished", "when_put_down"]

log = logging.getLogger(__name__)

# agent stage -> records being handled (one at a time), or handled with their answer still on its way
_in_hand: Counter[str] = Counter()
_all_put_down = asyncio.Event()
# Run once every record is put down, before the tables close (an agent's last writes).
_when_put_down: list[Callable[[], None]] = []


def when_put_down(callback: Callable[[], None]) -> None:
    """Call ``callback`` each time the records in hand are finished, before the tables close."""
    _when_put_down.append(callback)


def hold(stage: str) -> Callable[[], None]:
    """A record of ``stage`` in hand until the returned function is called (once)."""
    _in_hand[stage] += 1
    released = False

    def release() -> None:
        nonlocal released
        if released:
            return
        released = True
        _in_hand[stage] -= 1
        if not +_in_hand:
            _all_put_down.set()

    return release


@contextlib.contextmanager
def holding(stage: str) -> Iterator[None]:
    """A record of ``stage`` in hand for the duration of the block."""
    release = hold(stage)
    try:
        yield
    finally:
        release()


async def records_in_hand_finished(timeout_s: float) -> bool:
    """Wait (at most ``timeout_s``) until no agent has a record in hand; True when none has."""
    if +_in_hand:
        _all_put_down.clear()
        try:
            await asyncio.wait_for(_all_put_down.wait(), timeout_s)
        except TimeoutError:
            log.warning("records still in hand after %.0f s: %s; they will come again", timeout_s, dict(+_in_hand))
            return False
    for callback in _when_put_down:
        try:
            callback()
        except Exception:  # the stop or the rebalance goes on; what it left comes again
            log.exception("after the records in hand: %r failed", callback)
    return True
