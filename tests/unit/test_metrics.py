"""Dead letters' reasons become a bounded label: the same kind of refusal, one time series."""

from __future__ import annotations

import pytest

from streams.web.metrics import reason_kind


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
