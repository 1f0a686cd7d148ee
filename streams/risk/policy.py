"""How much each kind of evidence weighs, and where the verdict thresholds lie."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from streams.config import RiskSettings

__all__ = ["RiskPolicy"]


def _frozen(mapping: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class RiskPolicy:
    half_life_s: float = 30.0
    max_frame_gap_s: float = 2.0
    # Evidence per second while a behaviour holds (after the analyser's minimum durations). Someone
    # else in view or a phone is worse than nobody: an empty chair can be a bathroom break, a second
    # person or a phone can answer the questions. Looking away and talking are weak on their own.
    rates: Mapping[str, float] = field(
        default_factory=lambda: _frozen(
            {
                "face_absent": 1.0,
                "multiple_faces": 2.0,
                "extra_person": 2.0,
                "phone_visible": 3.0,
                "book_visible": 1.5,
                "laptop_visible": 0.5,
                "looking_away": 0.7,
                "reading_pattern": 1.5,
                "talking": 0.5,
            }
        )
    )
    # Behaviours that mean "the camera cannot judge": while one holds, the verdict is inconclusive
    # (never a cheating flag) unless the evidence already gathered says flagged on its own.
    low_confidence: frozenset[str] = frozenset({"low_visibility"})
    # Evidence at which the score reaches ~63/100. With the rates above and a 30 s half-life, about
    # 5 s of absence reads "review" and 10 s "flagged"; 3 s of a second face reads "review".
    score_scale: float = 10.0
    review_at: float = 30.0
    flagged_at: float = 60.0
    # Attention is the share of recent time with exactly one face; "recent" has this half-life.
    attention_half_life_s: float = 10.0
    recent_events: int = 10

    @classmethod
    def from_settings(cls, settings: RiskSettings) -> RiskPolicy:
        return cls(half_life_s=settings.half_life_s, max_frame_gap_s=settings.max_frame_gap_s)
