"""CPU and resident memory of the processes under test, sampled while a run lasts: one process
(``WorkerMeter``), or a worker with its supervised children (``WorkerTreeMeter``).

CPU is user + system seconds over the run's wall time: cores busy on average. RSS counts shared pages
once per process, so a total over processes overstates what the box needs by the pages they share.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import psutil

__all__ = ["Sample", "UsageTally", "WorkerMeter", "WorkerTreeMeter"]


class WorkerMeter:
    """CPU seconds and peak RSS of one process, sampled while the run lasts."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.cpu_start = sum(self.process.cpu_times()[:2])
        self.peak_rss = self.process.memory_info().rss

    def sample(self) -> None:
        self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)

    def cpu_seconds(self) -> float:
        return sum(self.process.cpu_times()[:2]) - self.cpu_start


class Sample(NamedTuple):
    cpu_s: float  # user + system since the process started
    rss: int  # bytes


@dataclass
class _Seen:
    worker: bool
    cpu_first_s: float
    cpu_last_s: float
    peak_rss: int


class UsageTally:
    """Per-process and total CPU and peak RSS from samples of a changing set of processes.

    A process there at the first sample counts from then; one that appears later (a child the
    supervisor restarted) counts from its start; one that is gone keeps what it had at its last sample.
    ``workers`` are the processes that do the work (reported one by one); the rest (the supervisor)
    count in the totals only."""

    def __init__(self) -> None:
        self.seen: dict[int, _Seen] = {}
        self.peak_total_rss = 0
        self._first = True

    def add(self, samples: Mapping[int, Sample], workers: Collection[int]) -> None:
        for pid, sample in samples.items():
            seen = self.seen.get(pid)
            if seen is None:
                first = sample.cpu_s if self._first else 0.0
                self.seen[pid] = _Seen(pid in workers, first, sample.cpu_s, sample.rss)
                continue
            seen.worker = seen.worker or pid in workers
            seen.cpu_last_s = sample.cpu_s
            seen.peak_rss = max(seen.peak_rss, sample.rss)
        self.peak_total_rss = max(self.peak_total_rss, sum(sample.rss for sample in samples.values()))
        self._first = False

    def figures(self, wall_s: float) -> dict[str, Any]:
        def cores(seen: _Seen) -> float:
            return (seen.cpu_last_s - seen.cpu_first_s) / wall_s if wall_s > 0 else 0.0

        def listed(workers: bool) -> list[dict[str, Any]]:
            return [
                {"pid": pid, "cpu_cores": round(cores(seen), 2), "peak_rss_mb": _mb(seen.peak_rss)}
                for pid, seen in sorted(self.seen.items())
                if seen.worker == workers
            ]

        per_process = listed(workers=True)
        return {
            "worker_cpu_cores": round(sum(cores(seen) for seen in self.seen.values()), 2),
            "worker_peak_rss_mb": _mb(self.peak_total_rss),
            "cpu_cores_per_process_max": max((p["cpu_cores"] for p in per_process), default=0.0),
            "peak_rss_mb_per_process_max": max((p["peak_rss_mb"] for p in per_process), default=0.0),
            "per_process": per_process,
            # The supervisor, and any process a worker started: in the totals, not workers of their own.
            "other_processes": listed(workers=False),
        }


def _mb(size: int) -> float:
    return round(size / 2**20, 1)


class WorkerTreeMeter:
    """``UsageTally`` of a worker: with one process, the process itself; with more, the supervisor (in
    the totals) and its children (each a worker), sampled with ``children(recursive=True)``."""

    def __init__(self, pid: int, processes: int) -> None:
        self.root = psutil.Process(pid)
        self.processes = processes
        self.tally = UsageTally()
        self.sample()

    def sample(self) -> None:
        try:
            tree = [self.root, *self.root.children(recursive=True)]
            workers = {self.root.pid} if self.processes == 1 else {child.pid for child in self.root.children()}
        except psutil.NoSuchProcess:
            return  # the worker is gone: the run reports what it measured until then
        samples = {}
        for process in tree:
            try:
                with process.oneshot():
                    samples[process.pid] = Sample(sum(process.cpu_times()[:2]), process.memory_info().rss)
            except psutil.NoSuchProcess:
                continue  # exited between the listing and the sample
        self.tally.add(samples, workers)

    def figures(self, wall_s: float) -> dict[str, Any]:
        self.sample()
        return self.tally.figures(wall_s)
