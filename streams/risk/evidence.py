"""Evidence as a sum over behaviour intervals, by event time: order-independent and idempotent.

A behaviour that held from ``start`` to ``end`` with confidence ``c`` adds evidence at rate ``w * c``
per second while it holds, and all evidence decays with the behaviour's half-life ``h``
(lambda = ln 2 / h). Integrated exactly, its evidence at time T >= end is

    w * c / lambda * (2^-((T - end)/h) - 2^-((T - start)/h))

Evidence is a sum of such terms, so it does not depend on the order in which intervals arrive; each
interval is keyed by its event id, and updating one only ever extends it (max of times), so a
redelivered observation changes nothing. Closed intervals are folded into one decaying number per
behaviour (adding two decayed terms commutes too), and their ids are kept for the lateness window so a
late duplicate is still recognised.
"""

from __future__ import annotations

import math
from typing import Any

from streams.risk.policy import BehaviourWeight, RiskPolicy

__all__ = ["counts", "evidence_at", "fold_closed", "interval_value", "observed_end", "upsert_interval"]


def _weight(policy: RiskPolicy, kind: str) -> BehaviourWeight | None:
    return policy.behaviours.get(kind)


def interval_value(weight: BehaviourWeight, confidence: float, start: int, end: int, at: int) -> float:
    """Evidence at ``at`` (ms) of a behaviour held from ``start`` to ``end`` (ms), ``end`` <= ``at``."""
    end = min(end, at)
    if end <= start:
        return 0.0
    h_ms = weight.half_life_s * 1000.0
    decay_rate = math.log(2) / weight.half_life_s
    return weight.rate * confidence / decay_rate * (0.5 ** ((at - end) / h_ms) - 0.5 ** ((at - start) / h_ms))


def observed_end(interval: dict[str, Any]) -> int:
    """Where the behaviour was last known to hold."""
    if interval["end"] is not None:
        return interval["end"]
    return interval["until"] if interval["until"] is not None else interval["seen_until"]


def counts(interval: dict[str, Any], weight: BehaviourWeight) -> bool:
    return observed_end(interval) - interval["start"] >= weight.min_duration_s * 1000.0


def _span_end(interval: dict[str, Any], policy: RiskPolicy) -> int:
    """Up to where an interval adds evidence: its end, or a little past the last frame that showed it."""
    if interval["end"] is not None:
        return interval["end"]
    if interval["until"] is not None:
        return interval["until"]
    return interval["seen_until"] + int(policy.max_frame_gap_s * 1000)


def upsert_interval(
    state: dict[str, Any],
    *,
    event_id: str,
    kind: str,
    start: int,
    seen_at: int,
    confidence: float,
    end: int | None = None,
    until: int | None = None,
) -> bool:
    """Add or extend an interval; False when its id was folded already or it is older than the ids kept."""
    if event_id in state["folded_ids"] or (end if end is not None else seen_at) < state.get("horizon_ms", 0):
        return False
    interval = state["intervals"].get(event_id)
    if interval is None:
        interval = state["intervals"][event_id] = {
            "type": kind,
            "start": start,
            "end": None,
            "until": None,
            "seen_until": start,
            "confidence": 0.0,
        }
    interval["seen_until"] = max(interval["seen_until"], seen_at)
    interval["confidence"] = max(interval["confidence"], confidence)
    if end is not None:
        interval["end"] = end if interval["end"] is None else max(interval["end"], end)
    # "until" (not seen since, not over yet) is a property of the latest frame, not a max: a newer
    # frame showing the behaviour again clears it.
    if seen_at >= interval["seen_until"]:
        interval["until"] = until
    return True


def fold_closed(state: dict[str, Any], policy: RiskPolicy) -> None:
    """Fold closed intervals into per-behaviour decaying totals; remember their ids for the lateness window."""
    for event_id, interval in list(state["intervals"].items()):
        if interval["end"] is None:
            continue
        del state["intervals"][event_id]
        state["folded_ids"][event_id] = interval["end"]
        weight = _weight(policy, interval["type"])
        if weight is None or not counts(interval, weight):
            continue
        kind, end = interval["type"], interval["end"]
        value = interval_value(weight, interval["confidence"], interval["start"], end, end)
        total, ref = state["folded"].get(kind, (0.0, end))
        h_ms = weight.half_life_s * 1000.0
        if end >= ref:
            total, ref = total * 0.5 ** ((end - ref) / h_ms) + value, end
        else:
            total += value * 0.5 ** ((ref - end) / h_ms)
        state["folded"][kind] = (total, ref)
        state["durations_ms"][kind] = state["durations_ms"].get(kind, 0) + (end - interval["start"])
        state["strongest"].append(
            {"type": kind, "started_at_ms": interval["start"], "ended_at_ms": end, "evidence": round(value, 4)}
        )
    state["strongest"] = sorted(state["strongest"], key=lambda e: e["evidence"], reverse=True)[:5]
    # Ids are kept twice the lateness bound; anything ending before that is refused by upsert_interval,
    # so a forgotten id can never be counted again.
    horizon = max(state.get("horizon_ms", 0), state["latest_ms"] - 2 * int(policy.lateness_s * 1000))
    state["horizon_ms"] = horizon
    state["folded_ids"] = {i: end for i, end in state["folded_ids"].items() if end >= horizon}


def evidence_at(state: dict[str, Any], policy: RiskPolicy, at: int) -> dict[str, float]:
    """Evidence per behaviour at ``at`` (ms), each capped by its policy weight."""
    totals: dict[str, float] = {}
    for kind, (total, ref) in state["folded"].items():
        weight = _weight(policy, kind)
        if weight is not None and at >= ref:
            totals[kind] = total * 0.5 ** ((at - ref) / (weight.half_life_s * 1000.0))
    for interval in state["intervals"].values():
        weight = _weight(policy, interval["type"])
        if weight is None or not counts(interval, weight):
            continue
        value = interval_value(weight, interval["confidence"], interval["start"], _span_end(interval, policy), at)
        totals[interval["type"]] = totals.get(interval["type"], 0.0) + value
    return {kind: min(value, policy.behaviours[kind].cap) for kind, value in totals.items() if value > 1e-9}
