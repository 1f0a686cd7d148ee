"""A session flooding frames on a real broker and worker: it costs its excess frames, never the others."""

from __future__ import annotations

import pytest

from schemas.records import now_ms
from tests.helpers.frames import frame_record, timeline
from tests.helpers.kafka import collect, publish, results_of

pytestmark = pytest.mark.integration


def test_a_flooding_session_is_held_to_its_rate_and_the_others_go_on(settings, worker):
    pid = worker.process.pid
    # 100 frames per second of capture time for 6 s, against the default limit of 15 (burst 30).
    start = now_ms()
    flood = [frame_record("flood", i, start + 10 * i, "one_face") for i in range(600)]
    calm = timeline("calm", [("one_face", 30)])
    records = [(settings.topics.frames, "flood", f) for f in flood]
    for i, frame in enumerate(calm):
        records.insert(20 * i, (settings.topics.frames, "calm", frame))
    publish(settings, records)

    assert [r["frame_sequence"] for r in results_of(settings, "calm", len(calm))] == list(range(len(calm)))
    # The burst, then 15 per second of the 6 s: every other frame dead-lettered, each frame once.
    letters = collect(settings, settings.topics.dead_letter, "DeadLetter", lambda d: d["key"] == b"flood", 600, 20)
    answered = collect(settings, settings.topics.results, "Result", lambda r: r["session_id"] == "flood", 600, 5)
    assert 115 <= len(answered) <= 125
    assert len(answered) + len(letters) == len(flood)
    assert all("faster than 15 per second of capture time" in d["reason"] for d in letters)
    assert all(d["payload"] == b"" and d["payload_size"] > 1000 for d in letters)  # images not copied
    assert worker.process.pid == pid and worker.process.poll() is None
