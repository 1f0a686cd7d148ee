"""Deprecated alias (0.2 only): ``KafkaSessionClient`` lives in ``streams.client``."""

import warnings

from streams.client import KafkaSessionClient

__all__ = ["KafkaSessionClient"]

warnings.warn("producers.client.kafka moved to streams.client; the alias goes in 0.3", DeprecationWarning, stacklevel=2)
