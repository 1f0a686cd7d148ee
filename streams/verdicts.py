"""Following the results topic: what a downstream consumer of verdicts does, and how a person reads one."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer

from schemas import RecordDecodeError, codec_for
from streams.config import Settings
from streams.kafka_clients import consumer_options

__all__ = ["follow_reports", "follow_results", "format_report", "format_result", "result_json"]

log = logging.getLogger(__name__)


async def follow_results(
    settings: Settings, *, from_beginning: bool = True, session_id: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Yield decoded ``integrity.Result`` records as they arrive, forever (cancel to stop)."""
    async for record in _follow(settings, settings.topics.results, "Result", from_beginning, session_id):
        yield record


async def follow_reports(
    settings: Settings, *, from_beginning: bool = True, session_id: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Yield decoded ``integrity.FinalReport`` records as they arrive, forever (cancel to stop)."""
    async for record in _follow(settings, settings.topics.reports, "FinalReport", from_beginning, session_id):
        yield record


async def _follow(
    settings: Settings, topic: str, record_name: str, from_beginning: bool, session_id: str | None
) -> AsyncIterator[dict[str, Any]]:
    codec = codec_for(record_name)
    consumer = AIOKafkaConsumer(
        topic,
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
                record = codec.decode(message.value)
            except RecordDecodeError as exc:
                log.warning(
                    "skipping undecodable %s at %s[%d]@%d: %s",
                    record_name,
                    topic,
                    message.partition,
                    message.offset,
                    exc,
                )
                continue
            if session_id is None or record["session_id"] == session_id:
                yield record
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
        ("FINAL " if result["final"] else "") + f"{result['session_id']} #{result['frame_sequence']:<5} "
        f"risk {result['risk_score']:5.1f}  {result['verdict'].upper():<12} "
        f"conf {result['confidence']:.2f}  faces {result['face_count']}  gaze {result['gaze'] or '-':<6}  "
        f"attention {result['attention']:3.0f}  {objects}  now [{', '.join(result['conditions'])}]  "
        f"reasons [{reasons}]"
        + (f"  events [{', '.join(started)}]" if started else "")
        + f"  {result['processing_time_ms']:.1f} ms"
    )


def _clock(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%H:%M:%S.%f")[:-3]


def format_report(report: dict[str, Any]) -> str:
    """The final report as a short block a person reads at the end of a session."""
    held = ", ".join(f"{kind} {ms / 1000:.1f} s" for kind, ms in report["time_in_ms"].items()) or "nothing"
    evidence = "; ".join(
        f"{e['type']} {_clock(e['started_at_ms'])}-{_clock(e['ended_at_ms'])} (evidence {e['evidence']:.1f})"
        for e in report["evidence"]
    )
    return (
        f"FINAL REPORT {report['session_id']} ({report['reason']}, policy {report['policy']}): "
        f"{report['verdict'].upper()} (confidence {report['confidence']:.2f}, cheating {report['cheating']})\n"
        f"  frames {report['frames']} over {report['observed_s']:.1f} s; risk final {report['final_risk_score']:.1f}, "
        f"peak {report['peak_risk_score']:.1f}, time-weighted mean {report['mean_risk_score']:.1f}; "
        f"attention {report['attention']:.0f}\n"
        f"  time in: {held}\n"
        f"  strongest evidence (UTC): {evidence or '-'}"
    )


def result_json(result: dict[str, Any]) -> str:
    return json.dumps(result, separators=(",", ":"), sort_keys=True)
