"""The gateway as a child process, for tests (it lives beside the gateway: benchmarks run it too)."""

from producers.gateway.process import GatewayProcess

__all__ = ["GatewayProcess"]
