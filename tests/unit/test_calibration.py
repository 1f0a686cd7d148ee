"""Calibration: it recovers a planted threshold, is deterministic, never overwrites, and its policy file is
one the workers load and sessions can name."""

from __future__ import annotations

import datetime
import re
from typing import cast

import pytest

from schemas.records import new_session_control
from streams.offline.calibration import (
    CalibrationError,
    calibrate,
    calibrated_name,
    comparison_table,
    write_policy,
)
from streams.offline.evaluation import evaluate, policy_book_of
from streams.offline.labels import SessionLabel
from streams.risk import PolicyBook, RiskEngine, final_report
from streams.risk.policy import POLICY_DIR, load_policy
from tests.helpers.sessions import absence_session

PLANTED_S = 6  # an absence this long or longer is cheating in the planted truth
# The shortest absence the calibrated policy flags may miss the planted threshold by one second: the
# spacing of the planted absences, finer than which the labels cannot tell thresholds apart.
TOLERANCE_S = 1.0


def _planted() -> tuple[list, dict[str, SessionLabel]]:
    """Sessions whose only behaviour is one absence of 1..12 s; cheating iff it lasts PLANTED_S or more."""
    sessions = [absence_session(f"absent-{s:02d}s", s) for s in range(1, 13)]
    labels = {
        f"absent-{s:02d}s": SessionLabel(f"absent-{s:02d}s", "cheating" if s >= PLANTED_S else "clean")
        for s in range(1, 13)
    }
    return sessions, labels


@pytest.fixture(scope="module")
def base():
    return PolicyBook().get("default")


@pytest.fixture(scope="module")
def calibration(base):
    sessions, labels = _planted()
    return calibrate(sessions, labels, base, target_false_flag_rate=0.0)


def _shortest_flagged_absence(policy) -> float | None:
    """Over absences of 1 to 12 s every half second, none of them the calibration's."""
    held_out = [absence_session(f"held-{s / 2:04.1f}", s / 2) for s in range(2, 25)]
    evaluation = evaluate(held_out, {}, policy_book_of(policy), policy=policy.name)
    flagged = [float(o.session_id.removeprefix("held-")) for o in evaluation.sessions if o.flagged]
    return min(flagged, default=None)


def test_calibration_recovers_the_planted_threshold(calibration, base):
    assert cast(float, _shortest_flagged_absence(base)) >= 11  # the default policy flags only the longest
    before, after = calibration.before.metrics, calibration.after.metrics
    assert before.flagged.recall < 0.5
    assert after.false_flags == 0 and after.flagged.recall == 1.0 and after.flagged.precision == 1.0
    assert calibration.meets_target and calibration.changes
    shortest = _shortest_flagged_absence(calibration.calibrated)
    print(f"shortest absence flagged: {shortest} s; changes: {calibration.changes}")
    assert shortest is not None and abs(shortest - PLANTED_S) <= TOLERANCE_S


def test_the_before_after_table(calibration):
    lines = comparison_table(calibration, "default-cal1@1")
    assert lines[0].split() == ["default@2", "default-cal1@1"]
    assert lines[2].split() == ["flagged", "recall", f"{calibration.before.metrics.flagged.recall:.2f}", "1.00"]
    assert lines[5].split() == ["false", "flags", "per", "clean", "hour", "0.00", "0.00"]
    assert any(line.startswith("changed: ") and "->" in line for line in lines)
    flips = [line.split() for line in lines if line.startswith("  absent-")]
    assert ["absent-06s", "cheating", "review", "->", "flagged"] in flips


def _without_date(text: str) -> str:
    return re.sub(r"^#\s+date: .*$", "# date", text, flags=re.MULTILINE)


