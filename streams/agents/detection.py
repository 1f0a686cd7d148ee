"""frames -> vision -> events: one Observation (with its behaviours and events) per frame, keyed by session id."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from faust.types import EventT, StreamT

from schemas.records import Frame
from streams.agents.stage import Redelivered, Refused, Stage, delivered, process
from streams.app import app, settings
from streams.redelivery import already_answered, answered_with
from streams.topics import behaviour, events_topic, frames_topic
from streams.validation import frame_refusal, note_received, session_refusal, spend_frame
from streams.vision import BehaviourAnalyser, ImageDecodeError, VisionPipeline
from streams.vision.tuning import backend_of
from streams.worker.metrics import count_frame, count_observation, describe_object_detector
from streams.worker.turns import session_turn

log = logging.getLogger(__name__)

pipeline = VisionPipeline(settings.vision)
analyser = BehaviourAnalyser(settings.behaviour, settings.vision)
# Inference leaves the event loop (MediaPipe and LiteRT release the GIL): timers, commits and web
# views stay live while a frame is analysed. One thread: the agent awaits one frame at a time, in order
# (batching frames across sessions with Faust's take_events was tried and dropped: in 0.15.3, reading
# event.value from its batches analysed one frame twice and skipped the next in integration runs).
_vision_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vision")
vision_ready = asyncio.Event()

STAGE = Stage("detection", record="Frame", errors="vision", refusals={ImageDecodeError: "bad image"}, ingress=True)


@app.task
async def warm_up_vision() -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(_vision_pool, pipeline.warm_up)
    vision_ready.set()
    if pipeline.objects.available:
        vision = settings.vision
        chosen = vision.yolo_choice or f"{backend_of(vision.yolo_weights)} ({vision.yolo_weights}), as configured"
        describe_object_detector(vision.yolo_weights, backend_of(vision.yolo_weights), chosen)
        objects = f"on: {chosen}"
    else:
        objects = f"OFF ({pipeline.objects.unavailable_reason})"
    log.info("vision warmed up, object detection %s: worker ready", objects)


async def analyse(event: EventT, frame: Frame) -> None:
    count_frame()
    session_id = frame["session_id"]
    if event.key != session_id.encode():
        # Per-session state lives on the partition of the session id: a frame keyed otherwise
        # would be analysed against another partition's state.
        raise Refused(f"frame key {event.key!r} is not its session id")
    received_ms = int(event.message.timestamp * 1000)
    if reason := frame_refusal(frame, received_ms, settings.ingress):
        raise Refused(reason)
    async with session_turn(session_id):
        await _analyse_in_turn(session_id, frame, received_ms)


async def _analyse_in_turn(session_id: str, frame: Frame, received_ms: int) -> None:
    state = behaviour.get(session_id)
    if state and already_answered(state.get("answered", []), frame["sequence"]):
        raise Redelivered(f"frame #{frame['sequence']} of session {session_id!r}")
    if reason := session_refusal(state, frame, received_ms, settings.ingress):
        raise Refused(reason)
    budget, reason = spend_frame(state.get("budget") if state else None, frame["captured_at_ms"], settings.ingress)
    if reason:
        raise Refused(reason, keep_payload=False)
    last_check = state.get("objects_check") if state else None
    observation, check = await asyncio.get_running_loop().run_in_executor(
        _vision_pool, pipeline.observe_in_session, frame, last_check
    )
    count_observation(observation)
    state = analyser.annotate(state, observation)
    # Beside "answered", in the same record: a frame analysed again after a crash is scheduled alike.
    state["objects_check"] = check
    note_received(state, received_ms)
    state["budget"] = budget
    state["answered"] = answered_with(state.get("answered", []), frame["sequence"])
    # The observation is out before the state says so (streams.redelivery).
    await delivered(events_topic, session_id.encode(), observation)
    behaviour[session_id] = state


@app.agent(frames_topic)
async def analyse_frames(stream: StreamT) -> None:
    await process(stream, STAGE, analyse)
