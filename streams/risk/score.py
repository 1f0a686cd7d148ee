"""From evidence to the 0..100 risk score."""

from __future__ import annotations

import math

__all__ = ["risk_score"]


def risk_score(evidence: float, scale: float) -> float:
    """Map evidence (>= 0, unbounded) to a 0..100 score: saturating, ~63 at ``scale``."""
    return 100.0 * (1.0 - math.exp(-max(evidence, 0.0) / scale))
