"""The dead-letter topic read back (``integrity dead-letters``): which records were refused and why, one
dead letter in full, and replaying the refused records to the topics they came from, each once.

A dead letter is named by where it sits: ``<dead-letter topic>-<partition>-<offset>``, unique for the life
of the topic (``DeadLetterId``). Its payload is the refused record's bytes (``streams.worker.dead_letters``),
and a replay publishes exactly those bytes with its key to its source topic, on its key's partition, with
a header naming the dead letter (``REPLAY_HEADER``).

Each replay is recorded once it is acknowledged, on ``<dead-letter topic>.replays``: one partition,
compacted, keyed by the dead letter's id, a small JSON value saying when and where it went (``Replay``).
A replay reads that ledger first and skips what it names, so a second replay of a dead letter does nothing.
A ledger rather than a header on the replayed records: finding those would mean reading the whole source
topic (frames: images), and they leave with its retention, when a replay must still be known. A replay
stopped between the record and its ledger entry sends it again next time: the workers skip a frame or
record they have already answered (``streams.redelivery``), as for any redelivery.

A dead letter whose payload was cut (over ``INTEGRITY_DEAD_LETTER_MAX_PAYLOAD_BYTES``) or not kept (a
flood's excess frames) cannot be replayed: the bytes are not all there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas import RecordDecodeError, codec_for
from schemas.records import DeadLetter, now_ms
from streams.kafka.clients import admin_options, consumer_options, producer_options
from streams.kafka.reader import read_raw
from streams.settings import Settings

__all__ = [
    "REPLAY_HEADER",
    "DeadLetterId",
    "Group",
    "Outcome",
    "Replay",
    "ReplaySummary",
    "Selection",
    "StoredDeadLetter",
    "described",
    "find",
    "grouped",
    "ledger_topic",
    "read_dead_letters",
    "read_replays",
    "reason_kind",
    "replay",
]

log = logging.getLogger(__name__)

REPLAY_HEADER = "integrity-replay-of"


def reason_kind(reason: str) -> str:
    """A bounded label for a dead letter's reason: its words before the first colon, numbers and quoted
    values taken out ("bad image: ..." -> "bad image"). The metrics count by it; the listing groups by it."""
    head = reason.split(":", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"\d+|'[^']*'|\"[^\"]*\"", "_", head)).strip()[:60]


@dataclass(frozen=True, order=True)
class DeadLetterId:
    """Where a dead letter sits on the dead-letter topic, which names it."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}-{self.partition}-{self.offset}"

    @classmethod
    def parse(cls, text: str, topic: str) -> DeadLetterId:
        """``TOPIC-PARTITION-OFFSET`` as listed, or ``PARTITION-OFFSET`` on ``topic`` (the dead-letter topic);
        ValueError, in words, for anything else."""
        parts = text.strip().rsplit("-", 2)
        if len(parts) == 2:
            parts = [topic, *parts]
        named, partition, offset = parts if len(parts) == 3 else ("", "", "")
        if not (partition.isdigit() and offset.isdigit()):
            raise ValueError(
                f"{text!r} is not a dead letter's id: TOPIC-PARTITION-OFFSET (as listed) or PARTITION-OFFSET"
            )
        if named != topic:
            raise ValueError(f"{text!r} is not on the dead-letter topic {topic} (INTEGRITY_TOPIC_DEAD_LETTER)")
        return cls(topic, int(partition), int(offset))


@dataclass(frozen=True)
class StoredDeadLetter:
    """A dead letter as the topic holds it: its id, broker time, headers and size, and the DeadLetter (whose
    payload a listing drops once it has its size: ``kept_bytes``)."""

    id: DeadLetterId
    timestamp_ms: int
    headers: tuple[tuple[str, bytes], ...]
    size: int
    record: DeadLetter
    kept_bytes: int

    @classmethod
    def of(cls, message: ConsumerRecord[bytes, bytes], record: DeadLetter, *, keep_payload: bool) -> StoredDeadLetter:
        payload = record["payload"]
        return cls(
            id=DeadLetterId(message.topic, message.partition, message.offset),
            timestamp_ms=message.timestamp,
            headers=tuple((name, bytes(value)) for name, value in message.headers or ()),
            size=len(message.value or b""),
            record=record if keep_payload else {**record, "payload": None},
            kept_bytes=len(payload) if payload is not None else 0,
        )

    @property
    def not_replayable(self) -> str | None:
        """Why the refused record cannot be published again as it was, or None when it can."""
        size = self.record["payload_size"]
        if size is None:
            return "the refused record had no value (a tombstone)"
        if self.kept_bytes == 0 and size > 0:
            return f"its {size} bytes were not kept (only their size and SHA-256)"
        if self.kept_bytes < size:
            return f"only {self.kept_bytes} of its {size} bytes were kept (INTEGRITY_DEAD_LETTER_MAX_PAYLOAD_BYTES)"
        return None


