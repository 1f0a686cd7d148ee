"""Creating the topics with their partition counts before any worker or producer starts.

Faust does not create source topics, and a broker that auto-creates them (tansu does, with 4
partitions) would pick the count for us; a mismatch with the table's changelog fails at start.
"""

from __future__ import annotations

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.settings import Settings

__all__ = ["ensure_topics"]

log = logging.getLogger(__name__)


async def ensure_topics(settings: Settings) -> list[str]:
    """Create the project's topics that do not exist yet; returns the names created."""
    topics = settings.topics
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.broker.bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [name for name in topics.all() if name not in existing]
        if wanted:
            new = [NewTopic(name, topics.partitions, topics.replication_factor) for name in wanted]
            with contextlib.suppress(TopicAlreadyExistsError):  # another process won the race: fine
                await admin.create_topics(new)
            log.info("created topics %s with %d partitions", ", ".join(wanted), topics.partitions)
        return wanted
    finally:
        await admin.close()
