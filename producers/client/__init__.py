"""Python clients of the integrity stream, through either door.

- ``GatewayClient`` / ``AsyncGatewayClient`` (``gateway.py``): the HTTP gateway, blocking or asyncio;
  ``AsyncGatewayClient.stream()`` gives a ``GatewayStream`` over its WebSocket.
- ``KafkaSessionClient``: straight on the Kafka topics, for platforms that produce themselves. It checks
  frames with the workers' own edge rules and follows Results as the gateway does, so it lives with them:
  import it from ``streams.client`` (``producers.client.KafkaSessionClient`` is a deprecated alias, kept
  for 0.2 only).

Refusals by the gateway raise ``GatewayError`` (``errors.py``). See docs/CLIENTS.md.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from producers.client.errors import GatewayError
from producers.client.gateway import AsyncGatewayClient, FrameAnswer, GatewayClient, GatewayStream

if TYPE_CHECKING:
    from streams.client import KafkaSessionClient

__all__ = [
    "AsyncGatewayClient",
    "FrameAnswer",
    "GatewayClient",
    "GatewayError",
    "GatewayStream",
    "KafkaSessionClient",
]


def __getattr__(name: str) -> Any:
    # The deprecated alias of 0.1's import path; imported on first use, so that a platform that only calls
    # the gateway never loads the stream processor.
    if name == "KafkaSessionClient":
        warnings.warn(
            "producers.client.KafkaSessionClient moved to streams.client.KafkaSessionClient; the alias goes in 0.3",
            DeprecationWarning,
            stacklevel=2,
        )
        from streams.client import KafkaSessionClient

        return KafkaSessionClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
