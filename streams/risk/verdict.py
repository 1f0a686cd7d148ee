"""From a score and its evidence to a verdict a platform can act on, with its reasons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from schemas.records import Reason
from schemas.records import Verdict as VerdictKind
from streams.risk.policy import RiskPolicy

__all__ = ["Verdict", "decide"]


@dataclass(frozen=True)
class Verdict:
    verdict: VerdictKind
    confidence: float
    # (event type, share of the evidence), largest first, shares summing to 1.
    reasons: tuple[tuple[str, float], ...]

    @property
    def cheating(self) -> bool:
        return self.verdict == "flagged"

    def reason_records(self) -> list[Reason]:
        """The reasons as Results and final reports carry them (``integrity.Reason``)."""
        return [{"event_type": kind, "share": round(share, 4)} for kind, share in self.reasons]


def decide_unassessable(score: float, quality_s: Mapping[str, float], policy: RiskPolicy) -> Verdict:
    """Inconclusive, never flagged: too much of the session could not be judged. The reasons are the
    capture-quality problems, each by its share of their time."""
    return Verdict("inconclusive", decide(score, {}, policy).confidence, _shares(quality_s, floor=0.0))


def _shares(amounts: Mapping[str, float], floor: float) -> tuple[tuple[str, float], ...]:
    """Each kind's share of the positive total, largest first; shares under ``floor`` left out."""
    total = sum(value for value in amounts.values() if value > 0)
    if total <= 0:
        return ()
    shares = ((kind, value / total) for kind, value in amounts.items() if value > 0)
    return tuple(sorted(((kind, share) for kind, share in shares if share >= floor), key=lambda r: r[1], reverse=True))


def decide(score: float, evidence: Mapping[str, float], policy: RiskPolicy, *, low_confidence: bool = False) -> Verdict:
    verdict: VerdictKind
    if score >= policy.flagged_at:
        verdict = "flagged"
    elif low_confidence:
        # The camera cannot judge now (too dark, face too small): no verdict below flagged is
        # trustworthy, and what it cannot see never adds evidence, so it never causes a flag.
        verdict = "inconclusive"
    elif score >= policy.review_at:
        verdict = "review"
    else:
        verdict = "clear"
    # Confidence grows with the distance from the nearest threshold: a score sitting on a
    # threshold is a coin toss (0.5); 20 points away is as sure as the score can make us.
    margin = min(abs(score - policy.review_at), abs(score - policy.flagged_at))
    confidence = 0.5 + 0.5 * min(margin / 20.0, 1.0)
    # A behaviour under 1 % of the evidence is not a reason worth showing.
    return Verdict(verdict, round(confidence, 4), _shares(evidence, floor=0.01))
