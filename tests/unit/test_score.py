"""Properties of the score (hypothesis): monotone in evidence, decays to zero without evidence, bounded,
and independent of the order in which the same behaviour intervals arrive."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.risk.evidence import evidence_at, fold_closed, interval_value, upsert_interval
from streams.risk.policy import BehaviourWeight, PolicyBook
from streams.risk.score import risk_score
from streams.risk.state import new_evidence

POLICY = PolicyBook().get("default")
KINDS = sorted(POLICY.behaviours)
T0 = 1_800_000_000_000

intervals = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        # Within the lateness bound of each other (30 s): later arrivals are refused, by design.
        st.integers(0, 20_000),  # start offset, ms
        st.integers(0, 10_000),  # duration, ms
        st.floats(0.05, 1.0),  # confidence
        st.booleans(),  # closed?
    ),
    max_size=12,
)


def book_of(items, order=None) -> dict:
    book = new_evidence()
    items = list(items) if order is None else [items[i] for i in order]
    for index, (kind, start, duration, confidence, closed) in items:
        begin, end = T0 + start, T0 + start + duration
        upsert_interval(
            book,
            event_id=f"s:{kind}:{index}",
            kind=kind,
            start=begin,
            seen_at=end,
            confidence=confidence,
            end=end if closed else None,
        )
        book["latest_ms"] = max(book["latest_ms"], end)
        fold_closed(book, POLICY)
    return book


def score(book: dict, at: int) -> float:
    return risk_score(sum(evidence_at(book, POLICY, at).values()), POLICY.score_scale)


def test_interval_value_matches_a_fine_step_simulation():
    weight = BehaviourWeight(rate=1.5, half_life_s=20.0)
    value, step = 0.0, 0.001
    for _ in range(10_000):  # 10 s held
        value += (weight.rate - math.log(2) / weight.half_life_s * value) * step
    for _ in range(5_000):  # then 5 s without
        value -= math.log(2) / weight.half_life_s * value * step
    assert interval_value(weight, 1.0, 0, 10_000, 15_000) == pytest.approx(value, rel=1e-3)


@settings(max_examples=200, deadline=None)
@given(intervals, st.randoms(use_true_random=False))
def test_score_does_not_depend_on_arrival_order(items, rng):
    numbered = list(enumerate(items))
    at = T0 + 200_000
    order = list(range(len(numbered)))
    rng.shuffle(order)
    assert score(book_of(numbered), at) == pytest.approx(score(book_of(numbered, order), at), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(intervals, st.sampled_from(KINDS), st.integers(0, 20_000), st.integers(1_000, 10_000))
def test_more_evidence_never_lowers_the_score(items, kind, start, duration):
    numbered = list(enumerate(items))
    at = T0 + 200_000
    more = [*numbered, (len(numbered), (kind, start, duration, 1.0, True))]
    assert score(book_of(more), at) >= score(book_of(numbered), at) - 1e-9


@settings(max_examples=100, deadline=None)
@given(intervals)
def test_score_is_bounded_and_decays_to_zero(items):
    book = book_of(list(enumerate(items)))
    ceiling = risk_score(sum(w.cap for w in POLICY.behaviours.values()), POLICY.score_scale)
    assert 0.0 <= score(book, T0 + 200_000) <= ceiling < 100.0
    # Closed evidence fades to nothing; open intervals stop adding once their frames stop.
    assert score(book, T0 + 200_000 + 3_600_000) < 0.01


@settings(max_examples=100, deadline=None)
@given(intervals)
def test_redelivering_every_interval_changes_nothing(items):
    numbered = list(enumerate(items))
    once = book_of(numbered)
    twice = book_of(numbered + numbered)
    assert score(twice, T0 + 200_000) == pytest.approx(score(once, T0 + 200_000), abs=1e-9)


def test_one_stuck_behaviour_cannot_saturate_the_score_alone():
    book = new_evidence()
    upsert_interval(
        book, event_id="s:looking_away:0", kind="looking_away", start=T0, seen_at=T0 + 3_600_000, confidence=1.0
    )
    book["latest_ms"] = T0 + 3_600_000
    assert score(book, T0 + 3_600_000) == pytest.approx(risk_score(POLICY.behaviours["looking_away"].cap, 10.0))
    assert score(book, T0 + 3_600_000) < POLICY.review_at * 1.6


def test_shorter_than_the_minimum_duration_never_counts():
    book = new_evidence()
    upsert_interval(
        book,
        event_id="s:face_absent:0",
        kind="face_absent",
        start=T0,
        seen_at=T0 + 1_500,
        confidence=1.0,
        end=T0 + 1_500,
    )  # 1.5 s < 2 s
    book["latest_ms"] = T0 + 1_500
    fold_closed(book, POLICY)
    assert evidence_at(book, POLICY, T0 + 2_000) == {}
