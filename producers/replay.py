"""Replay a recorded session (image folder or video file) into the frames topic as one live session."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from producers.images import count_images, encode_jpeg, fit, iter_images
from producers.publisher import FramePublisher, now_ms
from streams.config import Settings

__all__ = ["ReplayOptions", "replay"]


@dataclass(frozen=True)
class ReplayOptions:
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


def _frame_record(options: ReplayOptions, sequence: int, jpeg: bytes) -> dict:
    return {
        "session_id": options.session_id,
        "candidate_id": options.candidate_id,
        "sequence": sequence,
        "captured_at_ms": now_ms(),
        "image": jpeg,
        "encoding": "JPEG",
        "width": options.width,
        "height": options.height,
        "source": "replay",
    }


async def replay(
    settings: Settings,
    path: Path,
    options: ReplayOptions,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> int:
    """Publish the recording at ``path``; returns the number of frames sent."""
    per_loop = count_images(path)
    total = per_loop * options.loops if per_loop is not None else None
    interval = 1.0 / options.fps if options.fps > 0 else 0.0
    sent = 0
    async with FramePublisher(settings) as publisher:
        if options.control:
            await publisher.send_control(options.session_id, "start", options.candidate_id, policy=options.policy)
        started = time.monotonic()
        for _ in range(options.loops):
            for image in iter_images(path):
                if interval:
                    # Pace against the start, not the previous frame, so slow sends do not add up.
                    delay = started + sent * interval - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                jpeg = encode_jpeg(fit(image, options.width, options.height), options.jpeg_quality)
                await publisher.send_frame(_frame_record(options, sent, jpeg))
                sent += 1
                if on_progress is not None:
                    on_progress(sent, total)
        if options.control:
            await publisher.send_control(options.session_id, "end", options.candidate_id, last_sequence=sent - 1)
    return sent
