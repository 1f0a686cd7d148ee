"""Options shared by every plain aiokafka client (producers, the verdict follower), from the settings."""

from __future__ import annotations

from typing import Any

from streams.config import Settings
from streams.embedded_broker_fixes import EMBEDDED_FETCH_MAX_WAIT_MS

__all__ = ["consumer_options", "producer_options"]


def producer_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.broker.bootstrap_servers,
        # A frame acknowledged to the camera side is a frame the stream will see.
        "acks": "all",
        "max_request_size": 8 * 1024 * 1024,
    }
    if settings.broker.embedded:
        # One record per batch: tansu's ListOffsets answer is only right for single-record batches.
        options["max_batch_size"] = 1
    return options


def consumer_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.broker.bootstrap_servers,
        "fetch_max_bytes": 64 * 1024 * 1024,
    }
    if settings.broker.embedded:
        # tansu holds every fetch for the full wait (streams/embedded_broker_fixes.py).
        options["fetch_max_wait_ms"] = EMBEDDED_FETCH_MAX_WAIT_MS
    return options
