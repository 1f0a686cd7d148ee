"""Reviewer labels: what people decided about recorded sessions, to evaluate and calibrate verdicts against.

A label gives a session's decision, ``clean`` or ``cheating``, and optionally the time ranges of
behaviours the reviewer confirmed, in seconds from the session's first frame capture time. Two formats:

CSV, header ``session_id,decision,behaviour,start_s,end_s`` (other columns are ignored), one row per
labelled range; a row with empty ``behaviour``, ``start_s`` and ``end_s`` gives just the decision::

    session_id,decision,behaviour,start_s,end_s
    s-1,clean,,,
    s-2,cheating,face_absent,10,18
    s-2,cheating,multiple_faces,40,46.5

JSON::

    {"sessions": {"s-2": {"decision": "cheating",
                          "behaviours": [{"type": "face_absent", "start_s": 10, "end_s": 18}]}}}

A session may appear on several rows; their decisions must agree. Errors name the file, the line (CSV,
or JSON syntax) or the JSON path, and what is wrong (``LabelError``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "CSV_COLUMNS",
    "DECISIONS",
    "Decision",
    "LabelError",
    "LabelledRange",
    "SessionLabel",
    "load_labels",
    "parse_labels_csv",
    "parse_labels_json",
]

Decision = Literal["clean", "cheating"]
DECISIONS: tuple[Decision, ...] = ("clean", "cheating")
CSV_COLUMNS = ("session_id", "decision", "behaviour", "start_s", "end_s")


class LabelError(ValueError):
    """A labels file that cannot be read: where, and what is wrong."""


@dataclass(frozen=True)
class LabelledRange:
    behaviour: str
    start_s: float  # from the session's first frame capture time
    end_s: float


@dataclass(frozen=True)
class SessionLabel:
    session_id: str
    decision: Decision
    behaviours: tuple[LabelledRange, ...] = ()

    @property
    def cheating(self) -> bool:
        return self.decision == "cheating"


def load_labels(path: Path | str, behaviours: Collection[str] | None = None) -> dict[str, SessionLabel]:
    """Labels by session id from a ``.csv`` or ``.json`` file (other suffixes: JSON if it starts with ``{``).

    ``behaviours``: the behaviour types a range may name (a typo would otherwise match nothing); None: any.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's byte-order mark is not a column name
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: cannot read the labels file ({exc})") from exc
    is_json = path.suffix.lower() == ".json" or (path.suffix.lower() != ".csv" and text.lstrip().startswith("{"))
    parse = parse_labels_json if is_json else parse_labels_csv
    return parse(text, str(path), behaviours)


# -- CSV ----------------------------------------------------------------------------------------------


def parse_labels_csv(
    text: str, source: str = "<labels>", behaviours: Collection[str] | None = None
) -> dict[str, SessionLabel]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise LabelError(f"{source}: empty file (expected the header {','.join(CSV_COLUMNS)})")
    header = [column.strip() for column in header]
    missing = [column for column in CSV_COLUMNS if column not in header]
    if missing:
        raise LabelError(
            f"{source}, line 1: missing column(s) {', '.join(missing)} (expected the header {','.join(CSV_COLUMNS)})"
        )
    index = {column: header.index(column) for column in CSV_COLUMNS}
    needed = max(index.values()) + 1  # other columns (notes) may be left off the end
    builder = _Builder(source, behaviours)
    for row in reader:
        where = f"{source}, line {reader.line_num}"
        if not any(cell.strip() for cell in row):
            continue  # blank line
        if len(row) < needed:
            raise LabelError(f"{where}: {len(row)} fields, the header needs {needed}")
        cells = {column: row[i].strip() for column, i in index.items()}
        builder.decision(where, cells["session_id"], cells["decision"])
        span = (cells["behaviour"], cells["start_s"], cells["end_s"])
        if any(span):
            if not all(span):
                raise LabelError(f"{where}: behaviour, start_s and end_s go together (all three or none)")
            builder.range(where, cells["session_id"], *span)
    return builder.labels()


# -- JSON ---------------------------------------------------------------------------------------------


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    if duplicated:
        # Plain json.loads would keep the last one silently: two decisions, one of them lost.
        raise ValueError(f"duplicate key(s) {', '.join(map(repr, duplicated))}")
    return dict(pairs)


def parse_labels_json(
    text: str, source: str = "<labels>", behaviours: Collection[str] | None = None
) -> dict[str, SessionLabel]:
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise LabelError(f"{source}, line {exc.lineno}: not JSON ({exc.msg})") from exc
    except ValueError as exc:
        raise LabelError(f"{source}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("sessions"), dict):
        raise LabelError(f'{source}: expected an object {{"sessions": {{"<session id>": {{...}}}}}}')
    builder = _Builder(source, behaviours)
    for session_id, entry in data["sessions"].items():
        where = f"{source}, sessions[{session_id!r}]"
        if not isinstance(entry, dict):
            raise LabelError(f'{where}: expected an object {{"decision": ..., "behaviours": [...]}}')
        unknown = set(entry) - {"decision", "behaviours"}
        if unknown:
            raise LabelError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        builder.decision(where, session_id, _text(entry.get("decision")))
        spans = entry.get("behaviours", [])
        if not isinstance(spans, list):
            raise LabelError(f"{where}.behaviours: expected a list")
        for i, span in enumerate(spans):
            at = f"{where}.behaviours[{i}]"
            if not isinstance(span, dict) or set(span) != {"type", "start_s", "end_s"}:
                raise LabelError(f'{at}: expected {{"type": ..., "start_s": ..., "end_s": ...}}')
            builder.range(at, session_id, _text(span["type"]), _text(span["start_s"]), _text(span["end_s"]))
    return builder.labels()


def _text(value: object) -> str:
    """JSON values through the same checks as CSV cells (a number stays a number, true is not one)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value).strip()


# -- shared checks ------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, source: str, behaviours: Collection[str] | None) -> None:
        self.source = source
        self.known = behaviours
        self.decisions: dict[str, tuple[Decision, str]] = {}  # session -> (decision, where it was given)
        self.ranges: dict[str, list[LabelledRange]] = {}

    def decision(self, where: str, session_id: str, decision: str) -> None:
        if not session_id:
            raise LabelError(f"{where}: empty session_id")
        if decision not in DECISIONS:
            raise LabelError(f"{where}: decision {decision!r} is not one of {', '.join(DECISIONS)}")
        earlier = self.decisions.get(session_id)
        if earlier and earlier[0] != decision:
            raise LabelError(
                f"{where}: session {session_id!r} is labelled {decision!r}, but {earlier[0]!r} at {earlier[1]}"
            )
        self.decisions.setdefault(session_id, (decision, where))

    def range(self, where: str, session_id: str, behaviour: str, start: str, end: str) -> None:
        if self.known is not None and behaviour not in self.known:
            raise LabelError(f"{where}: unknown behaviour {behaviour!r} (known: {', '.join(sorted(self.known))})")
        start_s, end_s = _seconds(where, "start_s", start), _seconds(where, "end_s", end)
        if end_s < start_s:
            raise LabelError(f"{where}: end_s {end_s:g} is before start_s {start_s:g}")
        self.ranges.setdefault(session_id, []).append(LabelledRange(behaviour, start_s, end_s))

    def labels(self) -> dict[str, SessionLabel]:
        return {
            session_id: SessionLabel(session_id, decision, tuple(self.ranges.get(session_id, ())))
            for session_id, (decision, _) in self.decisions.items()
        }


def _seconds(where: str, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LabelError(f"{where}: {column} {text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise LabelError(f"{where}: {column} {text!r} must be a finite number of seconds >= 0")
    return value
