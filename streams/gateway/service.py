"""What the gateway does for a platform, whichever door it came through (HTTP or WebSocket): start a
session, send a frame (and, if asked, wait for its Result), end a session (and wait for its report).

Every refusal is a ``Refusal`` with an HTTP status and a reason a person can act on; the records that do
go out pass the same edge rules the workers apply (``streams.validation``), so a platform hears about a
bad record at once instead of finding it in the dead letters.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from dataclasses import dataclass

from producers.publisher import SessionPublisher
from schemas.records import FinalReport, Result, new_session_control, now_ms
from streams.gateway.access import KeyBook
from streams.gateway.sessions import GatewaySession, SessionBook
from streams.kafka.clients import session_publisher
from streams.kafka.follower import OWNER_KEY, Follower
from streams.kafka.policies import PolicyFollower
from streams.risk.policy import PolicyBook
from streams.settings import Settings
from streams.validation import control_refusal, frame_refusal
from streams.vision.image import ImageDecodeError, frame_of_image

__all__ = ["Gateway", "Refusal", "Sent"]

log = logging.getLogger(__name__)


class Refusal(Exception):
    """A request the gateway refuses: ``status`` (HTTP), ``reason`` (for the caller), ``retry_after_s``."""

    def __init__(self, status: int, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.retry_after_s = status, reason, retry_after_s


@dataclass(frozen=True)
class Sent:
    """A frame on the frames topic: its sequence, and its Result when it came in time."""

    session_id: str
    sequence: int
    result: Result | None


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = KeyBook(settings.gateway.api_keys)
        # The policy names a start may ask for: the files, and what is published (the workers' own rule).
        self.policies = PolicyBook(settings.risk.policy_dir, settings.risk.default_policy, require_default=False)
        self.policy_follower = PolicyFollower(settings, self.policies, who="gateway")
        self.sessions = SessionBook(
            settings.gateway.sessions_kept, settings.ingress.session_max_fps, settings.ingress.session_burst_frames
        )
        self.follower = Follower(settings)
        self._publisher: SessionPublisher | None = None  # aiokafka clients are made inside the event loop

    @property
    def publisher(self) -> SessionPublisher:
        assert self._publisher is not None, "Gateway.start() first"
        return self._publisher

    async def start(self) -> None:
        if self.keys.open:
            log.warning("no API keys configured (INTEGRITY_GATEWAY_API_KEYS): every caller is let in")
        self._publisher = await session_publisher(self.settings).__aenter__()
        await self.follower.start()
        await self.policy_follower.start()

    async def stop(self) -> None:
        await self.policy_follower.stop()
        await self.follower.stop()
        if self._publisher is not None:
            await self._publisher.__aexit__(None, None, None)

    # -- who is calling -------------------------------------------------------------------------------

    def platform(self, key: str | None) -> str:
        platform = self.keys.platform_of(key)
        if platform is None:
            raise Refusal(401, "a valid API key is required (Authorization: Bearer <key>, or X-API-Key)")
        return platform

    def _check_owner(self, platform: str, session_id: str) -> None:
        """Another platform's session is not found, not forbidden: its existence is not ours to tell."""
        owner = self.follower.owners.get(session_id)
        if self.keys.open or owner == platform:
            return
        raise Refusal(404, f"no session {session_id!r} started with this API key")

    # -- sessions -------------------------------------------------------------------------------------

    async def start_session(
        self,
        platform: str,
        *,
        session_id: str | None = None,
        candidate_id: str = "",
        policy: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> GatewaySession:
        session_id = session_id or f"gw-{uuid.uuid4().hex}"
        owner = self.follower.owners.get(session_id)
        if owner is not None and owner != platform and not self.keys.open:
            raise Refusal(409, f"session id {session_id!r} is taken: choose another")
        policy_name = policy or self.policies.default
        if policy_name not in self.policies:
            await self.policy_follower.caught_up()  # published a moment ago?
        record = new_session_control(
            session_id,
            "start",
            candidate_id,
            policy=policy_name,
            metadata={**(metadata or {}), OWNER_KEY: platform},
            source="gateway",
        )
        if reason := control_refusal(record, now_ms(), self.settings.ingress, self.policies):
            raise Refusal(422, reason)
        await self.publisher.send_control(record)
        self.follower.owners.put(session_id, platform)
        return self.sessions.start(session_id, platform, candidate_id, policy_name, record["metadata"])

    def _session_for_frames(self, platform: str, session_id: str, sequence: int | None) -> GatewaySession:
        self._check_owner(platform, session_id)
        session = self.sessions.get(session_id)
        if session is None:
            if sequence is None:
                raise Refusal(
                    409,
                    f"session {session_id!r} was not started through this gateway instance (or it restarted): "
                    "send each frame's `sequence`, or start the session here",
                )
            session = self.sessions.adopt(session_id, platform)
        if session.ended:
            raise Refusal(409, f"session {session_id!r} has ended")
        return session

    async def send_frame(
        self,
        platform: str,
        session_id: str,
        image: bytes,
        *,
        sequence: int | None = None,
        captured_at_ms: int | None = None,
        wait: bool = True,
    ) -> Sent:
        limit = self.settings.ingress.max_frame_bytes
        if len(image) > limit:
            raise Refusal(413, f"the image is {len(image)} bytes, over the {limit} allowed")
        session = self._session_for_frames(platform, session_id, sequence)
        number = session.next_sequence if sequence is None else sequence
        try:
            frame = frame_of_image(
                session_id,
                number,
                image,
                captured_at_ms=captured_at_ms,
                candidate_id=session.candidate_id,
                source="gateway",
            )
        except ImageDecodeError as exc:
            raise Refusal(415, f"not a frame: {exc}") from None
        if retry_after := session.rate.take():
            fps = self.settings.ingress.session_max_fps
            raise Refusal(429, f"session {session_id!r} is sending above {fps:g} frames/s", retry_after_s=retry_after)
        if reason := frame_refusal(frame, now_ms(), self.settings.ingress):
            raise Refusal(422, reason)
        waiting = self.follower.expect_result(session_id, number) if wait else None
        try:
            await self.publisher.send_frame(frame)
            session.sent(number)
            if waiting is None:
                return Sent(session_id, number, None)
            try:
                result = await asyncio.wait_for(asyncio.shield(waiting), self.settings.gateway.result_timeout_s)
            except TimeoutError:
                return Sent(session_id, number, None)
            return Sent(session_id, number, result)
        finally:
            if waiting is not None:
                self.follower.forget_result(session_id, number)

    async def end_session(
        self, platform: str, session_id: str, *, last_sequence: int | None = None, wait: bool = True
    ) -> FinalReport | None:
        """Send the session's end (with its last frame's sequence, if known); its report if it came in time."""
        self._check_owner(platform, session_id)
        session = self.sessions.get(session_id)
        if last_sequence is None and session is not None:
            last_sequence = session.last_sequence
        candidate = session.candidate_id if session else ""
        record = new_session_control(session_id, "end", candidate, last_sequence=last_sequence, source="gateway")
        if reason := control_refusal(record, now_ms(), self.settings.ingress, self.policies):
            raise Refusal(422, reason)
        waiting = self.follower.expect_report(session_id) if wait else None
        try:
            await self.publisher.send_control(record)
            if session is not None:
                session.ended = True
            if waiting is None:
                return None
            try:
                return await asyncio.wait_for(asyncio.shield(waiting), self.settings.gateway.report_timeout_s)
            except TimeoutError:
                return None
        finally:
            if waiting is not None:
                self.follower.forget_report(session_id, waiting)

    def latest_result(self, platform: str, session_id: str) -> Result:
        self._check_owner(platform, session_id)
        result: Result | None = self.follower.latest.get(session_id)
        if result is None:
            raise Refusal(404, f"no Result of session {session_id!r} yet (since this gateway started)")
        return result

    def report(self, platform: str, session_id: str) -> FinalReport:
        self._check_owner(platform, session_id)
        report: FinalReport | None = self.follower.reports.get(session_id)
        if report is None:
            raise Refusal(404, f"no final report of session {session_id!r} (yet)")
        return report


def retry_after_header(seconds: float) -> str:
    """Retry-After is whole seconds: round up, never 0 (0 invites an immediate retry that fails again)."""
    return str(max(1, math.ceil(seconds)))
