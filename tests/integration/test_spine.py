"""Frames in, verdicts out: a real broker, a real worker, real Avro, real models on real photos."""

from __future__ import annotations

import hashlib
import itertools
import json
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from producers.images import encode_jpeg
from schemas import codec_for
from schemas.records import now_ms
from streams.samples.scenes import scene_image
from tests.helpers.frames import INTERVAL_MS, SHARED_WEIGHTS, frame_record, timeline
from tests.helpers.kafka import collect, publish, results_of

pytestmark = pytest.mark.integration


def test_results_follow_the_frames(settings, worker):
    a = timeline("it-a", [("one_face", 8), ("face_absent", 30), ("one_face", 20)])
    b = timeline("it-b", [("one_face", 5), ("two_faces", 10), ("one_face", 5)])
    interleaved = [f for pair in zip(a, b + [None] * len(a), strict=False) for f in pair if f]
    publish(settings, [(settings.topics.frames, f["session_id"], f) for f in interleaved])

    results_a = results_of(settings, "it-a", len(a))
    results_b = results_of(settings, "it-b", len(b))

    # One Result per frame, in frame order within each session.
    assert [r["frame_sequence"] for r in results_a] == list(range(len(a)))
    assert [r["frame_sequence"] for r in results_b] == list(range(len(b)))
    # Face counts on the known frames.
    assert [r["face_count"] for r in results_a] == [1] * 8 + [0] * 30 + [1] * 20
    assert [r["face_count"] for r in results_b] == [1] * 5 + [2] * 10 + [1] * 5

    scores = [r["risk_score"] for r in results_a]
    # Absence counts once it has lasted 2 s (frame 18), from its start, until the face is back (38).
    assert scores[:18] == [0.0] * 18
    assert all(later > earlier for earlier, later in itertools.pairwise(scores[18:39]))
    assert all(later < earlier for earlier, later in itertools.pairwise(scores[39:]))
    assert results_a[38]["verdict"] in {"review", "flagged"}
    assert results_a[38]["reasons"][0]["event_type"] == "face_absent"
    assert results_a[0]["verdict"] == "inconclusive"  # under 3 s seen
    assert results_a[17]["verdict"] == "clear"
    starts = [e for r in results_a for e in r["recent_events"] if e["frame_sequence"] == r["frame_sequence"]]
    assert [(e["type"], e["details"]["phase"]) for e in starts] == [("face_absent", "start"), ("face_absent", "end")]
    assert results_b[14]["reasons"][0]["event_type"] in {"multiple_faces", "extra_person"}
    assert "multiple_faces" in results_b[14]["conditions"]

    # Real YOLO weights on the session's schedule (streams/vision/schedule.py); the other frames say they
    # were not checked. The camera shakes, so the picture always moved: once per interval of capture time.
    statuses = [r["objects_status"] for r in results_a]
    if Path(SHARED_WEIGHTS).exists():
        every = round(settings.vision.objects_every_s * 1000 / INTERVAL_MS)
        assert statuses == ["skipped" if r["frame_sequence"] % every else "checked" for r in results_a]
    else:
        assert set(statuses) == {"unavailable"}
    assert all((r["objects"] is None) == (r["objects_status"] != "checked") for r in results_a)
    assert all(r["processing_time_ms"] > 0 for r in results_a)
    assert all(r["gaze"] == "center" for r in results_a[:8])


def test_malformed_frames_go_to_the_dead_letter_topic_and_the_stream_goes_on(settings, worker):
    frames = timeline("it-dlq", [("one_face", 3)])
    # Numbered like the frame it stands in for: only its image is wrong.
    broken_image = frame_record("it-dlq", 2, now_ms() + 400, "one_face", image=b"\xff\xd8\xff\xe0 truncated")
    publish(
        settings,
        [
            (settings.topics.frames, "it-dlq", frames[0]),
            (settings.topics.frames, "it-dlq", b"\x00\x01 definitely not Avro"),
            (settings.topics.frames, "it-dlq", frames[1]),
            (settings.topics.frames, "it-dlq", broken_image),
            (settings.topics.frames, "it-dlq", frames[2]),
        ],
    )
    results = results_of(settings, "it-dlq", 3)
    assert [r["frame_sequence"] for r in results] == [0, 1, 2]

    letters = collect(settings, settings.topics.dead_letter, "DeadLetter", lambda d: d["key"] == b"it-dlq", 2)
    reasons = [letter["reason"] for letter in letters]
    assert len(letters) == 2
    assert reasons[0].startswith("bad Frame record")
    assert reasons[1].startswith("bad image")
    assert all(
        letter["stage"] == "detection" and letter["source_topic"] == settings.topics.frames for letter in letters
    )
    assert letters[0]["payload"] == b"\x00\x01 definitely not Avro"


