"""Capture a webcam, a stream URL or a video file with OpenCV and publish it as one live session.

For kiosks and local trials: the same start and end SessionControl records as ``producers.footage``,
then JPEG Frames sampled at a target rate. Images stay in memory: nothing is written to disk or logs.

Time: a live source (camera index, ``rtsp://``/``http://`` URL) is sampled by wall clock and its
frames are captured now. A video file reads faster than real time, so it is sampled by its own frame
timestamps (``CAP_PROP_POS_MSEC``) without waiting, its capture times laid out from the session's start
as the file spaces them, and each record's Kafka timestamp set to its capture time: the worker checks
capture times against broker times (``streams.validation``), as ``streams.recording.replay`` explains.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from producers.images import encode_jpeg, fit
from producers.publisher import SessionPublisher
from schemas.records import new_frame, new_session_control, now_ms

__all__ = [
    "CaptureError",
    "CaptureOptions",
    "CaptureSummary",
    "FrameSampler",
    "SourceKind",
    "capture",
    "describe_source",
    "open_source",
    "source_kind",
]

SourceKind = Literal["camera", "stream", "file"]

# A stream URL that does not answer fails instead of hanging the command (OpenCV's FFMPEG backend).
_STREAM_TIMEOUT_MS = 10_000
# Kafka >= 4.0 refuses records timestamped more than 1 h ahead of its clock (as in
# streams.recording.replay): a file over 50 minutes long waits rather than run that far ahead.
_MAX_AHEAD_MS = 50 * 60 * 1000


class CaptureError(Exception):
    """A source that cannot be opened, or that gives no frame at all."""


@dataclass(frozen=True)
class CaptureOptions:
    session_id: str
    candidate_id: str = "candidate"
    # Risk policy of the session (a file in streams/risk/policies).
    policy: str = "default"
    # Frames published per second, sampled from the source (a camera gives more; they are skipped).
    fps: float = 2.0
    # Seconds of capture (the file's own time for a video file); None: until the end, Ctrl-C or stop.
    duration_s: float | None = None
    # Frames to publish at most; None: no limit.
    max_frames: int | None = None
    width: int = 640
    height: int = 480
    jpeg_quality: int = 85


@dataclass(frozen=True)
class CaptureSummary:
    session_id: str
    frames: int
    # Capture time covered: the file's own time for a video file, wall-clock time for a live source.
    seconds: float
    source: str

    def line(self) -> str:
        """The one JSON line ``integrity capture`` prints on stdout."""
        return json.dumps(
            {"session_id": self.session_id, "frames": self.frames, "seconds": self.seconds, "source": self.source}
        )


def source_kind(source: str) -> SourceKind:
    """A string of digits is a camera index, a string with a scheme (``rtsp://``) a stream, else a file."""
    if source.isdigit():
        return "camera"
    if "://" in source:
        return "stream"
    return "file"


def describe_source(source: str) -> str:
    """The source as messages name it: ``camera 0``, ``stream rtsp://…``, ``file a.avi``."""
    return f"{source_kind(source)} {source}"


def open_source(source: str) -> cv2.VideoCapture:
    """An opened ``cv2.VideoCapture`` of ``source`` (see ``source_kind``); CaptureError if it cannot open."""
    kind = source_kind(source)
    if kind == "file" and not Path(source).is_file():
        raise CaptureError(f"cannot open file {source}: no such file")
    if kind == "camera":
        video = cv2.VideoCapture(int(source))
    elif kind == "stream":
        timeouts = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            _STREAM_TIMEOUT_MS,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            _STREAM_TIMEOUT_MS,
        ]
        video = cv2.VideoCapture(source, cv2.CAP_ANY, timeouts)
    else:
        video = cv2.VideoCapture(source)
    if not video.isOpened():
        video.release()
        why = {
            "camera": "no such device (try a video file or URL)",
            "stream": "it does not answer or is not a video stream",
            "file": "not a video file OpenCV can read",
        }[kind]
        raise CaptureError(f"cannot open {describe_source(source)}: {why}")
    return video


class FrameSampler:
    """Which frames to publish for a target rate: the first frame at or after each tick of a grid anchored
    at the first frame. Ticks the source skipped over are dropped, not caught up with in a burst."""

    # Timestamps of a 30 fps file are thirds of a millisecond (499.99 for 500): not a frame late.
    _TOLERANCE_MS = 1.0

    def __init__(self, fps: float) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be positive, not {fps}")
        self.interval_ms = 1000.0 / fps
        self._due_ms: float | None = None

    def take(self, at_ms: float) -> bool:
        """Whether the frame at ``at_ms`` (source time, rising) is published."""
        if self._due_ms is None:
            self._due_ms = at_ms
        late_ms = at_ms + self._TOLERANCE_MS - self._due_ms
        if late_ms < 0:
            return False
        self._due_ms += (math.floor(late_ms / self.interval_ms) + 1) * self.interval_ms
        return True


@dataclass(frozen=True)
class _Grabbed:
    at_ms: float  # the sampler's clock: file position, or monotonic time for a live source
    wall_ms: int


