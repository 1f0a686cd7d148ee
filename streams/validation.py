"""What a record from outside must satisfy before the stream takes it: the contract's rules at the edge.

Plain Python over records (no Faust, no Kafka), so a gateway or a test checks the same rules. Each check
returns the reason a record is refused, for its dead letter, or None. The image itself (decodable, its
size as declared) is checked where it is decoded, in ``streams.vision.image``.

A repeated sequence is not refused: a frame whose sequence the session has already answered is a
redelivery (Kafka delivers at least once, and a producer may resend), skipped without a second answer
(``streams.redelivery``). One too far behind the session's newest to tell is refused.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator
from typing import Any

from schemas.records import Frame, Observation, Review, SessionControl
from streams.redelivery import ANSWERED_KEPT
from streams.settings import IngressSettings
from streams.vision.screen import screen_from_metadata

__all__ = [
    "FrameBudget",
    "control_refusal",
    "frame_refusal",
    "note_received",
    "observation_refusal",
    "session_refusal",
    "spend_frame",
]

_SEQUENCE_SLACK = 30


def _id_refusal(what: str, value: str, limits: IngressSettings, *, required: bool) -> str | None:
    if required and not value.strip():
        return f"{what} is empty"
    if len(value) > limits.max_id_length:
        return f"{what} is {len(value)} characters long, over the {limits.max_id_length} allowed"
    return None


def _metadata_refusal(metadata: dict[str, str], limits: IngressSettings) -> str | None:
    if len(metadata) > limits.max_metadata_entries:
        return f"metadata has {len(metadata)} entries, over the {limits.max_metadata_entries} allowed"
    longest = max((len(k) + len(v) for k, v in metadata.items()), default=0)
    if longest > limits.max_metadata_entry_length:
        return f"a metadata entry is {longest} characters long, over the {limits.max_metadata_entry_length} allowed"
    return None


def _clock_refusal(what: str, at_ms: int, received_ms: int, limits: IngressSettings) -> str | None:
    skew_s = (at_ms - received_ms) / 1000.0
    if abs(skew_s) > limits.max_clock_skew_s:
        side = "ahead of" if skew_s > 0 else "behind"
        return (
            f"{what} is {abs(skew_s):.0f} s {side} the broker's timestamp of the record "
            f"(more than {limits.max_clock_skew_s:g} s: a wrong clock or unit)"
        )
    return None


def frame_refusal(frame: Frame, received_ms: int, limits: IngressSettings) -> str | None:
    """Why ``frame`` (received by the broker at ``received_ms``) is refused, or None."""
    return (
        _id_refusal("session id", frame["session_id"], limits, required=True)
        or _id_refusal("candidate id", frame["candidate_id"], limits, required=False)
        or (f"sequence {frame['sequence']} is negative" if frame["sequence"] < 0 else None)
        or (
            f"the image is {len(frame['image'])} bytes, over the {limits.max_frame_bytes} allowed"
            if len(frame["image"]) > limits.max_frame_bytes
            else None
        )
        or _clock_refusal("captured_at_ms", frame["captured_at_ms"], received_ms, limits)
        or _metadata_refusal(frame["metadata"], limits)
    )


def session_refusal(
    state: dict[str, Any] | None, frame: Frame, received_ms: int, limits: IngressSettings
) -> str | None:
    """Why ``frame`` is refused given its session so far (the behaviour state of ``streams.vision``), or
    None: a capture time that runs ahead of the session's newest frame faster than the broker's clock
    did, or a sequence jump its capture time cannot explain.

    One forged frame must cost itself, never the session: accepted, either would blind the session (its
    genuine frames would look late, or like redeliveries). Only the step from the session's newest
    accepted frame is checked, so replays that send faster than they captured pass, frame by frame."""
    if not state or state.get("last_ms") is None:
        return None
    last_sequence, last_ms = state["last_sequence"], state["last_ms"]
    if frame["sequence"] <= last_sequence - ANSWERED_KEPT:
        return (
            f"sequence {frame['sequence']} is {last_sequence - frame['sequence']} behind the session's newest "
            f"{last_sequence} (at most {ANSWERED_KEPT - 1}): too late to analyse, or a redelivery too old to tell"
        )
    last_received = state.get("last_received_ms")
    if last_received is not None:
        ahead_s = ((frame["captured_at_ms"] - last_ms) - (received_ms - last_received)) / 1000.0
        if ahead_s > limits.max_clock_drift_s:
            return (
                f"captured_at_ms runs {ahead_s:.1f} s further ahead of the session's newest frame than the "
                f"broker's clock did (more than {limits.max_clock_drift_s:g} s)"
            )
    if frame["sequence"] > last_sequence:
        elapsed_s = max(frame["captured_at_ms"] - last_ms, 0) / 1000.0
        allowed = math.ceil(elapsed_s * limits.max_frame_rate) + _SEQUENCE_SLACK
        if frame["sequence"] - last_sequence > allowed:
            return (
                f"sequence {frame['sequence']} jumps {frame['sequence'] - last_sequence} ahead of the session's "
                f"newest {last_sequence} in {elapsed_s:.1f} s of capture time (at most {allowed})"
            )
    return None


# A session's frame-rate budget: [frames it may still send at once, capture time it was counted at (ms)].
FrameBudget = list[float]


def spend_frame(
    budget: FrameBudget | None, captured_at_ms: int, limits: IngressSettings
) -> tuple[FrameBudget, str | None]:
    """Take one frame from a session's budget (a token bucket refilled at INTEGRITY_SESSION_MAX_FPS of
    capture time, holding at most INTEGRITY_SESSION_BURST_FRAMES); returns the budget after it, and the
    reason the frame is refused when the budget is spent (the budget then unchanged)."""
    tokens, counted_at = budget if budget else (float(limits.session_burst_frames), float(captured_at_ms))
    elapsed_s = max(captured_at_ms - counted_at, 0.0) / 1000.0
    tokens = min(float(limits.session_burst_frames), tokens + elapsed_s * limits.session_max_fps)
    if tokens < 1.0:
        reason = (
            f"the session sends frames faster than {limits.session_max_fps:g} per second of capture time "
            f"(with a burst of {limits.session_burst_frames}): frame dropped"
        )
        return list(budget) if budget else [tokens, counted_at], reason
    return [tokens - 1.0, float(max(captured_at_ms, counted_at))], None


def note_received(state: dict[str, Any], received_ms: int) -> None:
    """Remember when the broker received the session's newest accepted frame."""
    state["last_received_ms"] = max(received_ms, state.get("last_received_ms") or received_ms)


