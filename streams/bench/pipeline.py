"""`integrity bench pipeline`: N simulated candidates through the embedded broker and one worker of one or
more processes (``integrity worker --processes N``), each count a fresh run of the same load.

Reports frames/s sustained, frame-to-result latency (capture timestamp to result timestamp), frames
still unanswered at the end (lag), dead letters, the worker's CPU and peak resident memory (in all and
per process), and after the run the state each session left: RocksDB on disk and changelog records.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from schemas.records import new_frame
from streams.bench.output import percentiles, print_table, write_json
from streams.bench.stack import bench_stack
from streams.bench.state import changelog_figures, rocksdb_bytes, state_line, state_per_session
from streams.bench.usage import WorkerTreeMeter
from streams.kafka.clients import session_publisher
from streams.kafka.reader import TopicReader, collect
from streams.samples.scenes import SCENES, noisy_jpegs, scene_image
from streams.settings import Settings

__all__ = ["HEADER", "PipelineRun", "main", "row", "run_pipeline", "webcam_jpegs"]


@dataclass(frozen=True)
class PipelineRun:
    sessions: int
    fps: float
    seconds: float
    # Worker processes (`integrity worker --processes N`).
    processes: int = 1
    # After producing stops, wait this long at most for the last results.
    drain_s: float = 60.0


def webcam_jpegs(count: int = 24) -> list[bytes]:
    """Webcam-like JPEGs of the real photos (one face, no face, two faces), each slightly different."""
    return noisy_jpegs([scene_image(name) for name in SCENES], count, seed=3)


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


async def _measure(settings: Settings, run: PipelineRun, meter: WorkerTreeMeter) -> dict[str, Any]:
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
        **meter.figures(wall),
        "wall_s": round(wall, 1),
    }


def run_pipeline(run: PipelineRun) -> dict[str, Any]:
    """One run on a fresh embedded broker and a fresh worker; returns the figures."""
    with bench_stack("integrity-bench-", run.processes) as stack:
        assert stack.worker.process is not None
        meter = WorkerTreeMeter(stack.worker.process.pid, run.processes)
        figures = asyncio.run(_measure(stack.settings, run, meter))
        letters = asyncio.run(collect(stack.settings, stack.settings.topics.dead_letter, "DeadLetter", timeout_s=1))
        figures["dead_letters"] = len(letters)
        # The state at rest: the worker stopped cleanly (its tables closed), the broker still up.
        stack.worker.stop()
        changelogs = asyncio.run(changelog_figures(stack.settings))
        figures["state"] = {
            **state_per_session(run.sessions, rocksdb_bytes(stack.worker.data_dir), changelogs),
            # Every copy on the box counts: with 2 or more processes, each keeps standbys of the others'.
            "standby_replicas": stack.settings.group.standby_replicas,
        }
    return {"run": asdict(run), **figures}


HEADER = [
    "processes",
    "sessions",
    "fps/session",
    "sent",
    "frames/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "lag",
    "dlq",
    "cpu",
    "cpu/process",
    "rss MB",
    "rss MB/process",
]


def row(figures: dict[str, Any]) -> list[Any]:
    """A run's line of the table: CPU and RSS in all (supervisor included) and of its busiest process."""
    run, latency = figures["run"], figures["latency_ms"]
    return [
        run["processes"],
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
        figures["cpu_cores_per_process_max"],
        figures["worker_peak_rss_mb"],
        figures["peak_rss_mb_per_process_max"],
    ]


def _holds(figures: dict[str, Any], bound_ms: float) -> bool:
    return figures["latency_ms"]["p95"] <= bound_ms and figures["lag_at_end"] == 0


def _attempt(run: PipelineRun, runs: list[dict[str, Any]]) -> dict[str, Any]:
    print(
        f"{run.processes} process(es), {run.sessions} sessions at {run.fps:g} fps for {run.seconds:g} s...",
        file=sys.stderr,
        flush=True,
    )
    figures = run_pipeline(run)
    runs.append(figures)
    return figures


def _find_max(
    sessions: int, fps: float, seconds: float, bound_ms: float, processes: int, runs: list[dict[str, Any]]
) -> int | None:
    """Double the session count until the bound breaks, then bisect between the last good and the first bad."""

    def attempt(n: int) -> bool:
        return _holds(_attempt(PipelineRun(n, fps, seconds, processes), runs), bound_ms)

    good, bad = None, max(sessions, 1)
    while attempt(bad):
        good, bad = bad, bad * 2
    if good is None:
        return None
    while bad - good > max(1, good // 8):
        middle = (good + bad) // 2
        if attempt(middle):
            good = middle
        else:
            bad = middle
    return good


TITLE = (
    "pipeline (embedded broker, one worker of `processes` processes; cpu: cores busy in all and in its busiest "
    "process; rss: peak in all and of its largest process)"
)


def _print_state(runs: Sequence[dict[str, Any]]) -> None:
    standbys = runs[0]["state"]["standby_replicas"] if runs else 0
    print(
        "\nstate per session after the run, measured on the embedded broker (which does not compact: its "
        "changelogs keep every write); RocksDB counts every copy on disk, with 2 or more processes the "
        f"standby copies too (INTEGRITY_STANDBY_REPLICAS={standbys})"
    )
    for figures in runs:
        print(state_line(figures["run"]["processes"], figures["run"]["sessions"], figures["state"]))


def main(
    sessions: int,
    fps: float,
    seconds: float,
    find_max: bool,
    bound_ms: float,
    out: Path,
    processes: Sequence[int] = (1,),
) -> int:
    runs: list[dict[str, Any]] = []
    if find_max:
        found = [
            {"processes": count, "largest_sessions": _find_max(sessions, fps, seconds, bound_ms, count, runs)}
            for count in processes
        ]
        print_table(TITLE, HEADER, [row(f) for f in runs])
        _print_state(runs)
        print(f"\nlargest session count with p95 frame-to-result <= {bound_ms:g} ms and no lag:")
        for each in found:
            print(f"  {each['processes']} process(es): {each['largest_sessions']}")
        write_json(out, {"pipeline": runs, "find_max": {"bound_ms": bound_ms, "largest": found}})
        return 0
    for count in processes:
        _attempt(PipelineRun(sessions, fps, seconds, count), runs)
    print_table(TITLE, HEADER, [row(f) for f in runs])
    _print_state(runs)
    write_json(out, {"pipeline": runs})
    return 0
