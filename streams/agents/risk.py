"""events -> sessions table -> results; session control -> lifecycle -> final results and reports.

Every table write happens inside an agent, on the partition of the record being processed: the idle
timer only *asks* for an expiry, by sending an ``expire`` control record for the session.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from faust.streams import _current_event, current_event
from faust.types import EventT, StreamT

from schemas.records import EndReason, Observation, SessionControl, new_session_control, now_ms
from streams.agents.policies import book, follower
from streams.agents.stage import Redelivered, Refused, Stage, delivered, process, sent
from streams.app import app, settings
from streams.kafka.partitioning import partition_of
from streams.redelivery import AnswersOnTheirWay, already_answered, answered_with, unconfirmed_answer
from streams.risk import LateObservation, RiskEngine, SessionState, ended_session, final_report, is_ended
from streams.risk.lifecycle import ExpiryRequests, ended_refusal, expiry_mark, retention_over
from streams.topics import behaviour, control_topic, events_topic, reports_topic, results_topic, sessions
from streams.validation import control_refusal, observation_refusal
from streams.vision.behaviour import BehaviourAnalyser
from streams.vision.screen import screen_from_metadata
from streams.worker.in_hand import when_put_down
from streams.worker.metrics import count_final_report, count_result
from streams.worker.progress import caught_up_to
from streams.worker.turns import session_turn

log = logging.getLogger(__name__)

# The policy files and every version published since (streams.agents.policies).
engine = RiskEngine(book)

# Results sent and not yet acknowledged (streams.redelivery): the agent does not wait for each.
_answers = AnswersOnTheirWay()
# The last observation written per session whose state keeps Results, for the write that drops them
# once they are out (``_settle_answers``): a table is written in the context of its partition's record.
_last_written: dict[str, EventT] = {}

RISK = Stage("risk", record="Observation", errors="risk", refusals={LateObservation: "late observation"})
CONTROL = Stage("control", record="SessionControl", errors="control", ingress=True)


def _stored(session_id: str) -> dict[str, Any] | None:
    stored: dict[str, Any] | None = sessions.get(session_id)
    return stored or None


def _live(stored: dict[str, Any] | None) -> SessionState | None:
    """The session's live state from its table entry; None for a session not started, or ended."""
    return SessionState.from_dict(stored) if stored and not is_ended(stored) else None


def _idle(state: SessionState, now: int) -> bool:
    """Due to finish without more frames, given how far this worker has analysed the session's frames and
    scored their observations (broker time): an end waits for every frame produced before it."""
    partition = partition_of(state.session_id.encode(), settings.topics.partitions)
    done = min(
        caught_up_to(app.consumer, topic, partition, now) for topic in (settings.topics.frames, settings.topics.events)
    )
    return engine.is_idle(state, now, settings.risk.end_grace_s, done)


async def _finish(state: SessionState, reason: EndReason) -> None:
    """Final Result and report out; the session's state becomes its ended record (kept for
    INTEGRITY_RISK_ENDED_RETENTION_S, so a late record cannot start it again and get a second report)."""
    key = state.session_id.encode()
    # The ended record keeps no unconfirmed Results: those that failed are sent again, the rest awaited.
    failed = _answers.failed(state.session_id)
    for answer in state.unconfirmed:
        if answer["frame_sequence"] in failed:
            await _send_again(state.session_id, answer)
    await _answers.all_out(state.session_id)
    await delivered(results_topic, key, engine.final_result(state))
    report = final_report(engine, state, reason)
    await delivered(reports_topic, key, report)
    count_final_report(report)
    sessions[state.session_id] = ended_session(state, report, now_ms())
    _last_written.pop(state.session_id, None)
    behaviour.pop(state.session_id, None)
    log.info("session %s %s: %s at risk %.1f", state.session_id, reason, report["verdict"], report["final_risk_score"])


def _refuse_if_ended(stored: dict[str, Any] | None, what: str) -> None:
    if reason := ended_refusal(stored, what):
        raise Refused(reason)


async def assess(event: EventT, observation: Observation) -> asyncio.Future[Any] | None:
    if reason := observation_refusal(observation):
        raise Refused(reason)
    await follower.wait_ready()  # the policies published before this worker started, read
    async with session_turn(observation["session_id"]):
        return await _assess_in_turn(observation)


async def _assess_in_turn(observation: Observation) -> asyncio.Future[Any] | None:
    """Score the observation and send its Result; returns the Result's acknowledgement, still to come
    (the record is acknowledged then), or None once the session is finished."""
    session_id, sequence = observation["session_id"], observation["frame_sequence"]
    key = session_id.encode()
    stored = _stored(session_id)
    if stored and already_answered(stored.get("answered", []), sequence):
        answer = unconfirmed_answer(stored.get("unconfirmed", []), sequence)
        if answer is not None and _answers.to_send_again(session_id, sequence):
            # Its Result may never have reached the broker (a worker died with it on its way): again.
            await _send_again(session_id, answer)
        raise Redelivered(f"observation of frame #{sequence} of session {session_id!r}")
    _refuse_if_ended(stored, f"frame #{sequence}")
    live = _live(stored)
    if live and live.policy_version is not None and engine.policies.find(live.policy, live.policy_version) is None:
        # Started on another worker with a version published a moment ago: read it before judging.
        await follower.caught_up()
    state, result = engine.apply(live, observation)
    state.answered = answered_with(state.answered, sequence)
    # Not waited for: the state keeps the Result until it is seen out (streams.redelivery).
    out = await sent(results_topic, key, result)
    count_result(result)
    state.unconfirmed = _answers.unconfirmed(session_id, state.unconfirmed, dict(result), out)
    sessions[session_id] = state.to_dict()
    if (event := current_event()) is not None:
        _last_written[session_id] = event
    if engine.ready_to_finish(state):
        await _finish(state, "ended")
        return None
    return out


