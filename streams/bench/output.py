"""Shared output of the benchmarks: the CPU they ran on, percentiles, a table on stdout, and a JSON file."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from streams.machine import INFERENCE_FLAGS, cpu, cpu_from_cpuinfo

__all__ = ["cpu_from_cpuinfo", "cpu_line", "machine", "percentiles", "print_cpu", "print_table", "write_json"]


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan"), "n": 0}
    array = np.asarray(values, dtype=float)
    return {
        "p50": round(float(np.percentile(array, 50)), 2),
        "p95": round(float(np.percentile(array, 95)), 2),
        "p99": round(float(np.percentile(array, 99)), 2),
        "max": round(float(array.max()), 2),
        "n": len(array),
    }


def machine() -> dict[str, Any]:
    model, flags = cpu()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "cpu_flags": flags,
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def cpu_line(figures: dict[str, Any]) -> str:
    """``CPU: <model> (<flags>), <n> cores`` of a ``machine()`` dict."""
    found = figures["cpu_flags"]
    if found is None:
        return f"CPU: {figures['cpu_model']} (instruction sets not known), {figures['cpus']} cores"
    flags = ", ".join(found) or "none of " + ", ".join(INFERENCE_FLAGS)
    return f"CPU: {figures['cpu_model']} ({flags}), {figures['cpus']} cores"


def print_cpu() -> None:
    """The first line of every benchmark's output: its figures hold for this CPU only."""
    print(cpu_line(machine()))


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2))
    print(f"\nwritten: {path}")
