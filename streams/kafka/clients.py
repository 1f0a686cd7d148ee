"""Options shared by every plain aiokafka client (publishers, readers, benchmarks, the admin client and
the health probe), from the settings: where the broker is, how to reach it securely
(``streams.kafka.security``), and the embedded broker's workarounds."""

from __future__ import annotations

from typing import Any

from producers.publisher import SessionPublisher
from streams.kafka.embedded_fixup import EmbeddedBrokerFixup
from streams.kafka.security import aiokafka_options
from streams.settings import Settings

__all__ = ["admin_options", "consumer_options", "producer_options", "session_publisher"]


def admin_options(settings: Settings) -> dict[str, Any]:
    """The broker's address and security: all an admin client needs, and what every client starts from."""
    return {"bootstrap_servers": settings.broker.bootstrap_servers, **aiokafka_options(settings.broker)}


def producer_options(settings: Settings) -> dict[str, Any]:
    return {
        **admin_options(settings),
        # A frame acknowledged to the camera side is a frame the stream will see.
        "acks": "all",
        "max_request_size": 8 * 1024 * 1024,
        **EmbeddedBrokerFixup(settings.broker).producer_options(),
    }


def consumer_options(settings: Settings) -> dict[str, Any]:
    return {
        **admin_options(settings),
        "fetch_max_bytes": 64 * 1024 * 1024,
        **EmbeddedBrokerFixup(settings.broker).consumer_options(),
    }


def session_publisher(settings: Settings) -> SessionPublisher:
    """A publisher of frames and session control records to the configured topics (not started)."""
    return SessionPublisher(producer_options(settings), settings.topics.frames, settings.topics.control)
