"""Replaying recorded sessions into the topics (``integrity replay``), meant for a namespace.

What goes where: start and end records to the control topic; the frames to the frames topic when the
recording holds them (the worker analyses them again, and its observations are not sent); the
observations to the events topic when it holds only those (the risk agent scores them again). The
events topic is worker-internal: replay observations into a namespace, never into production's.
``expire`` records are not sent: workers write those themselves.

Time: each session is moved by one offset so that its first record is published now, its capture and
event times (and its records' Kafka timestamps) moved by the same offset, so every spacing stays as
recorded, whatever the speed. The Kafka timestamp matters because the worker checks capture times
against it (``streams.validation``: at most ``max_clock_skew_s`` apart, and no frame running
``max_clock_drift_s`` further ahead than broker time did): a faster replay of a session longer than the
skew bound, with broker times of the moment of sending, would have its later frames refused. Moved
like the capture times, the timestamps show the worker the timeline it saw live, at any speed.
Pacing follows the recorded broker times, divided by the speed, measured from the file's first record
(not from frame to frame: slow sends do not add up).
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro
from aiokafka.admin import AIOKafkaAdminClient

from producers.publisher import SessionPublisher
from schemas import codec_for
from schemas.records import Frame, Observation, Recorded, SessionControl, now_ms
from streams.kafka.clients import admin_options, producer_options
from streams.recording.format import Content, Kind, kind_of, read_recording
from streams.recording.record import counted, kinds_text
from streams.settings import Settings

__all__ = [
    "ReplayOptions",
    "ReplaySummary",
    "count_records",
    "due_s",
    "moved",
    "replay",
    "topic_for",
    "workers_serving",
]

# Kafka >= 4.0 refuses records timestamped more than log.message.timestamp.after.max.ms (default 1 h)
# ahead of its clock: a fast replay of a long session waits rather than go that far ahead.
_MAX_AHEAD_MS = 50 * 60 * 1000

_CODECS = {"control": "SessionControl", "frame": "Frame", "observation": "Observation"}


@dataclass(frozen=True)
class ReplayOptions:
    speed: float | None = 1.0  # None: as fast as possible
    session_prefix: str = ""  # renames every session P+id, so one recording can run twice side by side


def due_s(timestamp_ms: int, first_ms: int, speed: float | None) -> float:
    """Seconds after the replay's start at which the record of broker time ``timestamp_ms`` is sent."""
    if speed is None:
        return 0.0
    return max(timestamp_ms - first_ms, 0) / 1000.0 / speed


def moved(recorded: Recorded, offset_ms: int, prefix: str = "") -> Frame | Observation | SessionControl:
    """The record's value, its capture and event times moved by ``offset_ms`` and its session renamed
    ``prefix`` + id; the recording's own value is left as it was."""
    value: Any = copy.deepcopy(recorded["value"])
    old_id = value["session_id"]
    value["session_id"] = prefix + old_id
    kind = kind_of(recorded)
    if kind == "control":
        value["at_ms"] += offset_ms
    elif kind == "frame":
        value["captured_at_ms"] += offset_ms
    else:
        value["captured_at_ms"] += offset_ms
        value["observed_at_ms"] += offset_ms
        for condition in value["conditions"]:
            condition["since_ms"] += offset_ms
            condition["until_ms"] = _moved_or_none(condition["until_ms"], offset_ms)
        for event in value["events"]:
            event["event_id"] = _moved_event_id(event, old_id, value["session_id"], offset_ms)
            event["session_id"] = prefix + event["session_id"]
            event["started_at_ms"] += offset_ms
            event["ended_at_ms"] = _moved_or_none(event["ended_at_ms"], offset_ms)
    return value


def _moved_or_none(at_ms: int | None, offset_ms: int) -> int | None:
    return None if at_ms is None else at_ms + offset_ms


def _moved_event_id(event: dict[str, Any], old_id: str, new_id: str, offset_ms: int) -> str:
    """Event ids are ``session:type:start`` (``streams.vision.behaviour``): rebuilt from the moved fields
    so that two replays of one recording never share an event id."""
    if event["event_id"] == f"{old_id}:{event['type']}:{event['started_at_ms']}":
        return f"{new_id}:{event['type']}:{event['started_at_ms'] + offset_ms}"
    return event["event_id"]


