"""The arithmetic of decaying evidence.

Evidence E (in "condition-seconds") decays exponentially with half-life h: dE/dt = r - lambda*E with
lambda = ln 2 / h, where r is the rate at which an active condition adds evidence. Integrating exactly
over an interval makes the score independent of the frame rate: ten frames a second or one give the
same evidence for the same seconds of face absence.
"""

from __future__ import annotations

import math

__all__ = ["accrue", "decay", "risk_score"]


def decay(evidence: float, dt_s: float, half_life_s: float) -> float:
    """Evidence left after ``dt_s`` seconds without new evidence."""
    if dt_s <= 0:
        return evidence
    return evidence * 0.5 ** (dt_s / half_life_s)


def accrue(evidence: float, rate_per_s: float, dt_s: float, half_life_s: float) -> float:
    """Evidence after ``dt_s`` seconds of a condition adding ``rate_per_s``, decaying all the while."""
    if dt_s <= 0:
        return evidence
    factor = 0.5 ** (dt_s / half_life_s)
    decay_rate = math.log(2) / half_life_s
    return evidence * factor + rate_per_s * (1.0 - factor) / decay_rate


def risk_score(evidence: float, scale: float) -> float:
    """Map evidence (>= 0, unbounded) to a 0..100 score: saturating, ~63 at ``scale``."""
    return 100.0 * (1.0 - math.exp(-max(evidence, 0.0) / scale))