def test_calibration_is_deterministic_and_never_overwrites(tmp_path, calibration, base):
    sessions, labels = _planted()
    again = calibrate(sessions, labels, base, target_false_flag_rate=0.0)
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        (folder / "default.yaml").write_bytes((POLICY_DIR / "default.yaml").read_bytes())
    first, _ = write_policy(calibration, one, "labels.csv", today=datetime.date(2026, 1, 1))
    second, _ = write_policy(again, two, "labels.csv", today=datetime.date(2026, 2, 2))
    assert first.name == second.name == "default-cal1.yaml"
    assert first.read_text() != second.read_text()  # the dates differ...
    assert _without_date(first.read_text()) == _without_date(second.read_text())  # ...and nothing else

    kept = first.read_bytes()
    third, policy = write_policy(again, one, "labels.csv")
    assert third.name == "default-cal2.yaml" and policy.name == "default-cal2"
    assert (
        first.read_bytes() == kept and (one / "default.yaml").read_bytes() == (POLICY_DIR / "default.yaml").read_bytes()
    )
    assert calibrated_name("default-cal2", one) == "default-cal3"  # a calibrated policy's suffix is not nested


def test_the_file_says_where_it_came_from(tmp_path, calibration):
    path, policy = write_policy(calibration, tmp_path, "reviews/labels.csv", today=datetime.date(2026, 3, 4))
    text = path.read_text()
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert header[0] == "# default-cal1: derived from default@2 by `integrity calibrate`."
    assert "#   labels: reviews/labels.csv (12 recorded sessions: 7 cheating, 5 clean)" in header
    assert "#   target: at most 0 false flags per clean session-hour" in header
    assert "#   date: 2026-03-04" in header
    assert any(line.startswith("# flagged recall") for line in header)
    assert any(line.startswith("#   absent-06s") and "review -> flagged" in line for line in header)
    assert "\nname: default-cal1\nversion: 1\n" in text
    assert load_policy(path) == policy
    assert policy.behaviours.keys() == calibration.base.behaviours.keys()


def test_a_start_record_naming_the_calibrated_policy_gets_it(tmp_path, calibration):
    (tmp_path / "default.yaml").write_bytes((POLICY_DIR / "default.yaml").read_bytes())
    _, policy = write_policy(calibration, tmp_path, "labels.csv")
    book = PolicyBook(tmp_path)
    assert book.policies["default-cal1"] == policy and book.default == "default"

    engine = RiskEngine(book)
    session = absence_session("s", PLANTED_S)
    verdicts = {}
    for name in ("default", "default-cal1"):
        state = engine.start(None, new_session_control("s", "start", "c", policy=name, at_ms=0))
        assert state.policy == name and engine.policy_for(state) == book.policies[name]
        for observation in session.observations:
            state, _ = engine.apply(state, observation, now_ms=observation["captured_at_ms"])
        report = final_report(engine, state, "ended", now_ms=0)
        verdicts[report["policy"]] = report["verdict"]
    assert verdicts == {"default@2": "review", "default-cal1@1": "flagged"}  # old verdicts keep their stamp


def test_calibration_needs_both_decisions_and_a_sane_target(base):
    sessions, labels = _planted()
    cheating_only = {k: v for k, v in labels.items() if v.cheating}
    with pytest.raises(CalibrationError, match="labelled cheating and clean"):
        calibrate(sessions, cheating_only, base, 0.0)
    with pytest.raises(CalibrationError, match="must be a number >= 0"):
        calibrate(sessions, labels, base, -1.0)


def test_an_unreachable_target_is_reported_not_hidden(base):
    # A clean session whose absence is as long as a cheating one's: no policy tells them apart.
    sessions = [absence_session("cheat", 10), absence_session("clean", 10)]
    labels = {"cheat": SessionLabel("cheat", "cheating"), "clean": SessionLabel("clean", "clean")}
    result = calibrate(sessions, labels, base, 0.0)
    assert result.meets_target  # by flagging neither: within the target, recall 0
    assert result.after.metrics.false_flags == 0 and result.after.metrics.flagged.recall == 0.0