class _Source:
    """A VideoCapture read from worker threads (its calls block); release waits for a read in flight."""

    def __init__(self, video: cv2.VideoCapture, live: bool) -> None:
        self._video = video
        self._live = live
        self._lock = threading.Lock()

    def grab(self) -> _Grabbed | None:
        with self._lock:
            if not self._video.grab():
                return None
            if self._live:
                return _Grabbed(time.monotonic() * 1000.0, now_ms())
            return _Grabbed(float(self._video.get(cv2.CAP_PROP_POS_MSEC)), now_ms())

    def retrieve(self) -> np.ndarray | None:
        with self._lock:
            ok, image = self._video.retrieve()
            return image if ok else None

    def release(self) -> None:
        with self._lock:
            self._video.release()


async def _next(source: _Source, stop: asyncio.Event | None) -> _Grabbed | None:
    """The next frame grabbed, or None at the end of the source or once ``stop`` is set (a camera that
    hangs does not hold Ctrl-C up)."""
    read = asyncio.ensure_future(asyncio.to_thread(source.grab))
    if stop is None:
        return await read
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({read, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if stop.is_set():
        read.add_done_callback(lambda done: done.exception())  # a late read's failure is not worth a warning
        return None
    return read.result()


async def capture(
    publisher: SessionPublisher,
    source: str,
    options: CaptureOptions,
    on_progress: Callable[[int, int | None], None] | None = None,
    stop: asyncio.Event | None = None,
) -> CaptureSummary:
    """Publish ``source`` as session ``options.session_id`` until it ends, ``options`` says, or ``stop`` is
    set (cancelled, too: Ctrl-C); the end record is sent whichever way it stops."""
    live = source_kind(source) != "file"
    reader = _Source(await asyncio.to_thread(open_source, source), live)
    try:
        grabbed = await _next(reader, stop)
        if grabbed is None:
            if stop is not None and stop.is_set():
                return CaptureSummary(options.session_id, 0, 0.0, source)
            raise CaptureError(f"{describe_source(source)} gave no frame")
        return await _publish(publisher, reader, grabbed, source, options, on_progress, stop)
    finally:
        reader.release()


async def _publish(
    publisher: SessionPublisher,
    reader: _Source,
    first: _Grabbed,
    source: str,
    options: CaptureOptions,
    on_progress: Callable[[int, int | None], None] | None,
    stop: asyncio.Event | None,
) -> CaptureSummary:
    live = source_kind(source) != "file"
    sampler = FrameSampler(options.fps)
    session, candidate = options.session_id, options.candidate_id
    grabbed: _Grabbed | None = first
    covered_ms, sent = 0.0, 0
    started_ms = now_ms()
    start = new_session_control(session, "start", candidate, policy=options.policy, at_ms=started_ms, source="capture")
    await publisher.send_control(start)
    try:
        while grabbed is not None and not (stop is not None and stop.is_set()):
            elapsed_ms = grabbed.at_ms - first.at_ms
            if options.duration_s is not None and elapsed_ms >= options.duration_s * 1000:
                break
            covered_ms = elapsed_ms
            image = await asyncio.to_thread(reader.retrieve) if sampler.take(grabbed.at_ms) else None
            if image is not None:
                captured_ms = grabbed.wall_ms if live else started_ms + round(elapsed_ms)
                await _send_frame(publisher, image, sent, captured_ms, options)
                sent += 1
                if on_progress is not None:
                    on_progress(sent, options.max_frames)
                if options.max_frames is not None and sent >= options.max_frames:
                    break
            grabbed = await _next(reader, stop)
    finally:
        last = sent - 1 if sent else None
        end = new_session_control(
            session, "end", candidate, policy=options.policy, last_sequence=last, source="capture"
        )
        # Whichever way the loop ended (a cancelled task, Ctrl-C under asyncio.run, may still await here).
        await publisher.send_control(end)
    return CaptureSummary(session, sent, round(covered_ms / 1000.0, 1), source)


async def _send_frame(
    publisher: SessionPublisher,
    image: np.ndarray,
    sequence: int,
    captured_ms: int,
    options: CaptureOptions,
) -> None:
    if (ahead_ms := captured_ms - now_ms()) > _MAX_AHEAD_MS:
        await asyncio.sleep((ahead_ms - _MAX_AHEAD_MS) / 1000.0)
    jpeg = await asyncio.to_thread(_jpeg, image, options)
    frame = new_frame(
        options.session_id,
        sequence,
        jpeg,
        width=options.width,
        height=options.height,
        captured_at_ms=captured_ms,
        candidate_id=options.candidate_id,
        source="capture",
    )
    # Stamped with its capture time: a file's frames keep their spacing, to the worker's clock checks too.
    await publisher.send_frame(frame, timestamp_ms=captured_ms)


def _jpeg(image: np.ndarray, options: CaptureOptions) -> bytes:
    return encode_jpeg(fit(image, options.width, options.height), options.jpeg_quality)
