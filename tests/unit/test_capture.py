"""``producers.capture`` without a broker: which frames a target rate takes, how a source string is read,
the errors of a source that cannot be opened, and one file captured into a publisher that keeps records."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from producers.capture import (
    CaptureError,
    CaptureOptions,
    FrameSampler,
    capture,
    describe_source,
    open_source,
    source_kind,
)
from schemas import codec_for


def _taken(fps: float, timestamps_ms: list[float]) -> list[float]:
    sampler = FrameSampler(fps)
    return [t for t in timestamps_ms if sampler.take(t)]


def test_a_10_s_file_at_10_fps_sampled_at_2_fps_gives_20_frames_half_a_second_apart():
    taken = _taken(2.0, [i * 100.0 for i in range(100)])
    assert taken == [i * 500.0 for i in range(20)]


def test_a_30_fps_file_whose_timestamps_fall_just_short_of_the_tick_is_not_a_frame_late():
    taken = _taken(2.0, [i * 1000.0 / 30 - 0.01 * (i % 2) for i in range(300)])
    assert len(taken) == 20
    assert all(abs(t - k * 500.0) < 1.0 for k, t in enumerate(taken))


def test_a_gap_in_the_source_skips_its_ticks_instead_of_catching_up_in_a_burst():
    taken = _taken(2.0, [0.0, 100.0, 2100.0, 2200.0, 2500.0, 2600.0, 3000.0])
    assert taken == [0.0, 2100.0, 2500.0, 3000.0]


def test_a_rate_above_the_sources_takes_every_frame():
    timestamps = [i * 100.0 for i in range(30)]
    assert _taken(25.0, timestamps) == timestamps


def test_the_grid_is_anchored_at_the_first_frame_not_at_zero():
    assert _taken(1.0, [5000.0 + i * 250.0 for i in range(12)]) == [5000.0, 6000.0, 7000.0]


@pytest.mark.parametrize("fps", [0.0, -1.0])
def test_a_rate_that_is_not_positive_is_refused(fps):
    with pytest.raises(ValueError):
        FrameSampler(fps)


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("0", "camera"),
        ("12", "camera"),
        ("rtsp://10.0.0.5:554/stream", "stream"),
        ("http://kiosk.local/cam.mjpg", "stream"),
        ("session.avi", "file"),
        ("/tmp/0", "file"),
        ("-1", "file"),
        ("0.avi", "file"),
    ],
)
def test_digits_are_a_camera_index_a_scheme_a_stream_anything_else_a_file(source, kind):
    assert source_kind(source) == kind
    assert describe_source(source) == f"{kind} {source}"


def test_a_missing_file_is_a_clear_capture_error(tmp_path):
    with pytest.raises(CaptureError, match=r"^cannot open file .*missing\.avi: no such file$"):
        open_source(str(tmp_path / "missing.avi"))


def test_a_file_that_is_no_video_is_a_clear_capture_error(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video")
    with pytest.raises(CaptureError, match="not a video file OpenCV can read"):
        open_source(str(notes))


def test_a_camera_that_is_not_there_is_a_clear_capture_error():
    cv2.setLogLevel(0)
    with pytest.raises(CaptureError, match=r"^cannot open camera 99: no such device \(try a video file or URL\)$"):
        open_source("99")


class _KeptRecords:
    """A SessionPublisher's surface, keeping what is sent: (kind, decoded record, Kafka timestamp)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], int | None]] = []

    async def send_control(self, record: Any) -> None:
        self.sent.append(("control", dict(record), None))

    async def send_frame(self, frame: Any, *, timestamp_ms: int | None = None) -> None:
        assert frame["session_id"] == "cap-u"
        # Through the codec, as the real publisher sends it: the record must encode.
        self.sent.append(("frame", codec_for("Frame").decode(codec_for("Frame").encode(frame)), timestamp_ms))


def _video(path: Path, seconds: float, fps: float = 10.0) -> str:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (160, 120))
    for i in range(round(seconds * fps)):
        writer.write(np.full((120, 160, 3), (i * 7) % 256, np.uint8))
    writer.release()
    return str(path)


def _run(source: str, options: CaptureOptions, stop: asyncio.Event | None = None) -> tuple[_KeptRecords, Any]:
    publisher = _KeptRecords()
    summary = asyncio.run(capture(publisher, source, options, stop=stop))  # type: ignore[arg-type]
    return publisher, summary


def test_a_file_is_published_at_its_own_pace_between_a_start_and_an_end_record(tmp_path):
    publisher, summary = _run(_video(tmp_path / "five.avi", 5.0), CaptureOptions("cap-u", fps=2.0, policy="exam"))
    kinds = [kind for kind, _, _ in publisher.sent]
    assert kinds == ["control"] + ["frame"] * 10 + ["control"]
    start, end = publisher.sent[0][1], publisher.sent[-1][1]
    assert (start["action"], start["source"], start["policy"]) == ("start", "capture", "exam")
    assert (end["action"], end["last_sequence"], end["source"]) == ("end", 9, "capture")
    frames = [(record, timestamp) for kind, record, timestamp in publisher.sent if kind == "frame"]
    assert [f["sequence"] for f, _ in frames] == list(range(10))
    # The file's spacing, from the session's start, and each record stamped with its capture time.
    assert [f["captured_at_ms"] - start["at_ms"] for f, _ in frames] == [i * 500 for i in range(10)]
    assert all(timestamp == f["captured_at_ms"] for f, timestamp in frames)
    assert {(f["width"], f["height"], f["encoding"], f["source"]) for f, _ in frames} == {(640, 480, "JPEG", "capture")}
    assert (summary.session_id, summary.frames, summary.seconds) == ("cap-u", 10, 4.9)


def test_max_frames_and_duration_end_the_session_early_with_its_end_record(tmp_path):
    video = _video(tmp_path / "five.avi", 5.0)
    publisher, summary = _run(video, CaptureOptions("cap-u", fps=2.0, max_frames=3))
    assert summary.frames == 3 and publisher.sent[-1][1]["last_sequence"] == 2
    publisher, summary = _run(video, CaptureOptions("cap-u", fps=2.0, duration_s=2.0))
    assert summary.frames == 4 and publisher.sent[-1][1]["last_sequence"] == 3


def test_a_stop_set_while_publishing_still_sends_the_end_record(tmp_path):
    video = _video(tmp_path / "five.avi", 5.0)

    async def stop_after_two() -> tuple[_KeptRecords, Any]:
        publisher, stop = _KeptRecords(), asyncio.Event()

        def progress(sent: int, _: int | None) -> None:
            if sent == 2:
                stop.set()

        summary = await capture(publisher, video, CaptureOptions("cap-u"), progress, stop)  # type: ignore[arg-type]
        return publisher, summary

    publisher, summary = asyncio.run(stop_after_two())
    assert summary.frames == 2
    assert [kind for kind, _, _ in publisher.sent] == ["control", "frame", "frame", "control"]
    assert publisher.sent[-1][1]["last_sequence"] == 1


def test_a_video_without_a_single_frame_is_a_capture_error_and_starts_no_session(tmp_path):
    video = _video(tmp_path / "empty.avi", 0.0)
    publisher = _KeptRecords()
    with pytest.raises(CaptureError):
        asyncio.run(capture(publisher, video, CaptureOptions("cap-u")))  # type: ignore[arg-type]
    assert publisher.sent == []