def test_a_frame_too_large_to_dead_letter_whole_is_kept_as_a_prefix_and_a_digest(settings, worker):
    # A 4000x3000 photo with sensor noise: about 2 MB of JPEG, over Kafka's usual 1 MB request limit.
    big = cv2.resize(scene_image("one_face"), (4000, 3000)).astype(np.float32)
    noisy = np.clip(big + np.random.default_rng(5).normal(0, 4, big.shape), 0, 255).astype(np.uint8)
    huge = frame_record("it-huge", 0, now_ms(), "one_face", image=encode_jpeg(noisy, 90))
    huge["width"], huge["height"] = 4000, 3000
    after = frame_record("it-huge", 1, now_ms() + 200, "one_face")
    publish(settings, [(settings.topics.frames, "it-huge", huge), (settings.topics.frames, "it-huge", after)])

    assert [r["frame_sequence"] for r in results_of(settings, "it-huge", 1)] == [1]
    letter = collect(settings, settings.topics.dead_letter, "DeadLetter", lambda d: d["key"] == b"it-huge", 1)[0]
    whole = codec_for("Frame").encode(huge)
    assert len(whole) > 1_000_000
    assert letter["reason"].startswith("bad image: image is 4000x3000")
    assert letter["payload"] == whole[: settings.ingress.dead_letter_max_payload_bytes]
    assert letter["payload_size"] == len(whole)
    assert letter["payload_sha256"] == hashlib.sha256(whole).hexdigest()


def _get(worker, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}{path}", timeout=10) as response:
        return json.load(response)


def test_web_views_show_the_sessions_table(settings, worker):
    frames = timeline("it-view", [("one_face", 2), ("face_absent", 15)])
    publish(settings, [(settings.topics.frames, "it-view", f) for f in frames])
    results_of(settings, "it-view", len(frames))

    listed = {row["session_id"]: row for row in _get(worker, "/sessions/")["sessions"]}
    assert listed["it-view"]["frames"] == 17
    state = _get(worker, "/sessions/it-view/")
    assert state["last_sequence"] == 16
    assert [i["type"] for i in state["evidence"]["intervals"].values()] == ["face_absent"]
    health = _get(worker, "/health/")
    assert health["ready"] is True
    assert health["objects"] == ("on" if Path(SHARED_WEIGHTS).exists() else health["objects"])


def test_a_restarted_worker_continues_the_score(settings, worker):
    first = timeline("it-restart", [("one_face", 3), ("face_absent", 20)])
    publish(settings, [(settings.topics.frames, "it-restart", f) for f in first])
    before = results_of(settings, "it-restart", len(first))

    worker.stop()
    worker.start()
    worker.wait_ready(timeout_s=180)

    # The camera went on where it was: capture times continue the first part's.
    more = timeline("it-restart", [("face_absent", 5)], first_sequence=len(first), start_ms=first[0]["captured_at_ms"])
    publish(settings, [(settings.topics.frames, "it-restart", f) for f in more])
    after = results_of(settings, "it-restart", len(first) + len(more))[len(first) :]

    # The score picks up where it stopped: the next absent frame scores above the last one before,
    # and the behaviour state came back too: the absence goes on, it does not start again.
    assert [r["frame_sequence"] for r in after] == list(range(len(first), len(first) + len(more)))
    assert before[-1]["risk_score"] > 0
    assert after[0]["risk_score"] > before[-1]["risk_score"]
    assert all("face_absent" in r["conditions"] for r in after)
    new_events = [e for r in after for e in r["recent_events"] if e["frame_sequence"] >= len(first)]
    assert new_events == []
    assert _get(worker, "/sessions/it-restart/")["frames"] == len(first) + len(more)
