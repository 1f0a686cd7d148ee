"""Reviewers' decisions as labels and as a report per policy version: what `integrity calibrate --reviews`
and `integrity evaluate --reviews` compute, and what the review command and the edge rules accept."""

from __future__ import annotations

import argparse
import re
from typing import cast

import pytest

from schemas.records import FinalReport
from streams.cli.reviews import review_record
from streams.offline.reviews import labels_from_reviews, review_report
from streams.settings import IngressSettings
from streams.validation import review_refusal

START = 1_800_000_000_000


def review(session: str, decision: str, behaviour: str = "face_absent", start_s: float = 10, end_s: float = 14, **more):
    return {
        "session_id": session,
        "review_id": more.pop("review_id", f"{session}-{behaviour}-{start_s}"),
        "decision": decision,
        "event_id": None,
        "behaviour": behaviour,
        "started_at_ms": int(START + start_s * 1000),
        "ended_at_ms": int(START + end_s * 1000),
        "policy": more.pop("policy", "default@2"),
        "reviewer": "rev-1",
        "note": "",
        "at_ms": more.pop("at_ms", START + 100_000),
    }


def report(session: str, policy: str, observed_s: float) -> FinalReport:
    # Only the fields the review report reads.
    return cast(FinalReport, {"session_id": session, "policy": policy, "observed_s": observed_s})


def test_confirmed_reviews_make_cheating_labels_with_their_ranges_dismissals_make_clean():
    reviews = [
        review("a", "confirmed", "face_absent", 10, 14),
        review("a", "dismissed", "looking_away", 30, 33),
        review("b", "dismissed", "talking", 5, 9),
        review("c", "confirmed", "", 0, 60),  # the whole session, no behaviour named
    ]
    labels = labels_from_reviews(reviews, {"a": START, "b": START + 2000})
    assert labels["a"].decision == "cheating"
    assert [(r.behaviour, r.start_s, r.end_s) for r in labels["a"].behaviours] == [("face_absent", 10.0, 14.0)]
    assert labels["b"].decision == "clean" and labels["b"].behaviours == ()
    assert labels["c"].decision == "cheating" and labels["c"].behaviours == ()


def test_a_review_sent_again_counts_once_and_the_last_word_wins():
    first = review("a", "confirmed", review_id="r1", at_ms=START + 1)
    changed = review("a", "dismissed", review_id="r1", at_ms=START + 2)
    assert labels_from_reviews([first, changed, changed], {})["a"].decision == "clean"


def test_the_report_per_policy_version_and_how_it_moved():
    reviews = [
        # Under default@1: two face_absent flags dismissed in clean sessions, one confirmed.
        review("s1", "dismissed", policy="default@1"),
        review("s2", "dismissed", policy="default@1"),
        review("s3", "confirmed", policy="default@1"),
        # Under default@2: one dismissed, two confirmed.
        review("s4", "dismissed", policy="default@2"),
        review("s5", "confirmed", policy="default@2"),
        review("s6", "confirmed", policy="default@2"),
    ]
    reports = [report(f"s{i}", "default@1" if i <= 3 else "default@2", 1800.0) for i in range(1, 7)]
    reports.append(report("s7", "default@2", 1800.0))  # judged, never reviewed
    out = review_report(reviews, reports)
    old, new = out.policies["default@1"], out.policies["default@2"]
    assert (old.sessions, old.reviewed, old.clean_hours) == (3, 3, 1.0)
    assert (new.sessions, new.reviewed, new.clean_hours) == (4, 3, 0.5)
    assert old.behaviours["face_absent"].precision == pytest.approx(1 / 3)
    assert new.behaviours["face_absent"].precision == pytest.approx(2 / 3)
    assert old.false_flags_per_clean_hour("face_absent") == 2.0
    assert new.false_flags_per_clean_hour("face_absent") == 2.0
    moved = out.moved()["default"]
    assert (moved["from"], moved["to"]) == ("default@1", "default@2")
    assert moved["behaviours"]["face_absent"] == {
        "precision": pytest.approx(1 / 3, abs=1e-3),
        "false_flags_per_clean_hour": 0.0,
    }
    assert out.to_dict()["policies"]["default@2"]["behaviours"]["face_absent"]["confirmed"] == 2