@dataclass(frozen=True)
class Selection:
    """Which dead letters: these ids (any when empty), failed in [since, until] (worker clock, ms), whose
    reason contains ``reason`` (any case), from source topic ``source``."""

    ids: frozenset[DeadLetterId] = frozenset()
    since_ms: int | None = None
    until_ms: int | None = None
    reason: str | None = None
    source: str | None = None

    @property
    def narrowed(self) -> bool:
        return bool(self.ids) or any(v is not None for v in (self.since_ms, self.until_ms, self.reason, self.source))

    def matches(self, letter: StoredDeadLetter) -> bool:
        record = letter.record
        failed = record["failed_at_ms"]
        return (
            (not self.ids or letter.id in self.ids)
            and (self.since_ms is None or failed >= self.since_ms)
            and (self.until_ms is None or failed <= self.until_ms)
            and (self.reason is None or self.reason.lower() in record["reason"].lower())
            and (self.source is None or record["source_topic"] == self.source)
        )


@dataclass(frozen=True)
class Replay:
    """A ledger entry: dead letter ``dead_letter`` was published again, at ``at_ms``, to ``to``."""

    dead_letter: str
    at_ms: int
    to: str
    payload_sha256: str | None = None

    def value(self) -> bytes:
        return json.dumps(
            {
                "dead_letter": self.dead_letter,
                "at_ms": self.at_ms,
                "to": self.to,
                "payload_sha256": self.payload_sha256,
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_value(cls, value: bytes) -> Replay:
        fields = json.loads(value)
        return cls(str(fields["dead_letter"]), int(fields["at_ms"]), str(fields["to"]), fields.get("payload_sha256"))


def ledger_topic(settings: Settings) -> str:
    """The topic that records replays: the dead-letter topic's, with ``.replays`` (in its namespace too)."""
    return f"{settings.topics.dead_letter}.replays"


# -- reading -----------------------------------------------------------------------------------------


async def read_dead_letters(
    settings: Settings, selection: Selection | None = None, *, keep_payload: bool = False
) -> tuple[list[StoredDeadLetter], int]:
    """The dead letters ``selection`` matches (all by default), oldest first, and how many records of the
    topic were not DeadLetters (skipped). Payloads are dropped as they are read unless ``keep_payload``."""
    selection = selection or Selection()
    codec = codec_for("DeadLetter")
    found: list[StoredDeadLetter] = []
    undecodable = 0
    async for message in read_raw(settings, settings.topics.dead_letter):
        if selection.ids and DeadLetterId(message.topic, message.partition, message.offset) not in selection.ids:
            continue
        try:
            record: DeadLetter = codec.decode(message.value)
        except RecordDecodeError as exc:
            undecodable += 1
            log.warning(
                "skipping an undecodable record at %s[%d]@%d: %s", message.topic, message.partition, message.offset, exc
            )
            continue
        letter = StoredDeadLetter.of(message, record, keep_payload=keep_payload)
        if selection.matches(letter):
            found.append(letter)
    found.sort(key=lambda letter: (letter.record["failed_at_ms"], letter.id))
    return found, undecodable


async def read_replays(settings: Settings) -> dict[str, Replay]:
    """Dead letter id -> its replay, from the ledger (none when it does not exist yet)."""
    replays: dict[str, Replay] = {}
    async for message in read_raw(settings, ledger_topic(settings)):
        try:
            entry = Replay.from_value(message.value or b"")
        except (ValueError, KeyError, TypeError):
            log.warning("skipping a record of %s that is not a replay, at offset %d", message.topic, message.offset)
            continue
        replays.setdefault(entry.dead_letter, entry)  # the first replay is the one
    return replays


async def find(settings: Settings, wanted: DeadLetterId, timeout_s: float = 10.0) -> StoredDeadLetter | None:
    """The dead letter at ``wanted``, payload and all, read at its offset; None when there is none there."""
    consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, **consumer_options(settings))
    await consumer.start()
    try:
        if wanted.topic not in await consumer.topics():
            return None
        if wanted.partition not in (consumer.partitions_for_topic(wanted.topic) or set()):
            return None
        tp = TopicPartition(wanted.topic, wanted.partition)
        consumer.assign([tp])
        start, end = (await consumer.beginning_offsets([tp]))[tp], (await consumer.end_offsets([tp]))[tp]
        if not start <= wanted.offset < end:
            return None
        consumer.seek(tp, wanted.offset)
        batches = await consumer.getmany(tp, timeout_ms=int(timeout_s * 1000))
        message = next((m for m in batches.get(tp, []) if m.offset == wanted.offset), None)
        if message is None:
            return None
        try:
            record: DeadLetter = codec_for("DeadLetter").decode(message.value)
        except RecordDecodeError:
            return None
        return StoredDeadLetter.of(message, record, keep_payload=True)
    finally:
        await consumer.stop()


# -- what a person reads -----------------------------------------------------------------------------


@dataclass
class Group:
    """Dead letters of one source topic, stage and kind of reason."""

    source_topic: str
    stage: str
    reason: str  # the kind (numbers and quoted values taken out)
    count: int = 0
    replayed: int = 0
    first_ms: int = 0
    last_ms: int = 0
    latest: str = ""  # the newest one's id, to `show`

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_topic": self.source_topic,
            "stage": self.stage,
            "reason": self.reason,
            "count": self.count,
            "replayed": self.replayed,
            "first_ms": self.first_ms,
            "last_ms": self.last_ms,
            "latest": self.latest,
        }


