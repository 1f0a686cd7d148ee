"""events -> sessions table -> results; session control -> lifecycle -> final results and reports.

Every table write happens inside an agent, on the partition of the record being processed: the idle
timer only *asks* for an expiry, by sending an ``expire`` control record for the session.
"""

from __future__ import annotations

import logging
import time

from streams.app import app, settings
from streams.codec import Undecodable
from streams.dead_letters import send_dead_letter
from streams.risk import LateObservation, PolicyBook, RiskEngine, SessionState, final_report
from streams.topics import behaviour, control_topic, events_topic, reports_topic, results_topic, sessions

log = logging.getLogger(__name__)

engine = RiskEngine(PolicyBook(settings.risk.policy_dir, settings.risk.default_policy))


def _load(session_id: str) -> SessionState | None:
    stored = sessions.get(session_id)
    return SessionState.from_dict(stored) if stored else None


async def _finish(state: SessionState, reason: str) -> None:
    """Final Result and report out, then the session's state released (tombstoned in the changelogs)."""
    key = state.session_id.encode()
    await results_topic.send(key=key, value=engine.result(state, final=True))
    report = final_report(engine, state, reason)
    await reports_topic.send(key=key, value=report)
    sessions.pop(state.session_id, None)
    behaviour.pop(state.session_id, None)
    log.info("session %s %s: %s at risk %.1f", state.session_id, reason, report["verdict"], report["final_risk_score"])


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
        except LateObservation as exc:
            await send_dead_letter(event, "risk", f"late observation: {exc}")
            continue
        except Exception as exc:  # a bug must cost one observation, not the partition
            log.exception("risk failed on %s #%s", session_id, observation["frame_sequence"])
            await send_dead_letter(event, "risk", f"risk error: {type(exc).__name__}: {exc}")
            continue
        sessions[session_id] = state.to_dict()
        await results_topic.send(key=session_id.encode(), value=result)
        if engine.ready_to_finish(state):
            await _finish(state, "ended")


@app.agent(control_topic)
async def control(stream):
    async for event in stream.events():
        record = event.value
        if isinstance(record, Undecodable):
            await send_dead_letter(event, "control", f"bad SessionControl record: {record.reason}")
            continue
        session_id, action = record["session_id"], record["action"]
        state = _load(session_id)
        if action == "start":
            sessions[session_id] = engine.start(state, record).to_dict()
        elif action == "end":
            state = engine.request_end(state, record)
            if engine.ready_to_finish(state):
                await _finish(state, "ended")
            else:
                sessions[session_id] = state.to_dict()
        elif state is not None and engine.is_idle(state, int(time.time() * 1000), settings.risk.end_grace_s):
            # "expire": re-checked here, in order with the session's other records.
            await _finish(state, "ended" if state.status == "ending" else "expired")


@app.timer(interval=settings.risk.expiry_check_s)
async def expire_idle_sessions() -> None:
    """Every worker, over the partitions it owns: ask for the expiry of sessions without frames."""
    now = int(time.time() * 1000)
    for session_id, stored in list(sessions.items()):
        if stored and engine.is_idle(SessionState.from_dict(stored), now, settings.risk.end_grace_s):
            await control_topic.send(
                key=session_id.encode(),
                value={
                    "session_id": session_id,
                    "action": "expire",
                    "candidate_id": stored.get("candidate_id", ""),
                    "policy": stored.get("policy", "default"),
                    "at_ms": now,
                    "metadata": {},
                    "last_sequence": None,
                },
            )
