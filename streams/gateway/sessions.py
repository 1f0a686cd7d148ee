"""The sessions this gateway instance started: whose they are, their next frame sequence and their rate.

The gateway numbers a session's frames itself when the platform does not (0, 1, 2...): that count lives
in this instance, so a platform behind several instances either sends ``sequence`` with each frame or
routes a session to one instance (by session id). A frame for a session this instance does not know,
without ``sequence``, is refused rather than numbered from 0 again: the workers would take the repeated
numbers for redeliveries and skip them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.gateway.limits import FrameRate

__all__ = ["GatewaySession", "SessionBook"]


@dataclass
class GatewaySession:
    session_id: str
    platform: str
    candidate_id: str
    policy: str
    rate: FrameRate
    next_sequence: int = 0
    last_sequence: int | None = None
    ended: bool = False
    metadata: dict[str, str] = field(default_factory=dict)

    def sent(self, sequence: int) -> None:
        self.next_sequence = max(self.next_sequence, sequence + 1)
        self.last_sequence = sequence if self.last_sequence is None else max(self.last_sequence, sequence)


class SessionBook:
    def __init__(self, size: int, rate: float, burst: int) -> None:
        self._sessions: dict[str, GatewaySession] = {}
        self._size, self._rate, self._burst = size, rate, burst

    def get(self, session_id: str) -> GatewaySession | None:
        return self._sessions.get(session_id)

    def start(
        self, session_id: str, platform: str, candidate_id: str, policy: str, metadata: dict[str, str]
    ) -> GatewaySession:
        session = GatewaySession(
            session_id, platform, candidate_id, policy, FrameRate(self._rate, self._burst), metadata=metadata
        )
        self._sessions.pop(session_id, None)
        self._sessions[session_id] = session
        while len(self._sessions) > self._size:  # the oldest started first
            del self._sessions[next(iter(self._sessions))]
        return session

    def adopt(self, session_id: str, platform: str) -> GatewaySession:
        """A session started elsewhere (another instance, before a restart) whose frames carry sequences."""
        return self.start(session_id, platform, "", "", {})
