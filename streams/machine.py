"""The CPU this process runs on, as inference speed depends on it: its model and instruction sets.

Read by the benchmarks (every figure names its CPU) and by the object detector's tuning (a choice holds for
the CPU it was measured on)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["INFERENCE_FLAGS", "cpu", "cpu_from_cpuinfo", "cpus_available"]

# The instruction sets that decide how fast inference runs here: INT8 (VNNI, AMX, Arm's dot product and
# matrix multiply) and wide vectors. LiteRT INT8 ran several times slower on a CPU without the fast INT8
# path (docs/PERFORMANCE.md), so a figure without them is not comparable.
INFERENCE_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "asimddp", "i8mm", "sve")
_FLAG_PREFIXES = ("amx_",)


def cpu_from_cpuinfo(text: str) -> tuple[str | None, list[str]]:
    """The CPU model and its relevant instruction sets, from the text of Linux's ``/proc/cpuinfo``.

    x86 names the model in ``model name`` and lists ``flags``; Arm lists ``Features`` and may name no model."""
    model: str | None = None
    present: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip() or None
        elif key in {"flags", "Features"} and not present:
            present = set(value.split())
    relevant = [flag for flag in INFERENCE_FLAGS if flag in present]
    relevant += sorted(flag for flag in present if flag.startswith(_FLAG_PREFIXES))
    return model, relevant


def cpu() -> tuple[str, list[str] | None]:
    """The model and instruction sets of this CPU; None for the sets where there is no ``/proc/cpuinfo``."""
    named = platform.processor() or platform.machine() or "unknown"
    try:
        model, flags = cpu_from_cpuinfo(Path("/proc/cpuinfo").read_text(errors="replace"))
    except OSError:  # not Linux: the model as the platform names it, the sets unknown
        return named, None
    return model or named, flags


def cpus_available() -> int:
    """The CPUs this process may run on (its affinity mask: what ``taskset`` or a cpuset allows)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
