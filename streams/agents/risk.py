"""events -> sessions table -> results: one Result per observed frame, keyed by session id."""

from __future__ import annotations

import logging

from streams.app import app, settings
from streams.codec import Undecodable
from streams.dead_letters import send_dead_letter
from streams.risk import RiskEngine, RiskPolicy, SessionState
from streams.topics import control_topic, events_topic, results_topic, sessions

log = logging.getLogger(__name__)

engine = RiskEngine(RiskPolicy.from_settings(settings.risk))


def _load(session_id: str) -> SessionState | None:
    stored = sessions.get(session_id)
    return SessionState.from_dict(stored) if stored else None


@app.agent(events_topic)
async def score(stream):
    async for event in stream.events():
        observation = event.value
        if isinstance(observation, Undecodable):
            await send_dead_letter(event, "risk", f"bad Observation record: {observation.reason}")
            continue
        session_id = observation["session_id"]
        try:
            state, result = engine.apply(_load(session_id), observation)
        except Exception as exc:  # a bug must cost one observation, not the partition
            log.exception("risk failed on %s #%s", session_id, observation["frame_sequence"])
            await send_dead_letter(event, "risk", f"risk error: {type(exc).__name__}: {exc}")
            continue
        sessions[session_id] = state.to_dict()
        await results_topic.send(key=session_id.encode(), value=result)


@app.agent(control_topic)
async def control(stream):
    async for event in stream.events():
        record = event.value
        if isinstance(record, Undecodable):
            await send_dead_letter(event, "control", f"bad SessionControl record: {record.reason}")
            continue
        session_id = record["session_id"]
        state = _load(session_id) or SessionState(session_id=session_id)
        state.candidate_id = record["candidate_id"] or state.candidate_id
        if record["action"] == "start":
            state.status = "active"
            state.started_at_ms = state.started_at_ms or record["at_ms"]
        else:
            state.status = "ended"
            state.ended_at_ms = record["at_ms"]
        sessions[session_id] = state.to_dict()
