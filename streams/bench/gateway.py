"""`integrity bench gateway`: what the gateway adds, beside the Kafka-native path, in one run.

On one embedded broker and one worker, the same candidates (N sessions at F frames/s, webcam-like JPEGs)
send frames two ways, one after the other:

1. Kafka-native: aiokafka produces each Frame and a reader follows the results topic;
2. gateway: one WebSocket per session to ``integrity gateway`` (its own process), Results pushed back.

For each frame the client measures the round trip, from just before sending to its Result arriving.
The worker's own time is in both, and it varies with the load more than anything the gateway does, so
each round trip is split: the worker's part (from the frame's capture time, stamped as it is sent by the
client or by the gateway, to its Result's timestamp) and the rest, outside the worker (sending, the
broker, following the results, pushing them back). The gateway's added latency is the difference of the
two paths' outside parts, percentile by percentile. Its CPU is sampled from its process and given per 50
frames/s.
Targets (the gateway issue): under 20 ms p95 added, under 10 % of a core per 50 frames/s.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from schemas.records import new_frame
from streams.bench.output import percentiles, print_table, write_json
from streams.bench.pipeline import webcam_jpegs
from streams.bench.stack import bench_stack
from streams.bench.usage import WorkerMeter
from streams.kafka.clients import session_publisher
from streams.kafka.reader import TopicReader
from streams.settings import Settings
from streams.stack.processes import GatewayProcess

__all__ = ["main"]

# The gateway's targets, from the gateway issue.
TARGET_ADDED_P95_MS = 20.0
TARGET_CPU_PERCENT_PER_50_FPS = 10.0
# The gateway's CPU with no frame coming (following the topics, uvicorn): measured first, for how much of
# a loaded gateway's CPU is the frames'.
IDLE_S = 10.0


@dataclass(frozen=True)
class Load:
    sessions: int
    fps: float
    seconds: float


def _schedule(load: Load, index: int) -> float:
    """When candidate ``index`` sends its first frame: spread over one interval, as cameras are not in phase."""
    return time.monotonic() + (index / load.sessions) / load.fps


async def _paced(load: Load, index: int, send: Any) -> None:
    start, sequence = _schedule(load, index), 0
    while time.monotonic() - start < load.seconds:
        if (delay := start + sequence / load.fps - time.monotonic()) > 0:
            await asyncio.sleep(delay)
        await send(sequence)
        sequence += 1


async def _kafka_native(
    settings: Settings, load: Load, images: list[bytes], tag: str, sent: list[int]
) -> list[tuple[float, float]]:
    sent_at: dict[tuple[str, int], float] = {}
    trips: list[tuple[float, float]] = []
    async with TopicReader(settings, settings.topics.results, "Result", from_beginning=False) as results:
        await results.poll(0.5)  # positioned before the first frame

        async def candidate(index: int) -> None:
            session = f"{tag}-{index:03d}"

            async def send(sequence: int) -> None:
                frame = new_frame(session, sequence, images[sequence % len(images)], width=640, height=480)
                sent_at[(session, sequence)] = time.perf_counter()
                await publisher.send_frame(frame)
                sent[0] += 1

            await _paced(load, index, send)

        async with session_publisher(settings) as publisher:
            producing = asyncio.gather(*(candidate(i) for i in range(load.sessions)))
            deadline = time.monotonic() + load.seconds + 60
            while time.monotonic() < deadline:
                for result in await results.poll(0.05):
                    started = sent_at.get((result["session_id"], result["frame_sequence"]))
                    if started is not None:
                        trips.append(_trip(started, result))
                if producing.done() and len(trips) >= len(sent_at):
                    break
            await producing
    return trips


async def _through_gateway(
    gateway: GatewayProcess, load: Load, images: list[bytes], tag: str, sent: list[int]
) -> list[tuple[float, float]]:
    trips: list[tuple[float, float]] = []
    url = gateway.url.replace("http://", "ws://") + "/ws/stream"

    async def candidate(index: int) -> None:
        sent_at: dict[int, float] = {}
        async with connect(url, max_size=None) as ws:
            await ws.send(json.dumps({"session_id": f"{tag}-{index:03d}", "candidate_id": f"cand-{index}"}))
            json.loads(await ws.recv())

            async def send(sequence: int) -> None:
                sent_at[sequence] = time.perf_counter()
                await ws.send(images[sequence % len(images)])
                sent[0] += 1

            async def receive() -> None:
                async for message in ws:
                    body = json.loads(message)
                    if body["type"] == "result" and not body["final"]:
                        trips.append(_trip(sent_at[body["frame_sequence"]], body))
                    if body["type"] == "report":
                        return

            receiving = asyncio.create_task(receive())
            await _paced(load, index, send)
            await ws.send(json.dumps({"type": "end"}))
            await asyncio.wait_for(receiving, 90)

    await asyncio.gather(*(candidate(i) for i in range(load.sessions)))
    return trips


def _trip(sent_at: float, result: dict[str, Any]) -> tuple[float, float]:
    """(round trip, the part outside the worker) in ms. The worker's part runs from the frame's capture
    time, which the client (Kafka-native) or the gateway stamps as it sends, to the Result's timestamp."""
    round_trip = (time.perf_counter() - sent_at) * 1000
    return round_trip, round_trip - (result["timestamp_ms"] - result["captured_at_ms"])


