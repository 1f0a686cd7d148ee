"""The Faust app and its settings, and nothing else. Run it: ``faust -A streams.app worker``."""

from __future__ import annotations

import logging
from typing import Any

import faust

from streams.kafka import security
from streams.kafka.embedded_fixup import EmbeddedBrokerFixup
from streams.settings import configured, web_exposure
from streams.worker.faust_acks import acknowledge_only_processed_records, commit_only_from_the_committed_offset
from streams.worker.faust_order import deliver_in_order
from streams.worker.in_hand import records_in_hand_finished

log = logging.getLogger(__name__)

settings = configured()
# aiokafka logs every request at debug level, a SASL PLAIN login with its password.
security.hide_secrets_in_logs(settings.broker)
fixup = EmbeddedBrokerFixup(settings.broker)
fixup.patch_faust()
group = fixup.group(settings.group)
# Faust creates the data folder without its parents: a fresh checkout has no .integrity/ yet.
settings.data_dir.mkdir(parents=True, exist_ok=True)


class IntegrityApp(faust.App):
    async def on_first_start(self) -> None:
        # Checked where every way of starting a worker passes, before the web server listens: `integrity
        # worker` has refused already, but `faust -A streams.app worker --web-bind` comes here only.
        if warning := web_exposure(settings, self.conf.web_bind):
            log.warning(warning)
        await super().on_first_start()

    async def _consumer_wait_empty(self, consumer: Any, logger: Any) -> None:
        # Faust closes the tables right after this, at shutdown and on each rebalance: let the record
        # each agent has in hand finish first (its answer out, its state written, its offset acked).
        # One record, not the queue behind it (stream_wait_empty stays off; Faust skips the rest).
        await records_in_hand_finished(settings.shutdown_wait_s)
        await super()._consumer_wait_empty(consumer, logger)


app = IntegrityApp(
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
    web_bind=settings.web_bind,
    web_host=settings.web_host,
    canonical_url=f"http://{settings.web_host}:{settings.web_port}",
    broker_session_timeout=group.session_timeout_s,
    broker_heartbeat_interval=group.heartbeat_s,
    broker_rebalance_timeout=group.rebalance_timeout_s,
    broker_commit_interval=group.commit_interval_s,
    table_standby_replicas=group.standby_replicas,
    consumer_group_instance_id=group.instance_id or None,
    # Slow inference must not hold a rebalance hostage; state updates are idempotent per frame sequence.
    stream_wait_empty=False,
    **security.faust_options(settings.broker),
    **fixup.app_options(),
)
# Faust's own WEB_BIND variable would win over the argument: INTEGRITY_WEB_BIND is the one setting.
app.conf.web_bind = settings.web_bind
# A record Faust skips at a rebalance or a stop must come again, not be committed unprocessed.
acknowledge_only_processed_records(app)
commit_only_from_the_committed_offset()
# ... and must hand each partition's records on in order from where it last sought (streams.worker.faust_order).
_sources = settings.topics.inputs()
deliver_in_order(app, lambda topic: topic in _sources)