def grouped(letters: Iterable[StoredDeadLetter], replays: Mapping[str, Replay]) -> list[Group]:
    """Counts by source topic, stage and kind of reason, with first and last time; the largest first."""
    groups: dict[tuple[str, str, str], Group] = {}
    for letter in letters:
        record = letter.record
        key = (record["source_topic"], record["stage"], reason_kind(record["reason"]))
        group = groups.setdefault(key, Group(*key, first_ms=record["failed_at_ms"]))
        group.count += 1
        group.replayed += str(letter.id) in replays
        group.first_ms = min(group.first_ms, record["failed_at_ms"])
        if record["failed_at_ms"] >= group.last_ms:
            group.last_ms, group.latest = record["failed_at_ms"], str(letter.id)
    return sorted(groups.values(), key=lambda g: (-g.count, g.source_topic, g.stage, g.reason))


def _bytes_summary(value: bytes) -> dict[str, Any]:
    return {"bytes": len(value), "sha256": hashlib.sha256(value).hexdigest()}


def _without_bytes(value: Any) -> Any:
    """A decoded record with every bytes value replaced by its size and SHA-256: images never reach a terminal."""
    if isinstance(value, bytes | bytearray):
        return _bytes_summary(bytes(value))
    if isinstance(value, Mapping):
        return {key: _without_bytes(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_bytes(item) for item in value]
    return value


def _text_or_size(value: bytes | None) -> str | dict[str, Any] | None:
    """Short printable UTF-8 as text, anything else as its size and SHA-256."""
    if value is None:
        return None
    with contextlib.suppress(UnicodeDecodeError):
        text = value.decode()
        if len(text) <= 200 and text.isprintable():
            return text
    return _bytes_summary(value)


def described(letter: StoredDeadLetter, settings: Settings, replay: Replay | None) -> dict[str, Any]:
    """Everything about one dead letter but bytes: its place, reason, times, key, headers, sizes and digests,
    the refused record decoded (bytes as sizes and digests) when it was kept whole, and its replay."""
    record = letter.record
    payload = record["payload"] or b""
    kinds = {
        settings.topics.frames: "Frame",
        settings.topics.control: "SessionControl",
        settings.topics.events: "Observation",
        settings.topics.reviews: "Review",
    }
    decoded: Any = None
    kind = kinds.get(record["source_topic"])
    if kind is not None and letter.not_replayable is None and payload:
        with contextlib.suppress(RecordDecodeError):
            decoded = _without_bytes(codec_for(kind).decode(payload))
    return {
        "id": str(letter.id),
        "stage": record["stage"],
        "reason": record["reason"],
        "failed_at_ms": record["failed_at_ms"],
        "timestamp_ms": letter.timestamp_ms,
        "source": {
            "topic": record["source_topic"],
            "partition": record["source_partition"],
            "offset": record["source_offset"],
        },
        "key": _text_or_size(record["key"]),
        "headers": {name: _text_or_size(value) for name, value in letter.headers},
        "dead_letter_bytes": letter.size,
        "payload": {
            "size": record["payload_size"],
            "kept": letter.kept_bytes,
            "sha256": record["payload_sha256"],
            "kept_sha256": hashlib.sha256(payload).hexdigest() if payload else None,
        },
        "record": {"type": kind, "value": decoded} if decoded is not None else None,
        "replayable": letter.not_replayable is None,
        "not_replayable_because": letter.not_replayable,
        "replayed": None if replay is None else {"at_ms": replay.at_ms, "to": replay.to},
    }


# -- replaying ---------------------------------------------------------------------------------------


Verdict = Literal["replayed", "would replay", "already replayed", "not replayable"]


@dataclass(frozen=True)
class Outcome:
    """What replaying one dead letter did: ``detail`` is where it went, or why not."""

    id: DeadLetterId
    verdict: Verdict
    detail: str = ""


@dataclass
class ReplaySummary:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, verdict: Verdict) -> int:
        return sum(1 for outcome in self.outcomes if outcome.verdict == verdict)


