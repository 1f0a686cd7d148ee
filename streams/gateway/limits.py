"""Per-session frame rate at the gateway: a token bucket with the workers' own numbers
(INTEGRITY_SESSION_MAX_FPS and INTEGRITY_SESSION_BURST_FRAMES), so a platform hears ``429`` at once
instead of its frames being dead-lettered later. Wall time here; the workers count capture time."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["FrameRate"]


@dataclass
class FrameRate:
    rate: float  # frames per second
    burst: int  # frames at once above the rate
    tokens: float = -1.0
    at: float = field(default_factory=time.monotonic)

    def take(self, now: float | None = None) -> float:
        """0 when a frame may go now (and counts it); otherwise the seconds until one may."""
        now = time.monotonic() if now is None else now
        if self.tokens < 0:
            self.tokens = float(self.burst)
        self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate
