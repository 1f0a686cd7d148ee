"""A commit never passes a record that is not handled (streams.worker.faust_acks)."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from faust.transport.consumer import Consumer
from faust.types import TP as TopicPartition
from intervaltree import IntervalTree

from streams.worker.faust_acks import commit_only_from_the_committed_offset

TP = TopicPartition("integrity.frames", 1)


def consumer(committed: int | None, acked: list[int], gap: tuple[int, int] | None = None) -> SimpleNamespace:
    gaps: defaultdict[object, IntervalTree] = defaultdict(IntervalTree)
    if gap:
        gaps[TP].addi(*gap)
    return SimpleNamespace(
        _acked=defaultdict(list, {TP: list(acked)}),
        _acked_index=defaultdict(set, {TP: set(acked)}),
        _committed_offset=defaultdict(lambda: None, {TP: committed}),
        _gap=gaps,
    )


def new_offset(state: SimpleNamespace) -> int | None:
    commit_only_from_the_committed_offset()
    result: int | None = Consumer._new_offset(state, TP)  # type: ignore[arg-type]
    return result


def test_acknowledged_from_the_committed_offset_commits_the_run():
    assert new_offset(consumer(35, [35, 36, 37])) == 38


def test_the_record_at_the_committed_offset_unhandled_holds_the_commit(caplog):
    # Faust's own check lets this through (36 - 35 > 1 is false) and commits 38: 35 never handled.
    assert new_offset(consumer(35, [36, 37])) is None
    assert "offset 35 is not handled yet" in caplog.text


def test_a_known_gap_at_the_committed_offset_counts_as_handled():
    # 35..36 are transaction markers, say: recorded as a gap, so the commit passes them.
    assert new_offset(consumer(35, [37, 38], gap=(35, 37))) == 39


def test_nothing_committed_yet_is_left_to_faust():
    assert new_offset(consumer(None, [3, 4])) == 5
