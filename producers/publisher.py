"""Publishing a session's Frame and SessionControl records, keyed by session id, with aiokafka.

Independent of the stream processor: a platform can publish with it given only producer options and
topic names (``streams.kafka.clients.session_publisher`` builds one from the settings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas import codec_for
from schemas.records import Frame, SessionControl

__all__ = ["SessionPublisher"]


class SessionPublisher:
    """Frames and session start/end records of one or more sessions; an async context manager."""

    def __init__(self, producer_options: Mapping[str, Any], frames_topic: str, control_topic: str) -> None:
        self.frames_topic = frames_topic
        self.control_topic = control_topic
        self._producer = AIOKafkaProducer(**producer_options)
        self._frame = codec_for("Frame")
        self._control = codec_for("SessionControl")

    async def __aenter__(self) -> SessionPublisher:
        try:
            await self._producer.start()
        except BaseException:
            await self._producer.stop()  # a producer that could not start still holds its client
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._producer.stop()

    async def send_frame(self, frame: Frame, *, timestamp_ms: int | None = None) -> None:
        """Send one Frame and wait for the broker's acknowledgement. ``timestamp_ms``: as in ``send_raw``."""
        value = self._frame.encode(frame)
        await self.send_raw(self.frames_topic, frame["session_id"], value, timestamp_ms=timestamp_ms)

    async def send_control(self, record: SessionControl) -> None:
        """Send a session's start (with its policy) or end (with the sequence of its last frame)."""
        await self.send_raw(self.control_topic, record["session_id"], self._control.encode(record))

    async def send_raw(
        self, topic: str, session_id: str, value: bytes | None, *, timestamp_ms: int | None = None
    ) -> None:
        """Send bytes as they are, keyed by the session id (tests send garbage this way). ``timestamp_ms``:
        the record's timestamp (default: now), which a replay sets to keep a session's original timeline."""
        await self._producer.send_and_wait(topic, value=value, key=session_id.encode(), timestamp_ms=timestamp_ms)
