"""frames -> vision -> events: one Observation (with its events) per frame, keyed by session id."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from streams.app import app, settings
from streams.codec import Undecodable
from streams.dead_letters import send_dead_letter
from streams.topics import events_topic, frames_topic
from streams.vision import ImageDecodeError, VisionPipeline

log = logging.getLogger(__name__)

pipeline = VisionPipeline(settings.vision)
# Inference leaves the event loop (MediaPipe releases the GIL): timers, commits and web views stay live.
_vision_pool = ThreadPoolExecutor(max_workers=settings.vision.threads, thread_name_prefix="vision")
vision_ready = asyncio.Event()


@app.task
async def warm_up_vision() -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(_vision_pool, pipeline.warm_up)
    vision_ready.set()
    log.info("vision warmed up: worker ready")


@app.agent(frames_topic)
async def detect(stream):
    loop = asyncio.get_running_loop()
    async for event in stream.events():
        frame = event.value
        if isinstance(frame, Undecodable):
            await send_dead_letter(event, "detection", f"bad Frame record: {frame.reason}")
            continue
        try:
            observation = await loop.run_in_executor(_vision_pool, pipeline.observe, frame)
        except ImageDecodeError as exc:
            await send_dead_letter(event, "detection", f"bad image: {exc}")
            continue
        except Exception as exc:  # a bug must cost one frame, not the partition
            log.exception("vision failed on %s #%s", frame["session_id"], frame["sequence"])
            await send_dead_letter(event, "detection", f"vision error: {type(exc).__name__}: {exc}")
            continue
        await events_topic.send(key=frame["session_id"].encode(), value=observation)
