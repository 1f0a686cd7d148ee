"""The contract's rules at the edge: each broken rule is refused with a reason that says which."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.records import new_frame, new_session_control
from streams.settings import IngressSettings
from streams.validation import control_refusal, frame_refusal, observation_refusal, session_refusal, spend_frame
from tests.helpers.frames import observation_record

NOW = 1_800_000_000_000
LIMITS = IngressSettings()
POLICIES = {"default", "strict"}


def frame(**changes):
    return new_frame("s1", 3, b"\xff\xd8", width=640, height=480, captured_at_ms=NOW, candidate_id="c1") | changes


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"session_id": ""}, "session id is empty"),
        ({"session_id": "   "}, "session id is empty"),
        ({"session_id": "s" * 129}, "session id is 129 characters long, over the 128 allowed"),
        ({"candidate_id": "c" * 200}, "candidate id is 200 characters long, over the 128 allowed"),
        ({"sequence": -1}, "sequence -1 is negative"),
        ({"image": b"\xff" * (4 * 1024 * 1024 + 1)}, "the image is 4194305 bytes, over the 4194304 allowed"),
        ({"captured_at_ms": NOW - 601_000}, "captured_at_ms is 601 s behind the broker's timestamp"),
        ({"captured_at_ms": NOW // 1000}, "captured_at_ms is 1798200000 s behind"),  # seconds, not milliseconds
        ({"captured_at_ms": NOW + 3_600_000}, "captured_at_ms is 3600 s ahead of the broker's timestamp"),
        ({"metadata": {str(i): "v" for i in range(33)}}, "metadata has 33 entries, over the 32 allowed"),
        ({"metadata": {"k": "v" * 300}}, "a metadata entry is 301 characters long, over the 256 allowed"),
    ],
)
def test_a_broken_frame_is_refused_saying_why(changes, reason):
    refused = frame_refusal(frame(**changes), NOW, LIMITS)
    assert refused is not None and refused.startswith(reason), refused


def test_a_good_frame_passes_and_a_repeated_sequence_is_not_a_refusal():
    assert frame_refusal(frame(), NOW + 599_000, LIMITS) is None
    assert frame_refusal(frame(sequence=0), NOW, LIMITS) is None  # a redelivery is answered, not refused


@pytest.mark.parametrize(
    "record, reason",
    [
        (new_session_control("s1", "start", "c", policy="lenient", at_ms=NOW), "unknown policy 'lenient'"),
        (new_session_control("", "end", "c", at_ms=NOW), "session id is empty"),
        (new_session_control("s1", "end", "c", last_sequence=-2, at_ms=NOW), "last_sequence -2 is negative"),
        (new_session_control("s1", "start", "c", at_ms=0), "at_ms is "),
    ],
)
def test_a_broken_control_record_is_refused_saying_why(record, reason):
    refused = control_refusal(record, NOW, LIMITS, POLICIES)
    assert refused is not None and refused.startswith(reason), refused


def test_a_start_naming_no_policy_or_a_known_one_passes():
    for policy in ("", "strict"):
        assert (
            control_refusal(new_session_control("s1", "start", "c", policy=policy, at_ms=NOW), NOW, LIMITS, POLICIES)
            is None
        )


def _observation(**changes):
    return observation_record("s1", 3, NOW, **changes)


@pytest.mark.parametrize(
    "changes, reason",
    [
        (
            {"conditions": [{"type": "phone_visible", "confidence": float("inf"), "since_ms": NOW, "until_ms": None}]},
            "conditions[0].confidence is inf, not a finite number",
        ),
        (
            {"faces": [{"confidence": 7.0, "x": 0, "y": 0, "width": 1, "height": 1, "too_small": False}]},
            "faces[0].confidence is 7.0, outside 0..1",
        ),
        ({"brightness": float("nan")}, "brightness is nan, not a finite number"),
        ({"brightness": 300.0}, "brightness is 300.0, outside 0..255"),
        ({"frame_sequence": -1}, "frame sequence -1 is negative"),
        ({"session_id": ""}, "session id is empty"),
    ],
)
def test_an_observation_no_worker_could_have_written_is_refused(changes, reason):
    assert observation_refusal(_observation(**changes)) == reason


def test_a_real_observation_passes():
    assert observation_refusal(_observation()) is None


def _session(last_sequence: int, last_ms: int, last_received_ms: int) -> dict:
    return {"last_sequence": last_sequence, "last_ms": last_ms, "last_received_ms": last_received_ms}


def test_a_sequence_jump_no_capture_time_explains_is_refused():
    state = _session(41, NOW, NOW + 50)
    assert session_refusal(state, frame(sequence=42, captured_at_ms=NOW + 200), NOW + 250, LIMITS) is None
    # 10 s of capture time allow 600 frames at 60 fps, plus 30.
    assert session_refusal(state, frame(sequence=671, captured_at_ms=NOW + 10_000), NOW + 10_050, LIMITS) is None
    refused = session_refusal(state, frame(sequence=10_000_000, captured_at_ms=NOW + 200), NOW + 250, LIMITS)
    assert refused == (
        "sequence 10000000 jumps 9999959 ahead of the session's newest 41 in 0.2 s of capture time (at most 42)"
    )


def test_a_capture_time_running_ahead_of_the_brokers_clock_is_refused():
    state = _session(41, NOW, NOW + 50)
    forged = frame(sequence=42, captured_at_ms=NOW + 300_000)  # 5 minutes ahead: inside the 10-minute skew
    assert frame_refusal(forged, NOW + 250, LIMITS) is None
    refused = session_refusal(state, forged, NOW + 250, LIMITS)
    assert refused is not None and refused.startswith("captured_at_ms runs 299.8 s further ahead")
    # A camera off for five minutes, or a producer stalled: capture and broker time advance together.
    later = frame(sequence=42, captured_at_ms=NOW + 300_000)
    assert session_refusal(state, later, NOW + 300_050, LIMITS) is None
    # A replay sending faster than it captured: each step is checked, not the sum.
    assert session_refusal(state, frame(sequence=42, captured_at_ms=NOW + 200), NOW + 60, LIMITS) is None


def test_the_first_frame_of_a_session_has_nothing_to_be_checked_against():
    assert session_refusal(None, frame(sequence=5_000), NOW, LIMITS) is None


def test_a_frame_too_far_behind_to_tell_from_a_redelivery_is_refused():
    state = _session(1000, NOW, NOW + 50)
    assert session_refusal(state, frame(sequence=745, captured_at_ms=NOW - 51_000), NOW + 60, LIMITS) is None
    refused = session_refusal(state, frame(sequence=744, captured_at_ms=NOW - 51_200), NOW + 60, LIMITS)
    assert refused == (
        "sequence 744 is 256 behind the session's newest 1000 (at most 255): too late to analyse, "
        "or a redelivery too old to tell"
    )


def test_a_session_flooding_frames_is_held_to_its_rate_in_capture_time():
    budget, accepted = None, []
    for i in range(100):  # 100 frames 10 ms apart: 100 fps for one second
        after, reason = spend_frame(budget, NOW + 10 * i, LIMITS)
        if reason is None:
            accepted.append(i)
        budget = after
    # The burst of 30, then 15 per second of the 0.99 s they span: 14 more.
    assert accepted[:30] == list(range(30)) and len(accepted) == 44
    after, reason = spend_frame(budget, NOW + 1_000, LIMITS)
    assert reason == (
        "the session sends frames faster than 15 per second of capture time (with a burst of 30): frame dropped"
    )
    # A camera at its normal rate is never refused, however long it runs; nor a replay sent fast.
    budget = None
    for i in range(1000):
        budget, reason = spend_frame(budget, NOW + 200 * i, LIMITS)
        assert reason is None


@settings(max_examples=300, deadline=None)
@given(gaps_ms=st.lists(st.integers(min_value=-500, max_value=400), min_size=1, max_size=300))
def test_no_order_of_capture_times_gets_a_session_past_its_budget(gaps_ms):
    # However a producer spaces (or reorders) its capture times, the frames accepted over any stretch
    # of capture time are at most the burst plus the rate times that stretch.
    budget, captured, accepted = None, NOW, []
    for gap in gaps_ms:
        captured += gap
        budget, reason = spend_frame(budget, captured, LIMITS)
        if reason is None:
            accepted.append(captured)
    first = NOW + gaps_ms[0]  # the budget starts full at the session's first frame
    span_s = max(max(accepted) - first, 0) / 1000
    assert len(accepted) <= LIMITS.session_burst_frames + span_s * LIMITS.session_max_fps + 1e-9
