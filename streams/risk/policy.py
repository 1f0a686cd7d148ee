"""Risk policies: how much each behaviour weighs and for how long, and where the verdicts lie.

Policies are versioned YAML files in ``streams/risk/policies/`` (or ``INTEGRITY_RISK_POLICY_DIR``), one
per name, selectable per session by its SessionControl start record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

__all__ = ["POLICY_DIR", "BehaviourWeight", "PolicyBook", "RiskPolicy", "load_policy"]

log = logging.getLogger(__name__)

POLICY_DIR = Path(__file__).resolve().parent / "policies"


@dataclass(frozen=True)
class BehaviourWeight:
    rate: float  # evidence per second while the behaviour holds
    half_life_s: float  # its evidence halves every half_life_s seconds
    min_duration_s: float = 0.0  # shorter occurrences never count
    cap: float = 20.0  # the most evidence this behaviour can hold alone


@dataclass(frozen=True)
class RiskPolicy:
    name: str = "default"
    version: int = 1
    score_scale: float = 10.0
    review_at: float = 30.0
    flagged_at: float = 60.0
    attention_half_life_s: float = 10.0
    max_frame_gap_s: float = 2.0
    lateness_s: float = 30.0
    idle_timeout_s: float = 900.0
    min_observed_s: float = 3.0
    low_confidence: frozenset[str] = frozenset({"low_visibility"})
    # Above this share of a session the camera could not judge (capture quality), its verdict is
    # inconclusive, never flagged: the evidence of the rest is too thin to act on.
    max_unassessable_share: float = 0.5
    behaviours: Mapping[str, BehaviourWeight] = field(default_factory=lambda: MappingProxyType({}))
    recent_events: int = 10

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RiskPolicy:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown policy keys: {', '.join(sorted(unknown))}")
        values = dict(data)
        values["behaviours"] = MappingProxyType(
            {kind: BehaviourWeight(**weight) for kind, weight in (data.get("behaviours") or {}).items()}
        )
        values["low_confidence"] = frozenset(data.get("low_confidence", ()))
        return cls(**values)

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"


def load_policy(path: Path) -> RiskPolicy:
    return RiskPolicy.from_dict(yaml.safe_load(path.read_text()))


class PolicyBook:
    """The policies of a folder by name, read once; unknown names fall back to the default, loudly."""

    def __init__(self, directory: Path | str = POLICY_DIR, default: str = "default") -> None:
        directory = Path(directory or POLICY_DIR)
        self.policies = {path.stem: load_policy(path) for path in sorted(directory.glob("*.yaml"))}
        if default not in self.policies:
            raise FileNotFoundError(f"no {default}.yaml policy in {directory}")
        self.default = default

    def get(self, name: str | None) -> RiskPolicy:
        if name and name in self.policies:
            return self.policies[name]
        if name and name != self.default:
            log.warning("unknown risk policy %r: using %r", name, self.default)
        return self.policies[self.default]
