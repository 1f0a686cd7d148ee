"""`integrity bench pipeline`: N simulated candidates through the embedded broker and one worker.

Reports frames/s sustained, frame-to-result latency (capture timestamp to result timestamp), frames
still unanswered at the end (lag), dead letters, and the worker's CPU and peak resident memory.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil
from aiokafka import AIOKafkaConsumer

from bench.report import percentiles, print_table, write_json
from producers.photos import noisy_jpegs
from producers.publisher import FramePublisher, now_ms
from producers.sample import SCENES, scene_image
from schemas import codec_for
from streams.admin import ensure_topics
from streams.broker import EmbeddedBroker, free_port
from streams.config import Settings, load_settings
from streams.kafka_clients import consumer_options
from streams.worker_process import WorkerProcess

__all__ = ["PipelineRun", "main", "run_pipeline"]


@dataclass(frozen=True)
class PipelineRun:
    sessions: int
    fps: float
    seconds: float
    # After producing stops, wait this long at most for the last results.
    drain_s: float = 60.0


def _frames(count: int = 24) -> list[bytes]:
    """Webcam-like JPEGs of the real photos (one face, no face, two faces), each slightly different."""
    return noisy_jpegs([scene_image(name) for name in SCENES], count, seed=3)


class _WorkerMeter:
    """CPU seconds and peak RSS of the worker process, sampled while the run lasts."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.cpu_start = sum(self.process.cpu_times()[:2])
        self.peak_rss = self.process.memory_info().rss

    def sample(self) -> None:
        self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)

    def cpu_seconds(self) -> float:
        return sum(self.process.cpu_times()[:2]) - self.cpu_start


async def _produce(settings: Settings, run: PipelineRun, frames: list[bytes], sent: list[int]) -> None:
    codec = codec_for("Frame")
    async with FramePublisher(settings) as publisher:

        async def candidate(index: int) -> None:
            session_id = f"bench-{index:04d}"
            interval = 1.0 / run.fps if run.fps > 0 else 0.0
            # Spread the candidates over one frame interval, as real cameras are not in phase.
            start = time.monotonic() + (index / max(run.sessions, 1)) * interval
            sequence = 0
            while time.monotonic() - start < run.seconds:
                if interval:
                    delay = start + sequence * interval - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                record = {
                    "session_id": session_id,
                    "candidate_id": f"cand-{index}",
                    "sequence": sequence,
                    "captured_at_ms": now_ms(),
                    "image": frames[sequence % len(frames)],
                    "encoding": "JPEG",
                    "width": 640,
                    "height": 480,
                    "source": "bench",
                }
                await publisher.send_raw(settings.topics.frames, session_id, codec.encode(record))
                sequence += 1
                sent[0] += 1

        await asyncio.gather(*(candidate(i) for i in range(run.sessions)))


async def _measure(settings: Settings, run: PipelineRun, meter: _WorkerMeter) -> dict[str, Any]:
    codec = codec_for("Result")
    consumer = AIOKafkaConsumer(
        settings.topics.results, group_id=None, auto_offset_reset="earliest", **consumer_options(settings)
    )
    await consumer.start()
    sent = [0]
    latencies: list[float] = []
    first_result = last_result = None
    started = time.monotonic()
    producing = asyncio.create_task(_produce(settings, run, _frames(), sent))
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            meter.sample()
            for messages in batches.values():
                for message in messages:
                    result = codec.decode(message.value)
                    latencies.append(result["timestamp_ms"] - result["captured_at_ms"])
                    last_result = time.monotonic()
                    first_result = first_result or last_result
            if producing.done():
                producing.result()
                if len(latencies) >= sent[0] or time.monotonic() - started > run.seconds + run.drain_s:
                    break
            if sys.stderr.isatty():
                print(f"\rsent {sent[0]}, results {len(latencies)}", end="", file=sys.stderr, flush=True)
    finally:
        producing.cancel()
        await consumer.stop()
    wall = time.monotonic() - started
    window = (last_result - first_result) if first_result and last_result and last_result > first_result else wall
    return {
        "frames_sent": sent[0],
        "results": len(latencies),
        "lag_at_end": sent[0] - len(latencies),
        "frames_per_s": round(len(latencies) / window, 1) if window else 0.0,
        "latency_ms": percentiles(latencies),
        "worker_cpu_cores": round(meter.cpu_seconds() / wall, 2),
        "worker_peak_rss_mb": round(meter.peak_rss / 2**20, 1),
        "wall_s": round(wall, 1),
    }


