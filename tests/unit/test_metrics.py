"""Dead letters' reasons become a bounded label: the same kind of refusal, one time series."""

from __future__ import annotations

from typing import cast

import pytest

from schemas.records import FinalReport, Observation, Review
from streams.worker.metrics import REGISTRY, count_final_report, count_observation, count_review, reason_kind


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("bad Frame record: not an Avro single-object record (64 bytes, bad marker)", "bad Frame record"),
        ("bad image: cannot decode 1234 bytes", "bad image"),
        (
            "sequence 12 is 300 behind the session's newest 312 (at most 255)",
            "sequence _ is _ behind the session's newest _ (at most _)",
        ),
        ("frame key b'x' is not its session id", "frame key b_ is not its session id"),
    ],
)
def test_a_reason_becomes_its_kind(reason, kind):
    assert reason_kind(reason) == kind


def test_kinds_do_not_grow_with_the_values_inside_them():
    assert reason_kind("sequence 1 is 300 behind") == reason_kind("sequence 99 is 4000 behind")


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_quality_intervals_reviews_and_unassessable_share_are_counted():
    def event(kind: str, ended: int | None) -> dict:
        return {"type": kind, "ended_at_ms": ended, "started_at_ms": 0, "event_id": "e", "details": {}}

    before = {kind: _sample("integrity_quality_intervals_total", kind=kind) for kind in ("low_light", "frame_gap")}
    observation = {
        "timings_ms": {"total": 5.0},
        # low_light starts, another ends (counted at its start), a gap is raised closed, a behaviour starts.
        "events": [event("low_light", None), event("blurred", 100), event("frame_gap", 5000), event("talking", None)],
    }
    count_observation(cast(Observation, observation))  # only the fields it counts
    assert _sample("integrity_quality_intervals_total", kind="low_light") == before["low_light"] + 1
    assert _sample("integrity_quality_intervals_total", kind="frame_gap") == before["frame_gap"] + 1
    assert _sample("integrity_quality_intervals_total", kind="talking") == 0.0  # behaviours are not quality

    reviews = _sample("integrity_reviews_total", decision="dismissed")
    count_review(cast(Review, {"decision": "dismissed"}))
    assert _sample("integrity_reviews_total", decision="dismissed") == reviews + 1

    shares = _sample("integrity_final_report_unassessable_share_bucket", le="0.5")
    count_final_report(cast(FinalReport, {"verdict": "inconclusive", "unassessable_share": 0.4}))
    assert _sample("integrity_final_report_unassessable_share_bucket", le="0.5") == shares + 1
