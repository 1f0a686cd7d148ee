"""The policies topic: risk policies published while the workers run (``integrity policy publish``), followed
by every worker and gateway into its ``PolicyBook``, so that a new or calibrated policy needs no restart.

One partition, compacted, keyed by "name@version"; the value is the policy document as its file holds it
(YAML or JSON text, UTF-8, comments and all), the record's timestamp when it was published. A reader takes
the records in order through ``take_record``, the same validation as the policy files
(``streams.risk.policy``): a record that does not validate, whose key is not its document's name@version,
or that would change a version already known (versions never change) is refused with the reason and
changes nothing; the policies known stay as they were. The same document again is no change either.

``PolicyFollower`` reads the topic from its start with no consumer group (every worker and gateway needs
every policy; a group would give the partition to one of them), commits nothing and keeps following. Until
it has read what the topic held when it started, ``ready`` is unset: the agents wait for it before their
first record, so a worker never judges a session with a policy it has not read yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from streams.kafka.admin import ensure_topics
from streams.kafka.clients import consumer_options, producer_options
from streams.kafka.reader import read_raw
from streams.risk.policy import InvalidPolicy, PolicyBook, RiskPolicy, policy_from_text
from streams.settings import Settings

__all__ = ["PolicyFollower", "PolicyRecord", "Taken", "publish_policy", "read_policies", "take_record"]

log = logging.getLogger(__name__)

# How long a reader waits for the topic to be created before it says so (and goes on waiting).
_TOPIC_WAIT_S = 30.0
# After an error, the follower starts again from the topic's start (taking a record twice changes nothing).
_RETRY_S = 5.0


@dataclass(frozen=True)
class Taken:
    """What one record of the topic did to a book: its policy (None when refused), whether it was new, and
    the reason it was refused."""

    policy: RiskPolicy | None
    new: bool = False
    reason: str | None = None


def take_record(book: PolicyBook, key: bytes | None, value: bytes | None) -> Taken:
    """Validate one record of the policies topic and add its policy to ``book``; a refused one changes nothing."""
    named = key.decode("utf-8", "replace") if key is not None else None
    if value is None:
        # Worded as the agents' stage words a null value (streams.agents.stage): one kind of reason.
        return Taken(None, reason=f"no policy record: the value of {named!r} is null (a tombstone; versions stay)")
    try:
        policy = policy_from_text(value.decode("utf-8"))
    except UnicodeDecodeError:
        return Taken(None, reason=f"invalid policy {named!r}: the document is not UTF-8 text")
    except InvalidPolicy as exc:
        return Taken(None, reason=f"invalid policy {named!r}: {exc}")
    if named != policy.id:
        return Taken(None, reason=f"invalid policy {named!r}: the key is not the document's name@version ({policy.id})")
    try:
        new = book.add(policy)
    except InvalidPolicy as exc:
        return Taken(None, reason=f"policy version conflict: {exc}")
    return Taken(policy, new=new)


# -- publishing and listing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyRecord:
    """One record of the policies topic, as a worker with these settings would take it."""

    key: str | None
    offset: int
    published_ms: int
    policy: RiskPolicy | None
    # "newest" (of its name: what a session naming it gets), "older" (kept for the sessions that started
    # with it), or "refused" (with the reason).
    status: str
    reason: str | None = None
    # The same document was known already (a policy file, or an earlier record): it changed nothing.
    repeated: bool = False


def _files_book(settings: Settings) -> PolicyBook:
    return PolicyBook(settings.risk.policy_dir, settings.risk.default_policy, require_default=False)


async def read_policies(settings: Settings) -> list[PolicyRecord]:
    """Every record the topic holds now, in order, each taken as a worker with ``settings`` (its policy
    files first) takes it."""
    book, taken_records = _files_book(settings), []
    async for message in read_raw(settings, settings.topics.policies):
        taken_records.append((message, take_record(book, message.key, message.value)))
    records = []
    for message, taken in taken_records:
        policy = taken.policy
        status = "refused" if policy is None else "newest" if book.policies[policy.name] == policy else "older"
        key = message.key.decode("utf-8", "replace") if message.key is not None else None
        records.append(
            PolicyRecord(key, message.offset, message.timestamp, policy, status, taken.reason, not taken.new)
        )
    return records


@dataclass(frozen=True)
class Published:
    policy: RiskPolicy
    # Where it went ("topic[0]@offset"), or None when the topic held this very document already.
    where: str | None


async def publish_policy(settings: Settings, text: str) -> Published:
    """Publish a policy document: ``InvalidPolicy`` when it does not validate, or when its version is known
    with other content (a policy file of these settings, or the topic); not again when the topic has it."""
    policy = policy_from_text(text)
    await ensure_topics(settings)  # never auto-created by a broker with its own partitions and no compaction
    book, on_topic = _files_book(settings), set()
    async for message in read_raw(settings, settings.topics.policies):
        if (taken := take_record(book, message.key, message.value)).policy is not None:
            on_topic.add(taken.policy.id)
    book.add(policy)  # InvalidPolicy on a conflict, before anything is sent
    if policy.id in on_topic:
        return Published(policy, None)
    producer = AIOKafkaProducer(**producer_options(settings))
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            settings.topics.policies, key=policy.id.encode(), value=text.encode("utf-8"), partition=0
        )
    finally:
        await producer.stop()
    return Published(policy, f"{sent.topic}[{sent.partition}]@{sent.offset}")


# -- following --------------------------------------------------------------------------------------------


class PolicyFollower:
    """Follows the policies topic into ``book`` from its start, forever (``run``, or ``start``/``stop``)."""

    def __init__(self, settings: Settings, book: PolicyBook, who: str = "worker") -> None:
        self.settings = settings
        self.book = book
        self.who = who
        self.topic = TopicPartition(settings.topics.policies, 0)
        self.ready = asyncio.Event()
        self.failure: str | None = None
        self.refused = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._position = 0
        self._task: asyncio.Task[None] | None = None
        self._waited = False

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def start(self, ready_timeout_s: float = 30.0) -> None:
        """Follow in a task of its own; returns once the topic is read (or after ``ready_timeout_s``)."""
        self._task = asyncio.create_task(self.run(), name="policy-follower")
        await self.wait_ready(ready_timeout_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self) -> None:
        """Read and follow the topic until cancelled; after an error, again from its start."""
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the policies known stay; health is not ours to fail
                self.failure = f"following {self.topic.topic} failed: {exc!r}"
                log.exception("%s: following %s failed; again in %g s", self.who, self.topic.topic, _RETRY_S)
                await asyncio.sleep(_RETRY_S)

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, **consumer_options(self.settings))
        await consumer.start()
        try:
            await self._wait_for_topic(consumer)
            consumer.assign([self.topic])
            await consumer.seek_to_beginning(self.topic)
            end = (await consumer.end_offsets([self.topic]))[self.topic]
            self._consumer = consumer
            while True:
                batches = await consumer.getmany(self.topic, timeout_ms=1000)
                for message in batches.get(self.topic, []):
                    self.take(message)
                self._position = await consumer.position(self.topic)
                if not self.ready.is_set() and self._position >= end:
                    self._say_ready()
        finally:
            self._consumer = None
            await consumer.stop()

    async def _wait_for_topic(self, consumer: AIOKafkaConsumer) -> None:
        said = time.monotonic()
        while self.topic.topic not in await consumer.topics():  # asked without naming it: not auto-created
            if time.monotonic() - said >= _TOPIC_WAIT_S:
                log.warning("%s: no topic %s yet (create it: integrity topics)", self.who, self.topic.topic)
                said = time.monotonic()
                self.ready.set()  # nothing to wait for: the policy files are all there is
            await asyncio.sleep(1.0)

    def _say_ready(self) -> None:
        self.ready.set()
        known = ", ".join(policy.id for _, policy in sorted(self.book.policies.items()))
        log.info("%s: risk policies read from %s (newest: %s)", self.who, self.topic.topic, known)
        if self.book.default not in self.book.policies:
            log.error(
                "%s: the default risk policy %r (INTEGRITY_RISK_DEFAULT_POLICY) is neither a policy file nor "
                "published: sessions that name no policy cannot be judged until it is",
                self.who,
                self.book.default,
            )

    # -- records ------------------------------------------------------------------------------------------

    def take(self, message: ConsumerRecord[bytes, bytes]) -> Taken:
        """One record into the book; a refused one is logged with its reason and changes nothing."""
        taken = take_record(self.book, message.key, message.value)
        where = f"{message.topic}[{message.partition}]@{message.offset}"
        if taken.reason is not None:
            self.refused += 1
            log.warning("%s: refused the policy at %s: %s", self.who, where, taken.reason)
        elif taken.new and taken.policy is not None:
            log.info("%s: risk policy %s from %s", self.who, taken.policy.id, where)
        return taken

    # -- waiting ------------------------------------------------------------------------------------------

    async def wait_ready(self, timeout_s: float = 30.0) -> bool:
        """Wait until the topic as it was at the start is read; once only: after a timeout, never again
        (the policy files and what has arrived are all there is)."""
        if self.ready.is_set() or self._waited:
            return self.ready.is_set()
        try:
            await asyncio.wait_for(self.ready.wait(), timeout_s)
        except TimeoutError:
            self._waited = True
            log.warning(
                "%s: %s not read within %g s: going on with the policies known", self.who, self.topic.topic, timeout_s
            )
        return self.ready.is_set()

    async def caught_up(self, timeout_s: float = 5.0) -> bool:
        """Wait until every policy published so far is read (the end offset now, not at the start): before a
        session picks its policy, so that one published a moment ago is known. False after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        if not await self.wait_ready(timeout_s):
            return False
        consumer = self._consumer
        if consumer is None:
            return False
        try:
            end = (await asyncio.wait_for(consumer.end_offsets([self.topic]), timeout_s))[self.topic]
        except Exception as exc:  # the broker did not answer: go on with what is known
            log.warning("%s: could not ask for the end of %s: %r", self.who, self.topic.topic, exc)
            return False
        while self._position < end:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True