def topic_for(kind: Kind, value: Any, content: Content, settings: Settings) -> str | None:
    """The topic a recorded record is replayed to, or None when it is not replayed."""
    topics = settings.topics
    if kind == "control":
        return topics.control if value["action"] != "expire" else None
    if kind == "frame":
        return topics.frames
    return topics.events if content == "observations" else None


@dataclass
class ReplaySummary:
    sessions: set[str] = field(default_factory=set)
    sent: Counter[Kind] = field(default_factory=Counter)
    not_sent: Counter[Kind] = field(default_factory=Counter)
    seconds: float = 0.0

    def line(self, settings: Settings, files: int) -> str:
        where = f"namespace {settings.namespace}" if settings.namespace else "the default topics"
        why: dict[Kind, str] = {
            "observation": "observations, made again from the frames",
            "control": "expire records, the workers'",
        }
        unsent = "; ".join(f"{self.not_sent[k]} {text}" for k, text in why.items() if self.not_sent[k])
        unsent = f" (not sent: {unsent})" if unsent else ""
        return (
            f"replayed {counted(len(self.sessions), 'session')} from {counted(files, 'recording')} into {where}: "
            f"{kinds_text(self.sent)} "
            f"in {self.seconds:.1f} s{unsent}"
        )


def count_records(paths: Iterable[Path]) -> int:
    """How many records the recordings hold, from their block headers (no record is decoded)."""
    total = 0
    for path in paths:
        with path.open("rb") as file:
            total += sum(block.num_records for block in fastavro.block_reader(file))
    return total


async def replay(
    settings: Settings,
    paths: Iterable[Path],
    options: ReplayOptions,
    on_record: Callable[[], None] | None = None,
) -> ReplaySummary:
    """Publish the recordings' sessions, file after file, each paced from its own first record."""
    summary, started = ReplaySummary(), time.monotonic()
    topics = settings.topics
    async with SessionPublisher(producer_options(settings), topics.frames, topics.control) as publisher:
        for path in paths:
            await _replay_file(publisher, path, settings, options, summary, on_record)
    summary.seconds = time.monotonic() - started
    return summary


async def _replay_file(
    publisher: SessionPublisher,
    path: Path,
    settings: Settings,
    options: ReplayOptions,
    summary: ReplaySummary,
    on_record: Callable[[], None] | None,
) -> None:
    info, records = read_recording(path)
    offsets: dict[str, int] = {}  # session id -> how far its times move
    first_ms: int | None = None
    started = time.monotonic()
    for recorded in records:
        kind = kind_of(recorded)
        topic = topic_for(kind, recorded["value"], info.content, settings)
        if topic is None:
            summary.not_sent[kind] += 1
        else:
            first_ms = recorded["timestamp_ms"] if first_ms is None else first_ms
            delay = started + due_s(recorded["timestamp_ms"], first_ms, options.speed) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            offset = offsets.setdefault(recorded["session_id"], now_ms() - recorded["timestamp_ms"])
            timestamp_ms = recorded["timestamp_ms"] + offset
            if (ahead_ms := timestamp_ms - now_ms()) > _MAX_AHEAD_MS:
                await asyncio.sleep((ahead_ms - _MAX_AHEAD_MS) / 1000.0)
            value = moved(recorded, offset, options.session_prefix)
            data = codec_for(_CODECS[kind]).encode(value)
            await publisher.send_raw(topic, value["session_id"], data, timestamp_ms=timestamp_ms)
            summary.sent[kind] += 1
            summary.sessions.add(value["session_id"])
        if on_record is not None:
            on_record()


async def workers_serving(settings: Settings) -> int | None:
    """How many workers are members of the settings' consumer group (the namespace's app id); None when
    the broker does not say. A worker that stopped may count until its session times out."""
    admin = AIOKafkaAdminClient(**admin_options(settings))
    await admin.start()
    try:
        responses = await admin.describe_consumer_groups([settings.app_id])
        groups = [g for r in responses for g in r.to_object()["groups"] if g["group"] == settings.app_id]
        return sum(len(g["members"]) for g in groups if g["error_code"] == 0)
    except Exception:  # an answer we cannot read only costs the hint
        return None
    finally:
        await admin.close()
