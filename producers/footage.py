"""Footage (a video file or a folder of images) published as one live session: its start, its frames
at the capture rate, its end (``integrity produce``). Not to be confused with ``integrity replay``,
which publishes recordings made from the topics (``streams.recording.replay``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from producers.images import count_images, encode_jpeg, fit, iter_images
from producers.publisher import SessionPublisher
from schemas.records import new_frame, new_session_control

__all__ = ["FootageOptions", "publish_footage"]


@dataclass(frozen=True)
class FootageOptions:
    session_id: str
    candidate_id: str = "candidate"
    # Frames per second to publish at; 0 publishes as fast as the broker takes them.
    fps: float = 5.0
    # How many times to play the recording (1 = once).
    loops: int = 1
    width: int = 640
    height: int = 480
    jpeg_quality: int = 85
    # Send SessionControl start before the first frame and end after the last.
    control: bool = True
    # Risk policy of the session (a file in streams/risk/policies).
    policy: str = "default"


async def publish_footage(
    publisher: SessionPublisher,
    path: Path,
    options: FootageOptions,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> int:
    """Publish the footage at ``path``; returns the number of frames sent."""
    per_loop = count_images(path)
    total = per_loop * options.loops if per_loop is not None else None
    interval = 1.0 / options.fps if options.fps > 0 else 0.0
    session, candidate = options.session_id, options.candidate_id
    sent = 0
    if options.control:
        start = new_session_control(session, "start", candidate, policy=options.policy, source="footage")
        await publisher.send_control(start)
    started = time.monotonic()
    for _ in range(options.loops):
        for image in iter_images(path):
            if interval:
                # Pace against the start, not the previous frame, so slow sends do not add up.
                delay = started + sent * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            jpeg = encode_jpeg(fit(image, options.width, options.height), options.jpeg_quality)
            frame = new_frame(session, sent, jpeg, width=options.width, height=options.height, candidate_id=candidate)
            await publisher.send_frame(frame)
            sent += 1
            if on_progress is not None:
                on_progress(sent, total)
    if options.control:
        end = new_session_control(session, "end", candidate, last_sequence=sent - 1, source="footage")
        await publisher.send_control(end)
    return sent
