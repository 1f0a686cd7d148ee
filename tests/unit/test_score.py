import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.risk.score import accrue, decay, risk_score

half_lives = st.floats(min_value=1.0, max_value=600.0)
seconds = st.floats(min_value=0.0, max_value=3600.0)
evidence = st.floats(min_value=0.0, max_value=1e4)
rates = st.floats(min_value=0.0, max_value=10.0)


def test_half_life_halves():
    assert decay(8.0, 30.0, 30.0) == pytest.approx(4.0)
    assert decay(8.0, 60.0, 30.0) == pytest.approx(2.0)


def test_accrue_matches_a_fine_step_simulation():
    # dE/dt = r - ln2/h * E, integrated with 1 ms Euler steps, against the closed form.
    rate, half_life, value = 1.5, 20.0, 3.0
    simulated = value
    step = 0.001
    for _ in range(10_000):  # 10 s
        simulated += (rate - math.log(2) / half_life * simulated) * step
    assert accrue(value, rate, 10.0, half_life) == pytest.approx(simulated, rel=1e-3)


@given(evidence, rates, st.floats(min_value=0.01, max_value=30.0), half_lives, st.integers(2, 50))
def test_accrue_does_not_depend_on_the_frame_rate(start, rate, span, half_life, frames):
    one_step = accrue(start, rate, span, half_life)
    many_steps = start
    for _ in range(frames):
        many_steps = accrue(many_steps, rate, span / frames, half_life)
    assert many_steps == pytest.approx(one_step, rel=1e-9, abs=1e-9)


@given(evidence, seconds, half_lives)
def test_decay_never_grows_and_stays_non_negative(value, dt, half_life):
    assert 0.0 <= decay(value, dt, half_life) <= value


@given(evidence, rates, seconds, half_lives)
def test_accrue_is_bounded_by_the_steady_state(value, rate, dt, half_life):
    steady = rate * half_life / math.log(2)
    result = accrue(value, rate, dt, half_life)
    assert min(value, steady) - 1e-6 <= result <= max(value, steady) + 1e-6


@given(evidence, evidence)
def test_score_is_bounded_and_monotone(a, b):
    low, high = sorted((a, b))
    assert 0.0 <= risk_score(low, 10.0) <= risk_score(high, 10.0) <= 100.0


def test_score_without_evidence_decays_to_zero():
    value = 50.0
    for _ in range(100):
        value = decay(value, 30.0, 30.0)
    assert risk_score(value, 10.0) < 1e-6
