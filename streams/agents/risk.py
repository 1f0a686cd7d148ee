"""events -> sessions table -> results; session control -> lifecycle -> final results and reports.

Every table write happens inside an agent, on the partition of the record being processed: the idle
timer only *asks* for an expiry, by sending an ``expire`` control record for the session.
"""

from __future__ import annotations

import logging

from faust.types import EventT, StreamT

from schemas.records import EndReason, Observation, SessionControl, new_session_control, now_ms
from streams.agents.processing import Refused, Stage, process
from streams.app import app, settings
from streams.risk import LateObservation, PolicyBook, RiskEngine, SessionState, final_report
from streams.topics import behaviour, control_topic, events_topic, reports_topic, results_topic, sessions
from streams.validation import control_refusal, observation_refusal

log = logging.getLogger(__name__)

engine = RiskEngine(PolicyBook(settings.risk.policy_dir, settings.risk.default_policy))

RISK = Stage("risk", record="Observation", errors="risk", refusals={LateObservation: "late observation"})
CONTROL = Stage("control", record="SessionControl", errors="control", ingress=True)


def _load(session_id: str) -> SessionState | None:
    stored = sessions.get(session_id)
    return SessionState.from_dict(stored) if stored else None


async def _finish(state: SessionState, reason: EndReason) -> None:
    """Final Result and report out, then the session's state released (tombstoned in the changelogs)."""
    key = state.session_id.encode()
    await results_topic.send(key=key, value=engine.result(state, final=True))
    report = final_report(engine, state, reason)
    await reports_topic.send(key=key, value=report)
    sessions.pop(state.session_id, None)
    behaviour.pop(state.session_id, None)
    log.info("session %s %s: %s at risk %.1f", state.session_id, reason, report["verdict"], report["final_risk_score"])


async def assess(event: EventT, observation: Observation) -> None:
    if reason := observation_refusal(observation):
        raise Refused(reason)
    session_id = observation["session_id"]
    state, result = engine.apply(_load(session_id), observation)
    sessions[session_id] = state.to_dict()
    await results_topic.send(key=session_id.encode(), value=result)
    if engine.ready_to_finish(state):
        await _finish(state, "ended")


async def control(event: EventT, record: SessionControl) -> None:
    session_id, action = record["session_id"], record["action"]
    if event.key != session_id.encode():
        raise Refused(f"control record key {event.key!r} is not its session id")
    received_ms = int(event.message.timestamp * 1000)
    if reason := control_refusal(record, received_ms, settings.ingress, engine.policies.policies):
        raise Refused(reason)
    state = _load(session_id)
    if action == "end" and state is None and record["last_sequence"] is None:
        # With last_sequence, an end may come before the session's first frame is scored (frames
        # queue behind detection): the end waits for it. Without, there is nothing to wait for.
        raise Refused(f"end of session {session_id!r}, which has not started or has already ended")
    if action == "start":
        sessions[session_id] = engine.start(state, record).to_dict()
    elif action == "end":
        state = engine.request_end(state, record)
        if engine.ready_to_finish(state):
            await _finish(state, "ended")
        else:
            sessions[session_id] = state.to_dict()
    elif state is not None and engine.is_idle(state, now_ms(), settings.risk.end_grace_s):
        # "expire": re-checked here, in order with the session's other records.
        await _finish(state, "ended" if state.status == "ending" else "expired")


@app.agent(events_topic)
async def assess_observations(stream: StreamT) -> None:
    await process(stream, RISK, assess)


@app.agent(control_topic)
async def control_sessions(stream: StreamT) -> None:
    await process(stream, CONTROL, control)


class ExpiryRequests:
    """Which idle sessions to ask to expire: each once, not on every tick, until its state changes.

    An expire that finds nothing to finish is not asked again, so no session, however it got stuck,
    makes the timer send control records forever."""

    def __init__(self) -> None:
        self._asked: dict[str, tuple[int | None, int | None]] = {}

    def due(self, idle: dict[str, SessionState]) -> list[str]:
        marks = {sid: (state.last_frame_wall_ms, state.end_requested_wall_ms) for sid, state in idle.items()}
        due = [sid for sid, mark in marks.items() if self._asked.get(sid) != mark]
        self._asked = marks  # sessions no longer idle, or gone, are forgotten
        return due


_expiry_requests = ExpiryRequests()


@app.timer(interval=settings.risk.expiry_check_s)
async def expire_idle_sessions() -> None:
    """Every worker, over the partitions it owns: ask for the expiry of sessions without frames."""
    now = now_ms()
    states = (SessionState.from_dict(stored) for stored in list(sessions.values()) if stored)
    idle = {state.session_id: state for state in states if engine.is_idle(state, now, settings.risk.end_grace_s)}
    for session_id in _expiry_requests.due(idle):
        state = idle[session_id]
        record = new_session_control(
            session_id, "expire", state.candidate_id, policy=state.policy, at_ms=now, source="timer"
        )
        await control_topic.send(key=session_id.encode(), value=record)