def control_refusal(
    record: SessionControl, received_ms: int, limits: IngressSettings, policies: Collection[str]
) -> str | None:
    """Why ``record`` is refused, or None. ``policies``: the names a start record may ask for (a
    ``PolicyBook`` also takes "name@version" of a version it knows)."""
    policy = record["policy"]
    unknown_policy = record["action"] == "start" and policy and policy not in policies
    return (
        _id_refusal("session id", record["session_id"], limits, required=True)
        or _id_refusal("candidate id", record["candidate_id"], limits, required=False)
        or (f"unknown policy {policy!r} (known: {', '.join(sorted(policies))})" if unknown_policy else None)
        or (
            f"last_sequence {record['last_sequence']} is negative"
            if record["last_sequence"] is not None and record["last_sequence"] < 0
            else None
        )
        or _clock_refusal("at_ms", record["at_ms"], received_ms, limits)
        or _metadata_refusal(record["metadata"], limits)
        or (_screen_refusal(record["metadata"]) if record["action"] in ("start", "rebaseline") else None)
    )


def _screen_refusal(metadata: dict[str, str]) -> str | None:
    try:
        screen_from_metadata(metadata)
    except ValueError as exc:
        return str(exc)
    return None


def _numbers(value: Any, path: str) -> Iterator[tuple[str, float]]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield path, float(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _numbers(item, f"{path}[{index}]")


def observation_refusal(observation: Observation) -> str | None:
    """Why an Observation on the (internal) events topic is refused, or None.

    Only workers write that topic (see docs/CONTRACT.md: give nobody else write access); a record there
    that no worker could have written (an infinite confidence, a score out of its range) is refused
    rather than scored."""
    if not observation["session_id"].strip():
        return "session id is empty"
    if observation["frame_sequence"] < 0:
        return f"frame sequence {observation['frame_sequence']} is negative"
    for path, number in _numbers(observation, ""):
        if not math.isfinite(number):
            return f"{path} is {number}, not a finite number"
        leaf = path.rsplit(".", 1)[-1]
        if leaf in _UNIT_INTERVAL and not 0.0 <= number <= 1.0:
            return f"{path} is {number}, outside 0..1"
    if not 0.0 <= observation["brightness"] <= 255.0:
        return f"brightness is {observation['brightness']}, outside 0..255"
    return None


# Fields that are shares or scores in 0..1 wherever they appear (faces, objects, conditions, events, gaze).
_UNIT_INTERVAL = {"confidence", "off_screen", "x", "y", "width", "height"}


# A reviewer's note is a few sentences; a page is still fine, a file pasted in is not.
MAX_NOTE_LENGTH = 2000


def review_refusal(review: Review, received_ms: int, limits: IngressSettings) -> str | None:
    """Why a Review is refused, or None: ids as everywhere, a range that runs forwards, a known clock."""
    return (
        _id_refusal("session id", review["session_id"], limits, required=True)
        or _id_refusal("review id", review["review_id"], limits, required=True)
        or _id_refusal("reviewer", review["reviewer"], limits, required=True)
        or (
            f"the reviewed range ends ({review['ended_at_ms']}) before it starts ({review['started_at_ms']})"
            if review["ended_at_ms"] < review["started_at_ms"]
            else None
        )
        or (
            f"the note is {len(review['note'])} characters long, over the {MAX_NOTE_LENGTH} allowed"
            if len(review["note"]) > MAX_NOTE_LENGTH
            else None
        )
        or _clock_refusal("at_ms", review["at_ms"], received_ms, limits)
    )
