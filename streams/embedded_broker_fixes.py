"""Workarounds that apply only when the broker is the embedded tansu (see shared/FAUST_NOTES.md).

tansu holds a fetch for its whole ``fetch_max_wait_ms`` instead of answering as soon as data arrives
(measured: a record waited up to ~0.5 s with Faust's hard-coded 1500 ms, under 30 ms with 100 ms).
With two hops (frames -> events -> results) that alone put p95 frame-to-result over a second. Real
Kafka answers early, so production keeps Faust's default.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EMBEDDED_FETCH_MAX_WAIT_MS", "shorten_fetch_wait"]

EMBEDDED_FETCH_MAX_WAIT_MS = 50


def shorten_fetch_wait(max_wait_ms: int = EMBEDDED_FETCH_MAX_WAIT_MS) -> None:
    """Make Faust's worker consumer ask for at most ``max_wait_ms`` per fetch."""
    from faust.transport.drivers import aiokafka as driver

    thread = driver.AIOKafkaConsumerThread
    if getattr(thread, "_integrity_fetch_wait", None) is not None:
        thread._integrity_fetch_wait = max_wait_ms
        return
    create = thread._create_worker_consumer

    def _create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = create(self, transport)
        # Faust passes fetch_max_wait_ms=1500 with no setting to change it; aiokafka reads this
        # attribute when the consumer starts.
        consumer._fetch_max_wait_ms = thread._integrity_fetch_wait
        return consumer

    thread._integrity_fetch_wait = max_wait_ms
    thread._create_worker_consumer = _create_worker_consumer
