"""`integrity bench flood`: one session floods, others go on; is the worker's memory flat, and do they?

One session sends frames far above the per-session limit (INTEGRITY_SESSION_MAX_FPS) for the whole run,
beside a few sessions at a webcam's rate. Reported: the worker's resident memory over time (the first
minute against the last: flat within 10 % is the target), the frame-to-result latency of the ordinary
sessions and the worker's input lag, and what became of the flood's frames (answered, refused).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from schemas.records import new_frame
from streams.bench.output import percentiles, print_table, write_json
from streams.bench.pipeline import webcam_jpegs
from streams.bench.stack import bench_stack
from streams.bench.usage import WorkerMeter
from streams.kafka.clients import session_publisher
from streams.kafka.reader import TopicReader
from streams.settings import Settings
from streams.stack.local import LocalStack

__all__ = ["FloodRun", "main", "run_flood"]

FLOODER = "flood-0000"
_SAMPLE_S = 5.0


@dataclass(frozen=True)
class FloodRun:
    seconds: float
    flood_fps: float
    sessions: int
    fps: float


async def _camera(settings: Settings, session_id: str, fps: float, seconds: float, sent: dict[str, int]) -> None:
    frames = webcam_jpegs()
    async with session_publisher(settings) as publisher:
        start, sequence = time.monotonic(), 0
        while time.monotonic() - start < seconds:
            delay = start + sequence / fps - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            frame = new_frame(session_id, sequence, frames[sequence % len(frames)], width=640, height=480)
            await publisher.send_frame(frame)
            sequence += 1
            sent[session_id] = sequence


def _input_lag_s(web_port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/health/", timeout=2) as response:
            lags = json.load(response).get("input_lag_s") or {}
    except urllib.error.HTTPError as exc:  # 503: not ready (behind), with the same body
        lags = json.load(exc).get("input_lag_s") or {}
    except OSError:
        return float("nan")
    return max(lags.values(), default=0.0)


async def _measure(stack: LocalStack, run: FloodRun, meter: WorkerMeter) -> dict[str, Any]:
    settings = stack.settings
    sent: dict[str, int] = {}
    ordinary = [f"calm-{i:04d}" for i in range(run.sessions)]
    cameras = [_camera(settings, FLOODER, run.flood_fps, run.seconds, sent)]
    cameras += [_camera(settings, name, run.fps, run.seconds, sent) for name in ordinary]
    latencies: list[tuple[float, float]] = []  # (seconds into the run, latency ms) of ordinary sessions
    answered_flood, refused_flood = 0, 0
    rss: list[tuple[float, float]] = []
    lags: list[float] = []
    started = next_sample = time.monotonic()
    async with (
        TopicReader(settings, settings.topics.results, "Result") as results,
        TopicReader(settings, settings.topics.dead_letter, "DeadLetter") as letters,
    ):
        producing = asyncio.gather(*cameras)
        try:
            while not producing.done() or time.monotonic() - started < run.seconds + 30:
                now = time.monotonic()
                for result in await results.poll(0.5):
                    if result["session_id"] == FLOODER:
                        answered_flood += 1
                    else:
                        latencies.append((now - started, result["timestamp_ms"] - result["captured_at_ms"]))
                refused_flood += sum(1 for letter in await letters.poll(0.05) if letter["key"] == FLOODER.encode())
                if now >= next_sample:
                    meter.sample()
                    rss.append((now - started, meter.process.memory_info().rss / 2**20))
                    lags.append(_input_lag_s(stack.worker.web_port))
                    next_sample += _SAMPLE_S
                    print(
                        f"\r{now - started:5.0f} s  rss {rss[-1][1]:7.1f} MB  lag {lags[-1]:5.1f} s  "
                        f"flood answered {answered_flood} refused {refused_flood}",
                        end="",
                        file=sys.stderr,
                        flush=True,
                    )
                if producing.done() and sum(sent[n] for n in ordinary) <= len(latencies):
                    break
        finally:
            producing.cancel()
    print(file=sys.stderr)
    minute = min(60.0, run.seconds / 3)
    first = [mb for t, mb in rss if t <= minute]
    last = [mb for t, mb in rss if t >= rss[-1][0] - minute]
    early = [ms for t, ms in latencies if t <= minute]
    late = [ms for t, ms in latencies if t >= run.seconds - minute]
    return {
        "flood_sent": sent.get(FLOODER, 0),
        "flood_answered": answered_flood,
        "flood_refused": refused_flood,
        "ordinary_sent": sum(sent.get(n, 0) for n in ordinary),
        "ordinary_answered": len(latencies),
        "latency_ms_first_minute": percentiles(early),
        "latency_ms_last_minute": percentiles(late),
        "max_input_lag_s": round(max(lags, default=0.0), 1),
        "rss_mb_first_minute": round(statistics.median(first), 1),
        "rss_mb_last_minute": round(statistics.median(last), 1),
        "rss_change_pct": round(100 * (statistics.median(last) / statistics.median(first) - 1), 1),
        "rss_mb_samples": [[round(t), round(mb, 1)] for t, mb in rss],
    }


def run_flood(run: FloodRun) -> dict[str, Any]:
    with bench_stack("integrity-flood-") as stack:
        assert stack.worker.process is not None
        figures = asyncio.run(_measure(stack, run, WorkerMeter(stack.worker.process.pid)))
        figures["worker_survived"] = stack.worker.process.poll() is None
    return {"run": asdict(run), **figures}


def main(seconds: float, flood_fps: float, sessions: int, fps: float, out: Path) -> int:
    figures = run_flood(FloodRun(seconds, flood_fps, sessions, fps))
    early, late = figures["latency_ms_first_minute"], figures["latency_ms_last_minute"]
    print_table(
        f"flood: one session at {flood_fps:g} fps beside {sessions} at {fps:g} fps for {seconds:g} s (one worker)",
        ["", "first minute", "last minute"],
        [
            ["worker RSS MB (median)", figures["rss_mb_first_minute"], figures["rss_mb_last_minute"]],
            ["ordinary sessions p50 ms", early["p50"], late["p50"]],
            ["ordinary sessions p95 ms", early["p95"], late["p95"]],
        ],
    )
    print(
        f"\nRSS change {figures['rss_change_pct']:+.1f} %; max input lag {figures['max_input_lag_s']} s; "
        f"ordinary frames answered {figures['ordinary_answered']}/{figures['ordinary_sent']}; flood frames "
        f"sent {figures['flood_sent']}, answered {figures['flood_answered']}, refused {figures['flood_refused']}; "
        f"worker {'survived' if figures['worker_survived'] else 'DIED'}"
    )
    write_json(out, {"flood": figures})
    return 0
