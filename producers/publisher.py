"""Publishing Frame and SessionControl records to their topics, keyed by session id."""

from __future__ import annotations

import time
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas import codec_for
from streams.config import Settings
from streams.kafka_clients import producer_options

__all__ = ["FramePublisher", "now_ms"]


def now_ms() -> int:
    return int(time.time() * 1000)


class FramePublisher:
    """An aiokafka producer for one or more sessions; an async context manager."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer = AIOKafkaProducer(**producer_options(settings))
        self._frame = codec_for("Frame")
        self._control = codec_for("SessionControl")

    async def __aenter__(self) -> FramePublisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._producer.stop()

    async def send_frame(self, frame: dict[str, Any]) -> None:
        """Send one ``integrity.Frame`` and wait for the broker's acknowledgement."""
        await self.send_raw(self.settings.topics.frames, frame["session_id"], self._frame.encode(frame))

    async def send_raw(self, topic: str, session_id: str, value: bytes) -> None:
        await self._producer.send_and_wait(topic, value=value, key=session_id.encode())

    async def send_control(
        self,
        session_id: str,
        action: str,
        candidate_id: str,
        *,
        policy: str = "default",
        metadata: dict[str, str] | None = None,
        last_sequence: int | None = None,
    ) -> None:
        """Session start (with its policy) or end (with the sequence of its last frame)."""
        record = {
            "session_id": session_id,
            "action": action,
            "candidate_id": candidate_id,
            "policy": policy,
            "at_ms": now_ms(),
            "metadata": metadata or {},
            "last_sequence": last_sequence,
        }
        await self.send_raw(self.settings.topics.control, session_id, self._control.encode(record))