async def _dead_letters(settings: Settings) -> int:
    consumer = AIOKafkaConsumer(
        settings.topics.dead_letter, group_id=None, auto_offset_reset="earliest", **consumer_options(settings)
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=1000)
        return sum(len(messages) for messages in batches.values())
    finally:
        await consumer.stop()


def run_pipeline(run: PipelineRun) -> dict[str, Any]:
    """One run on a fresh embedded broker and a fresh worker; returns the figures."""
    workdir = Path(tempfile.mkdtemp(prefix="integrity-bench-"))
    broker = EmbeddedBroker("127.0.0.1", free_port(), log_path=workdir / "broker.log")
    worker = WorkerProcess(
        WorkerProcess.child_env(
            f"127.0.0.1:{broker.port}", INTEGRITY_EMBEDDED_BROKER="1", INTEGRITY_LOG_LEVEL="warning"
        ),
        web_port=free_port(),
        data_dir=workdir / "worker",
        log_path=workdir / "worker.log",
    )
    try:
        broker.start()
        settings = load_settings(
            {"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers, "INTEGRITY_EMBEDDED_BROKER": "1"}
        )
        asyncio.run(ensure_topics(settings))
        worker.start()
        worker.wait_ready()
        assert worker.process is not None
        figures = asyncio.run(_measure(settings, run, _WorkerMeter(worker.process.pid)))
        figures["dead_letters"] = asyncio.run(_dead_letters(settings))
    except BaseException:
        worker.stop()
        broker.stop()
        print(f"bench failed; broker and worker logs kept in {workdir}", file=sys.stderr)
        raise
    worker.stop()
    broker.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    return {"run": asdict(run), **figures}


def _row(figures: dict[str, Any]) -> list[Any]:
    run, latency = figures["run"], figures["latency_ms"]
    return [
        run["sessions"],
        run["fps"] or "max",
        figures["frames_sent"],
        figures["frames_per_s"],
        latency["p50"],
        latency["p95"],
        latency["p99"],
        figures["lag_at_end"],
        figures["dead_letters"],
        figures["worker_cpu_cores"],
        figures["worker_peak_rss_mb"],
    ]


HEADER = ["sessions", "fps/session", "sent", "frames/s", "p50 ms", "p95 ms", "p99 ms", "lag", "dlq", "cpu", "rss MB"]


def _holds(figures: dict[str, Any], bound_ms: float) -> bool:
    return figures["latency_ms"]["p95"] <= bound_ms and figures["lag_at_end"] == 0


def _find_max(sessions: int, fps: float, seconds: float, bound_ms: float) -> tuple[list[dict[str, Any]], int | None]:
    """Double the session count until the bound breaks, then bisect between the last good and the first bad."""
    runs: list[dict[str, Any]] = []

    def attempt(n: int) -> bool:
        print(f"trying {n} sessions at {fps:g} fps for {seconds:g} s...", file=sys.stderr, flush=True)
        figures = run_pipeline(PipelineRun(n, fps, seconds))
        runs.append(figures)
        return _holds(figures, bound_ms)

    good, bad = None, max(sessions, 1)
    while attempt(bad):
        good, bad = bad, bad * 2
    if good is None:
        return runs, None
    while bad - good > max(1, good // 8):
        middle = (good + bad) // 2
        if attempt(middle):
            good = middle
        else:
            bad = middle
    return runs, good


def main(sessions: int, fps: float, seconds: float, find_max: bool, bound_ms: float, out: Path) -> int:
    if find_max:
        runs, best = _find_max(sessions, fps, seconds, bound_ms)
        print_table("pipeline (embedded broker, one worker)", HEADER, [_row(f) for f in runs])
        print(f"\nlargest session count with p95 frame-to-result <= {bound_ms:g} ms and no lag: {best}")
        write_json(out, {"pipeline": runs, "find_max": {"bound_ms": bound_ms, "largest_sessions": best}})
        return 0
    figures = run_pipeline(PipelineRun(sessions, fps, seconds))
    print_table("pipeline (embedded broker, one worker)", HEADER, [_row(figures)])
    write_json(out, {"pipeline": [figures]})
    return 0
