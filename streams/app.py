"""The Faust app and its settings, and nothing else. Run it: ``faust -A streams.app worker``."""

from __future__ import annotations

import faust

from streams.kafka.embedded_fixup import EmbeddedBrokerFixup
from streams.settings import load_settings

settings = load_settings()
fixup = EmbeddedBrokerFixup(settings.broker)
fixup.patch_faust()
# Faust creates the data folder without its parents: a fresh checkout has no .integrity/ yet.
settings.data_dir.mkdir(parents=True, exist_ok=True)

app = faust.App(
    settings.app_id,
    broker=settings.broker.url,
    store="rocksdb://",
    datadir=str(settings.data_dir),
    origin="streams.app",
    autodiscover=["streams.agents", "streams.web"],
    topic_partitions=settings.topics.partitions,
    topic_replication_factor=settings.topics.replication_factor,
    # Frames published before the worker joins are still frames of a live interview.
    consumer_auto_offset_reset="earliest",
    web_port=settings.web_port,
    web_host=settings.web_host,
    canonical_url=f"http://{settings.web_host}:{settings.web_port}",
    # Failover within ~15 s on the embedded broker, which notices departures only by session timeout.
    broker_session_timeout=10,
    broker_heartbeat_interval=2,
    broker_rebalance_timeout=5,
    broker_commit_interval=1.0,
    # Slow inference must not hold a rebalance hostage; state updates are idempotent per frame sequence.
    stream_wait_empty=False,
    **fixup.app_options(),
)