def _figures(trips: list[tuple[float, float]], sent: int, wall_s: float) -> dict[str, Any]:
    return {
        "frames_sent": sent,
        "results": len(trips),
        "frames_per_s": round(len(trips) / wall_s, 1),
        "round_trip_ms": percentiles([t[0] for t in trips]),
        "outside_worker_ms": percentiles([t[1] for t in trips]),
    }


def main(session_counts: list[int], fps: float, seconds: float, out: Path) -> int:
    images = webcam_jpegs()
    runs: list[dict[str, Any]] = []
    with bench_stack("integrity-bench-gateway-") as stack:
        log = Path(tempfile.mkdtemp(prefix="integrity-bench-gateway-log-")) / "gateway.log"
        env = {**stack.worker.env, "INTEGRITY_LOG_LEVEL": "warning"}
        with GatewayProcess(env, log) as gateway:
            assert gateway.process is not None and stack.worker.process is not None
            print(f"the gateway idle for {IDLE_S:g} s...", file=sys.stderr, flush=True)
            idle = WorkerMeter(gateway.process.pid)
            time.sleep(IDLE_S)
            idle_cores = idle.cpu_seconds() / IDLE_S
            for count in session_counts:
                load = Load(count, fps, seconds)
                print(f"{count} sessions at {fps:g} frames/s, Kafka-native...", file=sys.stderr, flush=True)
                started = time.monotonic()
                sent = [0]
                native = asyncio.run(_kafka_native(stack.settings, load, images, f"native{count}", sent))
                native_figures = _figures(native, sent[0], time.monotonic() - started)
                print(f"{count} sessions at {fps:g} frames/s, through the gateway...", file=sys.stderr, flush=True)
                meter = WorkerMeter(gateway.process.pid)
                started = time.monotonic()
                sent = [0]
                through = asyncio.run(_through_gateway(gateway, load, images, f"gw{count}", sent))
                wall = time.monotonic() - started
                gateway_figures = _figures(through, sent[0], wall)
                cores = meter.cpu_seconds() / wall
                rate = max(gateway_figures["frames_per_s"], 1e-9)
                per_50 = 100 * cores * 50 / rate
                per_50_above_idle = 100 * max(cores - idle_cores, 0.0) * 50 / rate
                added = {
                    p: round(gateway_figures["outside_worker_ms"][p] - native_figures["outside_worker_ms"][p], 1)
                    for p in ("p50", "p95")
                }
                runs.append(
                    {
                        "sessions": count,
                        "fps_per_session": fps,
                        "kafka_native": native_figures,
                        "gateway": gateway_figures,
                        "added_ms": added,
                        "gateway_cpu_percent_per_50_fps": round(per_50, 1),
                        "gateway_cpu_percent_per_50_fps_above_idle": round(per_50_above_idle, 1),
                        "gateway_idle_cpu_percent": round(100 * idle_cores, 2),
                    }
                )
    rows = []
    for run in runs:
        for path in ("kafka_native", "gateway"):
            figures = run[path]
            trip = figures["round_trip_ms"]
            rows.append(
                [
                    run["sessions"],
                    path,
                    figures["frames_sent"],
                    figures["results"],
                    figures["frames_per_s"],
                    trip["p50"],
                    trip["p95"],
                    figures["outside_worker_ms"]["p50"],
                    figures["outside_worker_ms"]["p95"],
                ]
            )
    print_table(f"round trip, frame sent to its Result ({fps:g} frames/s per session)", HEADER, rows)
    added_rows = [
        [
            r["sessions"],
            r["added_ms"]["p50"],
            r["added_ms"]["p95"],
            r["gateway_cpu_percent_per_50_fps"],
            r["gateway_cpu_percent_per_50_fps_above_idle"],
        ]
        for r in runs
    ]
    print_table(
        f"what the gateway adds (targets: p95 < {TARGET_ADDED_P95_MS:g} ms, "
        f"CPU < {TARGET_CPU_PERCENT_PER_50_FPS:g} % of a core per 50 frames/s)",
        ["sessions", "added p50 ms", "added p95 ms", "gateway CPU % per 50 fps", "same, above its idle"],
        added_rows,
    )
    write_json(out, {"gateway": runs})
    return 0


HEADER = ["sessions", "path", "sent", "results", "frames/s", "p50 ms", "p95 ms", "outside p50", "outside p95"]
