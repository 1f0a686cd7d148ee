"""`integrity bench pipeline`: N simulated candidates through the embedded broker and one worker.

Reports frames/s sustained, frame-to-result latency (capture timestamp to result timestamp), frames
still unanswered at the end (lag), dead letters, and the worker's CPU and peak resident memory.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from schemas.records import new_frame
from streams.bench.output import percentiles, print_table, write_json
from streams.bench.stack import bench_stack
from streams.kafka.clients import session_publisher
from streams.kafka.reader import TopicReader, collect
from streams.samples.scenes import SCENES, noisy_jpegs, scene_image
from streams.settings import Settings

__all__ = ["PipelineRun", "WorkerMeter", "main", "run_pipeline", "webcam_jpegs"]


@dataclass(frozen=True)
class PipelineRun:
    sessions: int
    fps: float
    seconds: float
    # After producing stops, wait this long at most for the last results.
    drain_s: float = 60.0


def webcam_jpegs(count: int = 24) -> list[bytes]:
    """Webcam-like JPEGs of the real photos (one face, no face, two faces), each slightly different."""
    return noisy_jpegs([scene_image(name) for name in SCENES], count, seed=3)


class WorkerMeter:
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
    async with session_publisher(settings) as publisher:

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
                image = frames[sequence % len(frames)]
                await publisher.send_frame(
                    new_frame(
                        session_id, sequence, image, width=640, height=480, candidate_id=f"cand-{index}", source="bench"
                    )
                )
                sequence += 1
                sent[0] += 1

        await asyncio.gather(*(candidate(i) for i in range(run.sessions)))


async def _measure(settings: Settings, run: PipelineRun, meter: WorkerMeter) -> dict[str, Any]:
    sent = [0]
    latencies: list[float] = []
    first_result = last_result = None
    started = time.monotonic()
    async with TopicReader(settings, settings.topics.results, "Result") as results:
        producing = asyncio.create_task(_produce(settings, run, webcam_jpegs(), sent))
        try:
            while True:
                arrived = await results.poll(0.5)
                meter.sample()
                for result in arrived:
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


def run_pipeline(run: PipelineRun) -> dict[str, Any]:
    """One run on a fresh embedded broker and a fresh worker; returns the figures."""
    with bench_stack("integrity-bench-") as stack:
        assert stack.worker.process is not None
        figures = asyncio.run(_measure(stack.settings, run, WorkerMeter(stack.worker.process.pid)))
        letters = asyncio.run(collect(stack.settings, stack.settings.topics.dead_letter, "DeadLetter", timeout_s=1))
        figures["dead_letters"] = len(letters)
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
