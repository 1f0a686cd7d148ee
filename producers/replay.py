"""Deprecated alias (0.2 only): ``producers.footage`` (``FootageOptions``, ``publish_footage``)."""

import warnings

from producers.footage import FootageOptions as ReplayOptions
from producers.footage import publish_footage as replay

__all__ = ["ReplayOptions", "replay"]

warnings.warn(
    "producers.replay moved to producers.footage (FootageOptions, publish_footage); the alias goes in 0.3",
    DeprecationWarning,
    stacklevel=2,
)
