"""frames -> vision -> events: one Observation (with its behaviours and events) per frame, keyed by session id."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from streams.app import app, settings
from streams.codec import Undecodable
from streams.dead_letters import send_dead_letter
from streams.topics import behaviour, events_topic, frames_topic
from streams.vision import BehaviourAnalyser, ImageDecodeError, VisionPipeline

log = logging.getLogger(__name__)

pipeline = VisionPipeline(settings.vision)
analyser = BehaviourAnalyser(settings.behaviour)
# Inference leaves the event loop (MediaPipe and LiteRT release the GIL): timers, commits and web
# views stay live while a frame is analysed.
_vision_pool = ThreadPoolExecutor(max_workers=settings.vision.vision_threads, thread_name_prefix="vision")
vision_ready = asyncio.Event()


@app.task
async def warm_up_vision() -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(_vision_pool, pipeline.warm_up)
    vision_ready.set()
    objects = "on" if pipeline.objects.available else f"OFF ({pipeline.objects.unavailable_reason})"
    log.info("vision warmed up, object detection %s: worker ready", objects)


@app.agent(frames_topic)
async def detect(stream):
    loop = asyncio.get_running_loop()
    async for event in stream.events():
        frame = event.value
        if isinstance(frame, Undecodable):
            await send_dead_letter(event, "detection", f"bad Frame record: {frame.reason}")
            continue
        session_id = frame["session_id"]
        if event.key != session_id.encode():
            # Per-session state lives on the partition of the session id: a frame keyed otherwise
            # would be analysed against another partition's state.
            await send_dead_letter(event, "detection", f"frame key {event.key!r} is not its session id")
            continue
        try:
            observation = await loop.run_in_executor(_vision_pool, pipeline.observe, frame)
            behaviour[session_id] = analyser.annotate(behaviour.get(session_id), observation)
        except ImageDecodeError as exc:
            await send_dead_letter(event, "detection", f"bad image: {exc}")
            continue
        except Exception as exc:  # a bug must cost one frame, not the partition
            log.exception("vision failed on %s #%s", session_id, frame["sequence"])
            await send_dead_letter(event, "detection", f"vision error: {type(exc).__name__}: {exc}")
            continue
        await events_topic.send(key=session_id.encode(), value=observation)
