"""Which partition a session's records belong on: Kafka's default (murmur2) partitioning of the key.

Java's client, aiokafka and Faust partition a key with murmur2, librdkafka-based clients (confluent-kafka
for Python, Go and .NET, node-rdkafka, kcat) with CRC32 unless told ``partitioner=murmur2_random``.
The worker keeps a session's records, table entries and results together on the murmur2 partition of
its id; a record a producer put elsewhere is forwarded there once (``streams.agents.stage``).
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2

__all__ = ["partition_of"]


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` among ``partitions``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
