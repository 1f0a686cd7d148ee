"""Following the results topic: what a downstream consumer of verdicts does, and how a person reads one."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer

from schemas import RecordDecodeError, codec_for
from streams.config import Settings
from streams.kafka_clients import consumer_options

__all__ = ["follow_results", "format_result", "result_json"]

log = logging.getLogger(__name__)


async def follow_results(
    settings: Settings, *, from_beginning: bool = True, session_id: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Yield decoded ``integrity.Result`` records as they arrive, forever (cancel to stop)."""
    codec = codec_for("Result")
    consumer = AIOKafkaConsumer(
        settings.topics.results,
        # No group: a follower reads every partition and commits nothing.
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
        **consumer_options(settings),
    )
    await consumer.start()
    try:
        async for message in consumer:
            try:
                result = codec.decode(message.value)
            except RecordDecodeError as exc:
                log.warning(
                    "skipping undecodable result at partition %d offset %d: %s", message.partition, message.offset, exc
                )
                continue
            if session_id is None or result["session_id"] == session_id:
                yield result
    finally:
        await consumer.stop()


def format_result(result: dict[str, Any]) -> str:
    """One line a person can scan: session, frame, score, verdict, what holds now, why."""
    reasons = ", ".join(f"{r['event_type']} {100 * r['share']:.0f}%" for r in result["reasons"]) or "-"
    if result["objects"] is not None:
        objects = (
            "objects [" + (", ".join(f"{o['label']} {o['confidence']:.2f}" for o in result["objects"]) or "none") + "]"
        )
    else:
        objects = f"objects {result['objects_status']}"
    started = [
        f"{e['type']} {'start' if e['ended_at_ms'] is None else 'end'}"
        for e in result["recent_events"]
        if e["frame_sequence"] == result["frame_sequence"]
    ]
    return (
        f"{result['session_id']} #{result['frame_sequence']:<5} "
        f"risk {result['risk_score']:5.1f}  {result['verdict'].upper():<12} "
        f"conf {result['confidence']:.2f}  faces {result['face_count']}  gaze {result['gaze'] or '-':<6}  "
        f"attention {result['attention']:3.0f}  {objects}  now [{', '.join(result['conditions'])}]  "
        f"reasons [{reasons}]"
        + (f"  events [{', '.join(started)}]" if started else "")
        + f"  {result['processing_time_ms']:.1f} ms"
    )


def result_json(result: dict[str, Any]) -> str:
    return json.dumps(result, separators=(",", ":"), sort_keys=True)