def args(**given) -> argparse.Namespace:
    values = {
        "session_id": "s-1",
        "decision": "dismissed",
        "reviewer": "rev",
        "event": None,
        "behaviour": None,
        "start_ms": None,
        "end_ms": None,
        "policy": None,
        "note": None,
        "review_id": None,
    }
    return argparse.Namespace(**(values | given))


def test_the_review_command_reads_an_event_id_or_a_range():
    record = review_record(args(event=f"s-1:looking_away:{START}", end_ms=START + 4000, policy="exam@2"))
    assert (record["behaviour"], record["started_at_ms"], record["ended_at_ms"]) == (
        "looking_away",
        START,
        START + 4000,
    )
    assert record["event_id"] == f"s-1:looking_away:{START}" and record["policy"] == "exam@2"
    ranged = review_record(args(start_ms=START, behaviour="talking", decision="confirmed", review_id="r-9"))
    assert (ranged["ended_at_ms"], ranged["review_id"], ranged["event_id"]) == (START, "r-9", None)
    with pytest.raises(ValueError, match="not one of session 's-1'"):
        review_record(args(event=f"s-2:looking_away:{START}"))
    with pytest.raises(ValueError, match="--event ID, or the range"):
        review_record(args())


def test_the_edge_refuses_reviews_that_cannot_be_kept():
    limits, now = IngressSettings(), START
    good = review("s", "confirmed") | {"at_ms": now}
    assert review_refusal(good, now, limits) is None
    assert review_refusal(good | {"reviewer": " "}, now, limits) == "reviewer is empty"
    backwards = good | {"ended_at_ms": good["started_at_ms"] - 1}
    assert "ends" in cast(str, review_refusal(backwards, now, limits))
    assert "over the 2000 allowed" in cast(str, review_refusal(good | {"note": "x" * 2001}, now, limits))
    assert "behind the broker" in cast(str, review_refusal(good | {"at_ms": now - 3_600_000}, now, limits))


def test_the_page_and_the_command_build_the_same_review():
    from streams.web.reviews import review_from_request

    fields = {"event_id": f"s-1:looking_away:{START}", "ended_at_ms": START + 4000, "policy": "exam@2", "note": "n"}
    from_page = review_from_request("s-1", {"decision": "confirmed", "review_id": "r-1", **fields}, "ana")
    from_cli = review_record(
        args(
            decision="confirmed", reviewer="ana", event=fields["event_id"], end_ms=START + 4000, policy="exam@2",
            note="n", review_id="r-1",
        )
    )  # fmt: skip
    assert from_page | {"at_ms": 0} == from_cli | {"at_ms": 0}
    ranged = review_from_request(
        "s-1", {"decision": "dismissed", "started_at_ms": START, "ended_at_ms": START + 9}, "b"
    )
    assert (ranged["event_id"], ranged["behaviour"], ranged["reviewer"]) == (None, "", "b")
    assert len(ranged["review_id"]) == 32  # a new id


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"decision": "confirmed", "started_at_ms": START, "reviewer": "someone"}, "who signed in"),
        ({"decision": "maybe", "started_at_ms": START}, "use confirmed or dismissed"),
        ({"decision": "confirmed"}, "give the event's id, or the range's start"),
        ({"decision": "confirmed", "started_at_ms": "soon"}, "started_at_ms is a whole number"),
        ({"decision": "confirmed", "started_at_ms": True}, "started_at_ms is a whole number"),
        ({"decision": "confirmed", "started_at_ms": START, "note": 3}, "note is a string"),
        ({"decision": "confirmed", "started_at_ms": START, "colour": "red"}, "unknown field(s) colour"),
        ({"decision": "confirmed", "event_id": f"other:talking:{START}"}, "not one of session 's-1'"),
        (["confirmed"], "a JSON object"),
    ],
)
def test_a_review_from_the_page_says_what_is_wrong_with_it(body, words):
    from streams.web.reviews import review_from_request

    with pytest.raises(ValueError, match=re.escape(words)):
        review_from_request("s-1", body, "ana")
