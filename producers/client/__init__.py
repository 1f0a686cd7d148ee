"""Python clients of the integrity stream, through either door.

- ``GatewayClient`` / ``AsyncGatewayClient`` (``gateway.py``): the HTTP gateway, blocking or asyncio;
  ``AsyncGatewayClient.stream()`` gives a ``GatewayStream`` over its WebSocket.
- ``KafkaSessionClient`` (``kafka.py``): straight on the Kafka topics, for platforms that produce themselves.

Refusals by the gateway raise ``GatewayError`` (``errors.py``). See docs/CLIENTS.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from producers.client.errors import GatewayError
from producers.client.gateway import AsyncGatewayClient, FrameAnswer, GatewayClient, GatewayStream

if TYPE_CHECKING:
    from producers.client.kafka import KafkaSessionClient

__all__ = [
    "AsyncGatewayClient",
    "FrameAnswer",
    "GatewayClient",
    "GatewayError",
    "GatewayStream",
    "KafkaSessionClient",
]


def __getattr__(name: str) -> Any:
    # Imported on first use: the Kafka client pulls in aiokafka, fastavro and the image decoders (about a
    # second), which a platform that only calls the gateway never needs.
    if name == "KafkaSessionClient":
        from producers.client.kafka import KafkaSessionClient

        return KafkaSessionClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
