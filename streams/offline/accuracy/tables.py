"""Markdown cells and tables of the accuracy report."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

__all__ = ["deg", "mean", "pct", "ratio", "table"]


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def pct(part: float, whole: float) -> str:
    return "-" if whole == 0 else f"{100.0 * part / whole:.0f}%"


def deg(value: float | None, signed: bool = False) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:+.1f}°" if signed else f"{value:.1f}°"


def mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
