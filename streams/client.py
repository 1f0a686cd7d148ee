"""``KafkaSessionClient``: sessions straight on the topics, for a platform that produces to Kafka itself
(no gateway in between), with asyncio.

Frames and start/end records go out through ``SessionPublisher`` (the project's encoding, keys and
topics); Results and final reports are followed with the gateway's own ``Follower``, which is positioned
at the end of the results topic before the client is ready (so no Result of a frame sent afterwards is
missed) and reads final reports from ``INTEGRITY_GATEWAY_REPORT_LOOKBACK_S`` back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import cast

from producers.publisher import SessionPublisher
from schemas.records import FinalReport, Result, SessionControl, new_session_control, now_ms
from streams.kafka.clients import session_publisher
from streams.kafka.follower import Follower, Subscription
from streams.settings import Settings, load_settings
from streams.validation import frame_refusal
from streams.vision.image import frame_of_image

__all__ = ["KafkaSessionClient"]

# How long ``results()`` waits, once the report is in, for the session's final Result to be read too.
FINAL_RESULT_GRACE_S = 5.0


@dataclass
class _Session:
    candidate_id: str
    next_sequence: int = 0
    last_sequence: int | None = None
    subscription: Subscription | None = None


class KafkaSessionClient:
    """Start sessions, send their frames (numbered here, per session), end them, and follow their
    Results and final reports; an async context manager.

    ``settings``: the deployment's (topics, broker security); default ``load_settings()`` (the
    environment). ``bootstrap_servers`` alone: the default settings on that broker. ``buffer``: Results
    kept per followed session until ``results()`` reads them (beyond, they are dropped and ``results()``
    raises ``OverflowError``).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        bootstrap_servers: str | None = None,
        source: str = "python-client",
        buffer: int = 1024,
    ) -> None:
        if settings is None:
            settings = Settings() if bootstrap_servers else load_settings()
        if bootstrap_servers:
            settings = replace(settings, broker=replace(settings.broker, bootstrap_servers=bootstrap_servers))
        if buffer < 1:
            raise ValueError("buffer must be at least 1")  # an asyncio.Queue of 0 would be unbounded
        # The follower sizes its per-session queues by the gateway's WebSocket setting.
        self.settings = replace(settings, gateway=replace(settings.gateway, websocket_queue=buffer))
        self.source = source
        self._sessions: dict[str, _Session] = {}
        self._publisher: SessionPublisher | None = None
        self._follower: Follower | None = None

    async def __aenter__(self) -> KafkaSessionClient:
        self._follower = Follower(self.settings)
        await self._follower.start()
        try:
            self._publisher = await session_publisher(self.settings).__aenter__()
        except BaseException:
            await self._follower.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._follower is not None:
            for session in self._sessions.values():
                if session.subscription is not None:
                    self._follower.unsubscribe(session.subscription)
            await self._follower.stop()
            self._follower = None
        if self._publisher is not None:
            await self._publisher.__aexit__(None, None, None)
            self._publisher = None

    @property
    def _kafka(self) -> tuple[SessionPublisher, Follower]:
        assert self._publisher is not None and self._follower is not None, "use `async with KafkaSessionClient(...)`"
        return self._publisher, self._follower

    async def start_session(
        self,
        candidate_id: str = "",
        session_id: str | None = None,
        policy: str | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        follow_results: bool = True,
    ) -> SessionControl:
        """Send the session's start record (made id: ``py-<hex>``); returns the record sent.

        ``follow_results``: keep its Results for ``results()`` from now on (False: ``results()`` sees only
        those that arrive after it is called, and nothing is kept meanwhile)."""
        publisher, follower = self._kafka
        session_id = session_id or f"py-{uuid.uuid4().hex}"
        record = new_session_control(
            session_id,
            "start",
            candidate_id,
            policy=policy or self.settings.risk.default_policy,
            metadata=dict(metadata or {}),
            source=self.source,
        )
        session = _Session(candidate_id)
        if follow_results:  # before any frame goes out, so its Result cannot come first
            session.subscription = follower.subscribe(session_id)
        await publisher.send_control(record)
        self._sessions[session_id] = session
        return record

    async def send_frame(
        self,
        session_id: str,
        image: bytes,
        sequence: int | None = None,
        captured_at_ms: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Send a JPEG, PNG or WebP frame; returns its sequence (the next of the session's unless given).

        ``ValueError`` (before anything is sent) for bytes that are not such an image, or a frame the
        workers would refuse (its size, ids, clock, metadata)."""
        publisher, _ = self._kafka
        session = self._sessions.get(session_id)
        if session is None:
            if sequence is None:
                # Counting from 0 again would repeat numbers the workers already took: they would skip them.
                raise ValueError(f"session {session_id!r} was not started by this client: give each frame's sequence")
            session = self._sessions[session_id] = _Session("")
        number = session.next_sequence if sequence is None else sequence
        frame = frame_of_image(
            session_id,
            number,
            image,
            captured_at_ms=captured_at_ms,
            candidate_id=session.candidate_id,
            source=self.source,
            metadata=dict(metadata or {}),
        )
        if reason := frame_refusal(frame, now_ms(), self.settings.ingress):
            raise ValueError(reason)
        await publisher.send_frame(frame)
        session.next_sequence = max(session.next_sequence, number + 1)
        session.last_sequence = number if session.last_sequence is None else max(session.last_sequence, number)
        return number

    async def end_session(self, session_id: str, last_sequence: int | None = None) -> SessionControl:
        """Send the session's end, with its last frame's sequence (default: the last sent by this client),
        so the workers report once that frame is analysed. The report: ``report()``."""
        publisher, _ = self._kafka
        session = self._sessions.get(session_id)
        if last_sequence is None and session is not None:
            last_sequence = session.last_sequence
        candidate = session.candidate_id if session is not None else ""
        record = new_session_control(session_id, "end", candidate, last_sequence=last_sequence, source=self.source)
        await publisher.send_control(record)
        return record

    async def results(self, session_id: str) -> AsyncIterator[Result]:
        """The session's Results as they arrive, up to its final Result (``final``: the session's last word,
        ``frame_sequence`` -1) and its final report; then it stops. One reader per session."""
        _, follower = self._kafka
        session = self._sessions.setdefault(session_id, _Session(""))
        if session.subscription is None:
            if session_id in follower.reports:
                return  # already reported, and nothing was kept: no Result is to come
            session.subscription = follower.subscribe(session_id)
        subscription = session.subscription
        reported = final = False
        while not (reported and final):
            try:
                # The worker sends the final Result before the report, but they are on two topics and may
                # be read in either order: after the report, wait a little for the final Result.
                waiting = subscription.queue.get()
                kind, record = await (asyncio.wait_for(waiting, FINAL_RESULT_GRACE_S) if reported else waiting)
            except TimeoutError:
                break
            if subscription.overflowed.is_set():
                raise OverflowError(
                    f"more than {self.settings.gateway.websocket_queue} Results of session {session_id!r} were left "
                    "unread and some were dropped: read them as they come, or raise `buffer`"
                )
            if kind == "report":
                reported = True
                continue
            final = final or bool(record["final"])
            yield cast(Result, record)
        follower.unsubscribe(subscription)
        session.subscription = None

    def latest_result(self, session_id: str) -> Result | None:
        """The session's newest Result seen since this client started, if any."""
        _, follower = self._kafka
        return cast("Result | None", follower.latest.get(session_id))

    async def report(self, session_id: str, timeout_s: float = 60.0) -> FinalReport:
        """The session's final report, once the workers have made it (``TimeoutError`` after ``timeout_s``).
        Reports made up to INTEGRITY_GATEWAY_REPORT_LOOKBACK_S before the client started are found too."""
        _, follower = self._kafka
        waiting = follower.expect_report(session_id)
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), timeout_s)
        except TimeoutError:
            raise TimeoutError(f"no final report of session {session_id!r} within {timeout_s:g} s") from None
        finally:
            follower.forget_report(session_id, waiting)
