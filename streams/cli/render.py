"""How a person reads a record: one line per Result or analysed frame, a short block per final report.

``--json`` output goes through ``to_json`` instead: one compact object per line, for machines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from schemas.records import DetectedObject, FinalReport, ObjectsStatus, Result

if TYPE_CHECKING:
    from streams.offline.analysis import AnalysedFrame

__all__ = ["format_analysed_frame", "format_objects", "format_report", "format_result", "to_json"]


def format_objects(objects: list[DetectedObject] | None, status: ObjectsStatus) -> str:
    """``objects [cell phone 0.71, person 0.93]``, ``objects [none]``, or why they were not checked."""
    if objects is None:
        return f"objects {status}"
    return "objects [" + (", ".join(f"{o['label']} {o['confidence']:.2f}" for o in objects) or "none") + "]"


def format_result(result: Result) -> str:
    """One line a person can scan: session, frame, score, verdict, what holds now, why.

    The final Result answers the session, not a frame: its line has no frame number nor frame details."""
    reasons = ", ".join(f"{r['event_type']} {100 * r['share']:.0f}%" for r in result["reasons"]) or "-"
    verdict = f"risk {result['risk_score']:5.1f}  {result['verdict'].upper():<12} conf {result['confidence']:.2f}"
    attention = f"attention {result['attention']:3.0f}"
    if result["final"]:
        return f"FINAL {result['session_id']} (end of session)  {verdict}  {attention}  reasons [{reasons}]"
    started = [
        f"{e['type']} {'start' if e['ended_at_ms'] is None else 'end'}"
        for e in result["recent_events"]
        if e["frame_sequence"] == result["frame_sequence"]
    ]
    return (
        f"{result['session_id']} #{result['frame_sequence']:<5} {verdict}  faces {result['face_count']}  "
        f"gaze {result['gaze'] or '-':<6}  {attention}  {format_objects(result['objects'], result['objects_status'])}  "
        f"now [{', '.join(result['conditions'])}]  reasons [{reasons}]"
        + (f"  events [{', '.join(started)}]" if started else "")
        + f"  {result['processing_time_ms']:.1f} ms"
    )


def _clock(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%H:%M:%S.%f")[:-3]


def format_report(report: FinalReport) -> str:
    """The final report as a short block a person reads at the end of a session."""
    held = ", ".join(f"{kind} {ms / 1000:.1f} s" for kind, ms in report["time_in_ms"].items()) or "nothing"
    evidence = "; ".join(
        f"{e['type']} {_clock(e['started_at_ms'])}-{_clock(e['ended_at_ms'])} (evidence {e['evidence']:.1f})"
        for e in report["evidence"]
    )
    return (
        f"FINAL REPORT {report['session_id']} ({report['reason']}, policy {report['policy']}): "
        f"{report['verdict'].upper()} (confidence {report['confidence']:.2f}, cheating {report['cheating']})\n"
        f"  frames {report['frames']} over {report['observed_s']:.1f} s; risk final {report['final_risk_score']:.1f}, "
        f"peak {report['peak_risk_score']:.1f}, time-weighted mean {report['mean_risk_score']:.1f}; "
        f"attention {report['attention']:.0f}\n"
        f"  time in: {held}\n"
        f"  strongest evidence (UTC): {evidence or '-'}" + _unassessable(report)
    )


def _unassessable(report: FinalReport) -> str:
    """What the camera could not judge, when anything: its share, and by which quality problem."""
    if not report["unassessable_s"]:
        return ""
    problems = ", ".join(f"{kind} {seconds:.1f} s" for kind, seconds in report["quality_s"].items())
    return (
        f"\n  could not judge: {report['unassessable_s']:.1f} s ({100 * report['unassessable_share']:.0f}% "
        f"of the session): {problems}"
    )


def format_analysed_frame(row: AnalysedFrame) -> str:
    """One line of ``integrity analyze``: faces, pose, gaze, objects, attention, conditions, time."""
    obs = row["observation"]
    faces = obs["faces"]
    parts = [f"{row['name']:<22}", f"faces {len(faces)}" + (f" ({faces[0]['confidence']:.2f})" if faces else "")]
    if obs["too_dark"]:
        parts.append(f"TOO DARK ({obs['brightness']:.0f})")
    if any(face["too_small"] for face in faces):
        parts.append("face too small")
    pose = obs["head_pose"]
    if pose:
        parts.append(f"head yaw {pose['yaw']:+.1f} pitch {pose['pitch']:+.1f} roll {pose['roll']:+.1f}")
    gaze = obs["gaze"]
    if gaze:
        closed = " eyes closed" if gaze["eyes_closed"] else ""
        # From the candidate's own neutral once the baseline is set (a sequence of frames), else from
        # the camera's axis.
        baseline = "" if gaze["baseline"] in ("none", "set") else f", baseline {gaze['baseline']}"
        parts.append(
            f"gaze {gaze['direction']} ({gaze['yaw_deg']:+.0f}/{gaze['pitch_deg']:+.0f} deg, "
            f"off {gaze['off_screen']:.2f}{baseline}){closed} mouth {gaze['mouth_open_ratio']:.2f}"
        )
    parts.append(format_objects(obs["objects"], obs["objects_status"]))
    parts.append(f"attention {row['attention']:.0f}")
    if obs["conditions"]:
        parts.append("now [" + ", ".join(c["type"] for c in obs["conditions"]) + "]")
    parts.append(f"{obs['timings_ms']['total']:.1f} ms")
    return "  ".join(parts)


def to_json(record: Mapping[str, Any]) -> str:
    """One compact JSON object per line, keys sorted."""
    return json.dumps(record, separators=(",", ":"), sort_keys=True)
