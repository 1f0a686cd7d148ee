"""Records reach the agents in offset order from the last seek (streams.worker.faust_order)."""

from __future__ import annotations

from streams.worker.faust_order import _Order

TP = ("integrity.frames", 1)


def test_records_in_order_are_handed_on():
    order = _Order()
    order.reset(TP, 23)
    assert [order.admit(TP, offset, batch=1) for offset in (23, 24, 25)] == ["hand_on"] * 3


def test_the_rest_of_a_batch_fetched_before_a_seek_back_is_refused_not_taken_for_a_gap():
    # What lost frames: after a restart Faust sought back to the committed offset 23, then the old
    # batch went on at 50; 24..49 were skipped as a "gap" and committed unprocessed.
    order = _Order()
    order.reset(TP, 23)
    order.batches = 1
    assert order.admit(TP, 23, batch=1) == "hand_on"
    assert order.admit(TP, 50, batch=1) == "seek_back"  # fetched again from 24
    order.batches = 2
    assert [order.admit(TP, offset, batch=2) for offset in (24, 25)] == ["hand_on", "hand_on"]
    assert order.admit(TP, 3, batch=2) == "drop"  # behind the position: a stale copy


def test_a_real_gap_is_confirmed_by_a_fetch_made_after_seeking_back():
    order = _Order()
    order.reset(TP, 10)
    order.batches = 1
    assert order.admit(TP, 10, batch=1) == "hand_on"
    assert order.admit(TP, 14, batch=1) == "seek_back"  # 11..13: transaction markers, say
    assert order.admit(TP, 14, batch=1) == "seek_back"  # the same old batch again proves nothing
    order.batches = 3
    assert order.admit(TP, 14, batch=3) == "hand_on_after_gap"  # fetched from 11 again, and 14 came first: real
    assert order.admit(TP, 15, batch=3) == "hand_on"


def test_a_partition_never_sought_takes_what_comes_first():
    order = _Order()
    assert order.admit(TP, 7, batch=1) == "hand_on"
    assert order.admit(TP, 8, batch=1) == "hand_on"


def test_a_record_the_streams_would_skip_is_fetched_again_from_the_expected_offset():
    # Between the seek to the committed offset and the streams' resumption, Faust fetched 202..207
    # and its streams skipped them: the session's last frames never came again.
    order = _Order()
    order.reset(TP, 202)
    assert order.hold(TP, 202) == 202
    assert order.hold(TP, 205) == 202  # ahead of the expected offset: from the expected one
    assert order.admit(TP, 202, batch=2) == "hand_on"
    assert order.hold(TP, 201) is None  # behind the position: a stale copy


def test_a_partition_never_sought_is_held_at_the_first_record_it_skips():
    order = _Order()
    assert order.hold(TP, 7) == 7
    assert order.admit(TP, 7, batch=1) == "hand_on"
