"""What a reviewer arriving late needs to see of a session: its risk and attention over the whole session,
its behaviour intervals, and its last few Results, kept in the session's state (so on its changelog) at a
bounded size, whatever the session's length.

The timeline keeps at most ``TIMELINE_POINTS`` points: when it fills, the spacing between points
doubles and the points within each new spacing merge into one, so a session of any length keeps an even
resolution over its whole span (an hour at 1 frame/s: one point per 30 to 60 s). A merge keeps the
riskiest point, so a spike is never averaged away.
"""

from __future__ import annotations

from typing import Any

from schemas.records import Result
from streams.risk.evidence import observed_end

__all__ = [
    "BEHAVIOURS_KEPT",
    "RECENT_RESULTS",
    "TIMELINE_POINTS",
    "new_timeline",
    "note_behaviours",
    "note_result",
    "recent_result",
    "timeline_point",
]

# The table writes a session's state on every frame, so each of these is paid for per frame: measured
# with `integrity bench risk`, the state grew from 5 to 15 kB with 240 points, 10 Results and 200
# behaviours, and the local RocksDB store went from 8,600 to 2,800 writes/s (the agent's 350 obs/s
# did not move). Halved: about 10 kB, and 3,900 writes/s.
# Points of risk and attention per session (each [capture ms, risk, attention], ~25 bytes of JSON): an
# hour at one point per 30 to 60 s; the dashboard adds the points it sees live at full rate.
TIMELINE_POINTS = 120
# Results kept per session, as summaries (``recent_result``): the last seconds, frame by frame.
RECENT_RESULTS = 5
# Behaviour intervals kept per session (the newest); the final report names the strongest in any case.
BEHAVIOURS_KEPT = 100


def new_timeline() -> dict[str, Any]:
    """``step_ms``: one point per this long at most (0 until the timeline first fills), in buckets
    counted from ``origin_ms``, the first point's time."""
    return {"origin_ms": 0, "step_ms": 0, "points": []}


def timeline_point(result: Result) -> list[float]:
    return [result["captured_at_ms"], round(result["risk_score"], 1), round(result["attention"], 1)]


def _riskier(a: list[float], b: list[float]) -> list[float]:
    return b if b[1] >= a[1] else a


def _bucket(timeline: dict[str, Any], at_ms: float) -> int:
    return int((at_ms - timeline["origin_ms"]) // timeline["step_ms"])


def _compact(timeline: dict[str, Any]) -> None:
    """Double the spacing (buckets from the first point ever) until the points fit, riskiest per bucket."""
    points: list[list[float]] = timeline["points"]
    span = points[-1][0] - points[0][0]
    timeline["step_ms"] = max(2 * timeline["step_ms"], int(2 * span / TIMELINE_POINTS) + 1)
    while True:
        merged: dict[int, list[float]] = {}
        for point in points:
            bucket = _bucket(timeline, point[0])
            merged[bucket] = _riskier(merged[bucket], point) if bucket in merged else point
        if len(merged) <= TIMELINE_POINTS // 2 + 1:
            timeline["points"] = list(merged.values())
            return
        timeline["step_ms"] *= 2


def _add_point(timeline: dict[str, Any], point: list[float]) -> None:
    points: list[list[float]] = timeline["points"]
    if not points:
        timeline["origin_ms"] = point[0]
    elif point[0] <= points[-1][0]:
        return  # a late frame: the timeline moves forward only
    elif timeline["step_ms"] and _bucket(timeline, point[0]) == _bucket(timeline, points[-1][0]):
        # Within the last point's spacing: one point stands for both, the riskier (at its own time).
        points[-1] = _riskier(points[-1], point)
        return
    points.append(point)
    if len(points) > TIMELINE_POINTS:
        _compact(timeline)


def recent_result(result: Result) -> dict[str, Any]:
    """A Result as the session view lists it: what the platform was told, without object boxes."""
    return {
        "frame_sequence": result["frame_sequence"],
        "captured_at_ms": result["captured_at_ms"],
        "risk_score": result["risk_score"],
        "attention": result["attention"],
        "verdict": result["verdict"],
        "reasons": [reason["event_type"] for reason in result["reasons"]],
        "gaze": result["gaze"],
        "face_count": result["face_count"],
        "objects": sorted({obj["label"] for obj in result["objects"] or []}),
        "conditions": result["conditions"],
        "final": result["final"],
    }


def note_result(timeline: dict[str, Any], recent: list[dict[str, Any]], result: Result) -> list[dict[str, Any]]:
    """Add ``result`` to the timeline (in place) and to the recent Results; returns the recent Results."""
    _add_point(timeline, timeline_point(result))
    return [*recent, recent_result(result)][-RECENT_RESULTS:]


def note_behaviours(kept: dict[str, dict[str, Any]], intervals: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Copy the evidence book's intervals (``streams.risk.evidence``; they leave it once folded) into the
    behaviour timeline ``kept``: id -> type, start, end (None while it may still go on), until (a condition
    not seen since then, not over yet), and where it was last known to hold."""
    for event_id, interval in intervals.items():
        kept[event_id] = {
            "type": interval["type"],
            "start": interval["start"],
            "end": interval["end"],
            "until": interval["until"],
            "seen": observed_end(interval),
        }
    if len(kept) > BEHAVIOURS_KEPT:
        newest = sorted(kept.items(), key=lambda item: item[1]["start"])[-BEHAVIOURS_KEPT:]
        kept = dict(newest)
    return kept
