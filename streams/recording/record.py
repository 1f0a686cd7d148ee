"""Recording sessions from the topics into one recording file (``integrity record``).

Reads the control and events topics (and the frames topic when asked: images of faces) from the
beginning of every partition up to the end offsets taken when it starts, without a consumer group (it
never takes partitions from the workers), keeps the records that pass the filter, and writes them in
broker-time order: per session, the order the broker received them in (ties: start first, then frames
and observations by sequence, the end last). The selected records are held in memory until written:
frames never touch the disk anywhere but the recording the user asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import RecordDecodeError, codec_for
from schemas.records import Recorded
from streams.kafka.clients import consumer_options
from streams.recording.format import Content, Kind, RecordingWriter, kind_of
from streams.settings import Settings

__all__ = [
    "FilterError",
    "RecordFilter",
    "RecordingError",
    "RecordingSummary",
    "counted",
    "kinds_text",
    "order_key",
    "parse_time",
    "record",
    "record_filter",
]

# (done, total) records read so far.
Progress = Callable[[int, int], None]

# Epoch milliseconds below this are before March 1973: almost surely epoch seconds given by mistake.
_SMALLEST_EPOCH_MS = 10**11


class FilterError(ValueError):
    """The filter flags do not say what to record."""


class RecordingError(RuntimeError):
    """The topics cannot be recorded (a topic the broker does not have)."""


def parse_time(text: str) -> int:
    """``--since``/``--until``: epoch milliseconds, or ISO-8601 (a time without an offset is local time)."""
    text = text.strip()
    if text.isdigit():
        value = int(text)
        if value < _SMALLEST_EPOCH_MS:
            raise FilterError(f"{text!r} looks like epoch seconds: give epoch milliseconds or an ISO-8601 time")
        return value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FilterError(
            f"{text!r} is neither epoch milliseconds nor an ISO-8601 time (e.g. 2026-03-01T14:30:00+01:00)"
        ) from None
    return round(moment.timestamp() * 1000)


@dataclass(frozen=True)
class RecordFilter:
    """Which records to copy: of these sessions (any when empty), broker time in [since, until]."""

    sessions: frozenset[str] = frozenset()
    since_ms: int | None = None
    until_ms: int | None = None

    def matches(self, session_id: str, timestamp_ms: int) -> bool:
        return (
            (not self.sessions or session_id in self.sessions)
            and (self.since_ms is None or timestamp_ms >= self.since_ms)
            and (self.until_ms is None or timestamp_ms <= self.until_ms)
        )


def record_filter(
    sessions: Iterable[str] = (), since: str | None = None, until: str | None = None, everything: bool = False
) -> RecordFilter:
    """The filter of the command's flags. Copying every session on the broker must be asked for (``--all``):
    a recording holds candidates' data, and one of everything is rarely what was meant."""
    chosen = frozenset(s for s in sessions if s)
    narrowed = bool(chosen) or since is not None or until is not None
    if not narrowed and not everything:
        raise FilterError(
            "say what to record: --session ID (repeatable), --since/--until (ISO-8601 or epoch ms), "
            "or --all for every session on the topics"
        )
    if narrowed and everything:
        raise FilterError("--all records every session: give it alone, or drop it and keep --session/--since/--until")
    since_ms = parse_time(since) if since is not None else None
    until_ms = parse_time(until) if until is not None else None
    if since_ms is not None and until_ms is not None and since_ms > until_ms:
        raise FilterError(f"--since ({since}) is after --until ({until})")
    return RecordFilter(chosen, since_ms, until_ms)


_CONTROL_RANK = {"start": 0, "end": 2, "expire": 2}
_KIND_RANK = {"frame": 0, "observation": 1}  # a frame before the observation made of it


def order_key(recorded: Recorded) -> tuple[int, str, int, int, int, str, int, int]:
    """Broker time, then, per session, on a tie: start, frames and observations by sequence, end."""
    value: Any = recorded["value"]
    kind = kind_of(recorded)
    if kind == "control":
        rank, sequence, kind_rank = _CONTROL_RANK.get(value["action"], 2), 0, 0
    else:
        rank, sequence = 1, value["sequence"] if kind == "frame" else value["frame_sequence"]
        kind_rank = _KIND_RANK[kind]
    where = (recorded["topic"], recorded["partition"], recorded["offset"])
    return (recorded["timestamp_ms"], recorded["session_id"], rank, sequence, kind_rank, *where)


