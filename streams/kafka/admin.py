"""Creating the topics with their partition counts before any worker or producer starts.

Faust does not create source topics, and a broker that auto-creates them (tansu does, with 4
partitions) would pick the count for us; a mismatch with the table's changelog fails at start. The
frames topic gets a short retention (frames are biometric data); the policies topic one partition and
compaction (it is read whole, and a policy version is kept for good); a topic that exists already keeps
its own configuration.
"""

from __future__ import annotations

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.kafka.clients import admin_options
from streams.settings import Settings

__all__ = ["changelog_topics", "ensure_topics", "new_topics", "partition_mismatches"]

log = logging.getLogger(__name__)


def new_topics(settings: Settings, names: list[str]) -> list[NewTopic]:
    """How each of the project's topics in ``names`` is created: partitions, replication, configuration."""
    topics = settings.topics
    frames = {"retention.ms": str(round(topics.frames_retention_s * 1000))}
    # Compacted: the newest record of each "name@version" is kept as long as the topic (the embedded
    # broker accepts the policy and keeps everything anyway).
    policies = {"cleanup.policy": "compact"}
    return [
        NewTopic(name, 1, topics.replication_factor, topic_configs=policies)
        if name == topics.policies
        else NewTopic(
            name, topics.partitions, topics.replication_factor, topic_configs=frames if name == topics.frames else {}
        )
        for name in names
    ]


async def ensure_topics(settings: Settings) -> list[str]:
    """Create the project's topics that do not exist yet; returns the names created."""
    topics = settings.topics
    admin = AIOKafkaAdminClient(**admin_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [name for name in topics.all() if name not in existing]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process won the race: fine
                await admin.create_topics(new_topics(settings, wanted))
            log.info(
                "created topics %s with %d partitions (%s: 1)", ", ".join(wanted), topics.partitions, topics.policies
            )
        return wanted
    finally:
        await admin.close()


def _changelogs(settings: Settings, existing: set[str]) -> set[str]:
    # Faust names a table's changelog "<app id>-<table>-changelog".
    ours = f"{settings.app_id}-"
    return {name for name in existing if name.startswith(ours) and name.endswith("-changelog")}


async def changelog_topics(settings: Settings) -> list[str]:
    """The changelog topics of this app's tables that exist on the broker."""
    admin = AIOKafkaAdminClient(**admin_options(settings))
    await admin.start()
    try:
        return sorted(_changelogs(settings, set(await admin.list_topics())))
    finally:
        await admin.close()


async def partition_mismatches(settings: Settings) -> list[str]:
    """The session-keyed topics and table changelogs whose partition count is not ``INTEGRITY_PARTITIONS``.

    A table reads partition-locally, so its changelog must be partitioned like its source topics: a
    worker started with another count would put sessions' state on the wrong partitions. Partition
    counts cannot shrink and growing them moves keys, so the answer is a new topic generation
    (docs/SCALING.md), never a silent start."""
    wanted = settings.topics.partitions
    admin = AIOKafkaAdminClient(**admin_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        checked = sorted((set(settings.topics.inputs()) & existing) | _changelogs(settings, existing))
        if not checked:
            return []
        counts = {topic["topic"]: len(topic["partitions"]) for topic in await admin.describe_topics(checked)}
    finally:
        await admin.close()
    return [f"{name} has {count}" for name, count in sorted(counts.items()) if count != wanted]
