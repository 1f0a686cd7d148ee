"""policies -> every worker's PolicyBook; a policy no worker takes -> a dead letter with the reason.

Every worker follows the policies topic on its own, with no consumer group (``streams.kafka.policies``):
each needs every policy. This agent reads the topic too, in the group, so that one worker (the one that owns
its single partition) dead-letters each refused record once, with the reason; what it reads goes into the
same book (a record taken twice changes nothing).
"""

from __future__ import annotations

from faust.types import EventT, StreamT

from streams.agents.stage import Refused, Stage, process
from streams.app import app, settings
from streams.kafka.policies import PolicyFollower, take_record
from streams.risk import PolicyBook
from streams.topics import policies_topic

__all__ = ["book", "follower"]

# The policy files, then every version published: the risk engine's book.
book = PolicyBook(settings.risk.policy_dir, settings.risk.default_policy, require_default=False)
follower = PolicyFollower(settings, book)

POLICIES = Stage("policies", record="policy", errors="policies")


async def take(event: EventT, document: bytes) -> None:
    taken = take_record(book, event.key, document)
    if taken.reason is not None:
        raise Refused(taken.reason)


@app.agent(policies_topic)
async def take_policies(stream: StreamT) -> None:
    await process(stream, POLICIES, take)


@app.task
async def follow_policies() -> None:
    await follower.run()