@dataclass
class RecordingSummary:
    path: Path
    content: Content
    sessions: list[str] = field(default_factory=list)
    kinds: Counter[Kind] = field(default_factory=Counter)
    undecodable: int = 0
    size_bytes: int = 0

    def line(self) -> str:
        skipped = f"; {counted(self.undecodable, 'undecodable record')} skipped" if self.undecodable else ""
        return (
            f"recorded {counted(len(self.sessions), 'session')} into {self.path} ({self.content}): "
            f"{kinds_text(self.kinds)}, {_size(self.size_bytes)}{skipped}"
        )


def counted(count: int, noun: str) -> str:
    """``1 frame``, ``2 frames``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def kinds_text(counts: Counter[Kind]) -> str:
    """``4 control records, 48 frames, 48 observations``: what a summary line says was copied or sent."""
    nouns: dict[Kind, str] = {"control": "control record", "frame": "frame", "observation": "observation"}
    return ", ".join(counted(counts[kind], noun) for kind, noun in nouns.items())


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def record(
    settings: Settings, out: Path, chosen: RecordFilter, *, frames: bool = False, progress: Progress | None = None
) -> RecordingSummary:
    """Copy the chosen records of the topics ``settings`` names into ``out``; nothing is written when none
    matched (``summary.sessions`` is then empty)."""
    content: Content = "frames" if frames else "observations"
    records, undecodable = asyncio.run(_read_topics(settings, chosen, frames, progress))
    records.sort(key=order_key)
    summary = RecordingSummary(out, content, sorted({r["session_id"] for r in records}), undecodable=undecodable)
    if not records:
        return summary
    if frames:
        _create_private(out)
    try:
        with RecordingWriter(out, content, summary.sessions) as writer:
            for recorded in records:
                writer.write(recorded)
                summary.kinds[kind_of(recorded)] += 1
    except BaseException:
        out.unlink(missing_ok=True)  # half a recording (possibly of faces) is no use to anyone
        raise
    summary.size_bytes = out.stat().st_size
    return summary


def _create_private(path: Path) -> None:
    """A recording with images is biometric data: readable by its owner only, from its first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


async def _read_topics(
    settings: Settings, chosen: RecordFilter, frames: bool, progress: Progress | None
) -> tuple[list[Recorded], int]:
    topics = settings.topics
    codecs = {topics.control: codec_for("SessionControl"), topics.events: codec_for("Observation")}
    if frames:
        codecs[topics.frames] = codec_for("Frame")
    consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, **consumer_options(settings))
    await consumer.start()
    try:
        existing = await consumer.topics()
        if missing := [t for t in codecs if t not in existing]:
            raise RecordingError(f"the broker has no topic {', '.join(missing)} (wrong --namespace or broker?)")
        partitions = [TopicPartition(t, p) for t in codecs for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        # The end offsets now: records arriving while we read belong to a later recording.
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        total, done = sum(ends[tp] - starts[tp] for tp in partitions), 0
        pending = {tp for tp in partitions if ends[tp] > starts[tp]}
        kept: list[Recorded] = []
        undecodable = 0
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=500)
            for tp, messages in batches.items():
                for message in messages:
                    if message.offset >= ends[tp]:
                        continue
                    done += 1
                    try:
                        value = codecs[tp.topic].decode(message.value)
                    except RecordDecodeError:
                        undecodable += 1
                        continue
                    if chosen.matches(value["session_id"], message.timestamp):
                        kept.append(_recorded(tp, message.offset, message.timestamp, value))
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
                    consumer.pause(tp)
            if progress is not None:
                progress(done, total)
        return kept, undecodable
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()


def _recorded(tp: TopicPartition, offset: int, timestamp_ms: int, value: Any) -> Recorded:
    return {
        "topic": tp.topic,
        "partition": tp.partition,
        "offset": offset,
        "timestamp_ms": timestamp_ms,
        "session_id": value["session_id"],
        "value": value,
    }