async def _send_again(session_id: str, answer: dict[str, Any]) -> None:
    await delivered(results_topic, session_id.encode(), answer)
    _answers.sent_again(session_id, answer["frame_sequence"])


def _settle_answers() -> None:
    """Every Result out (a stop or a rebalance waited for them): each session's state written without
    the ones it still keeps, so that their records, coming again, are skipped rather than answered twice."""
    for session_id, event in list(_last_written.items()):
        stored = _stored(session_id)
        kept = (stored or {}).get("unconfirmed", [])
        still = _answers.still_unconfirmed(session_id, kept)
        if stored and len(still) < len(kept):
            token = _current_event.set(weakref.ref(event))
            try:
                sessions[session_id] = {**stored, "unconfirmed": still}
            finally:
                _current_event.reset(token)
        _last_written.pop(session_id, None)


when_put_down(_settle_answers)


async def control(event: EventT, record: SessionControl) -> None:
    session_id = record["session_id"]
    if event.key != session_id.encode():
        raise Refused(f"control record key {event.key!r} is not its session id")
    received_ms = int(event.message.timestamp * 1000)
    await follower.wait_ready()
    if record["action"] == "start" and engine.policies.find(record.get("policy") or engine.policies.default) is None:
        # A policy (or version) this worker has not read yet: one published a moment ago counts. Only
        # then: the round trip would hold the start behind the session's first observations, which
        # would then be judged by the default policy. A known name takes the newest version read (the
        # follower reads the topic continuously; "name@version" pins a version just published).
        await follower.caught_up()
    if reason := control_refusal(record, received_ms, settings.ingress, engine.policies):
        raise Refused(reason)
    async with session_turn(session_id):
        await _control_in_turn(record, received_ms)


async def _control_in_turn(record: SessionControl, received_ms: int) -> None:
    session_id, action = record["session_id"], record["action"]
    stored = _stored(session_id)
    if action == "expire":
        await _expire(session_id, stored)
        return
    if action == "end" and stored and is_ended(stored) and stored.get("end_requested_wall_ms") == received_ms:
        raise Redelivered(f"end of session {session_id!r}, already answered by its final report")
    _refuse_if_ended(stored, "the " + action)
    state = _live(stored)
    if action == "end" and state is None and record["last_sequence"] is None:
        # With last_sequence, an end may come before the session's first frame is scored (frames
        # queue behind detection): the end waits for it. Without, there is nothing to wait for.
        raise Refused(f"end of session {session_id!r}, which has not started or has already ended")
    if action == "start":
        sessions[session_id] = engine.start(state, record).to_dict()
        if screen := screen_from_metadata(record["metadata"]):
            _restart_baseline(session_id, screen)
        return
    if action == "rebaseline":
        if state is None:
            raise Refused(f"rebaseline of session {session_id!r}, which has not started or has already ended")
        _restart_baseline(session_id, screen_from_metadata(record["metadata"]))
        return
    # The end's broker time: frames produced before it are waited for, however far detection is behind.
    ending = engine.request_end(state, record, now_ms=received_ms)
    if engine.ready_to_finish(ending):
        await _finish(ending, "ended")
    else:
        sessions[session_id] = ending.to_dict()


def _restart_baseline(session_id: str, screen: dict[str, Any] | None) -> None:
    """The session's gaze baseline learnt again from its next frames (on its screen, when given).

    The behaviour table is the detection agent's; this runs in the session's turn, as its frames do."""
    behaviour[session_id] = BehaviourAnalyser.rebaselined(behaviour.get(session_id), screen)


async def _expire(session_id: str, stored: dict[str, Any] | None) -> None:
    """A worker's timer asks; re-checked here, in order with the session's other records."""
    now = now_ms()
    if stored and is_ended(stored):
        if retention_over(stored, now, settings.risk.ended_retention_s):
            sessions.pop(session_id, None)
        return
    state = _live(stored)
    if state and _idle(state, now):
        await _finish(state, "ended" if state.status == "ending" else "expired")


@app.agent(events_topic)
async def assess_observations(stream: StreamT) -> None:
    await process(stream, RISK, assess)


@app.agent(control_topic)
async def control_sessions(stream: StreamT) -> None:
    await process(stream, CONTROL, control)


_expiry_requests = ExpiryRequests()


@app.timer(interval=settings.risk.expiry_check_s)
async def expire_idle_sessions() -> None:
    """Every worker, over the partitions it owns: ask for the expiry of idle sessions, and for the
    removal of ended ones past their retention."""
    now = now_ms()
    retention_s = settings.risk.ended_retention_s
    marks = {
        sid: expiry_mark(stored, now, retention_s, lambda state: _idle(state, now))
        for sid, stored in list(sessions.items())
        if stored
    }
    for session_id in _expiry_requests.due({sid: mark for sid, mark in marks.items() if mark is not None}):
        stored = sessions.get(session_id) or {}
        record = new_session_control(
            session_id,
            "expire",
            stored.get("candidate_id", ""),
            policy=stored.get("policy", ""),
            at_ms=now,
            source="timer",
        )
        await control_topic.send(key=session_id.encode(), value=record)