async def _ensure_ledger(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(**admin_options(settings))
    await admin.start()
    try:
        topic = ledger_topic(settings)
        if topic in set(await admin.list_topics()):
            return
        # One partition: a few bytes per replay. Compacted: a dead letter's entry is kept as long as the
        # topic (the embedded broker accepts the policy and keeps everything anyway).
        ledger = NewTopic(topic, 1, settings.topics.replication_factor, topic_configs={"cleanup.policy": "compact"})
        with contextlib.suppress(TopicAlreadyExistsError):  # another replay created it first: fine
            await admin.create_topics([ledger])
    finally:
        await admin.close()


async def replay(
    settings: Settings, letters: Sequence[StoredDeadLetter], replays: Mapping[str, Replay], *, dry_run: bool = False
) -> ReplaySummary:
    """Publish each dead letter's record again (its key, its bytes) to its source topic, in the order given,
    and record each on the ledger once acknowledged; skip those the ledger names and those whose bytes were
    not all kept. ``dry_run``: say what would happen, publish nothing. ``letters`` must carry their payloads."""
    summary = ReplaySummary()
    todo: list[StoredDeadLetter] = []
    for letter in letters:
        done = replays.get(str(letter.id))
        if done is not None:
            summary.outcomes.append(Outcome(letter.id, "already replayed", f"to {done.to}"))
        elif (why := letter.not_replayable) is not None:
            summary.outcomes.append(Outcome(letter.id, "not replayable", why))
        elif dry_run:
            summary.outcomes.append(Outcome(letter.id, "would replay", f"to {letter.record['source_topic']}"))
        else:
            todo.append(letter)
    if not todo:
        return summary
    await _ensure_ledger(settings)
    producer = AIOKafkaProducer(**producer_options(settings))
    await producer.start()
    try:
        for letter in todo:
            record = letter.record
            sent = await producer.send_and_wait(
                record["source_topic"],
                value=record["payload"],
                key=record["key"],
                headers=[(REPLAY_HEADER, str(letter.id).encode())],
            )
            to = f"{sent.topic}[{sent.partition}]@{sent.offset}"
            entry = Replay(str(letter.id), now_ms(), to, record["payload_sha256"])
            await producer.send_and_wait(ledger_topic(settings), value=entry.value(), key=str(letter.id).encode())
            summary.outcomes.append(Outcome(letter.id, "replayed", f"to {to}"))
    finally:
        await producer.stop()
    return summary
