"""Recordings: Avro object container files of ``integrity.Recorded`` records, the schema embedded.

Any Avro library reads them (fastavro, Apache ``avro``, Java's ``DataFileReader``): no project code is
needed to look inside one. The file's metadata says what it holds (``integrity.content``: ``observations``,
the privacy-preserving form that is enough to re-score, or ``frames``, which carries the images too:
biometric data) and when it was written. Records keep their session's order: per session, control
records, frames and observations in the order of their broker timestamps.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Literal

import fastavro
from fastavro.schema import load_schema
from fastavro.write import Writer

from schemas import SCHEMA_DIR
from schemas.records import Recorded, now_ms

__all__ = [
    "CONTENT_KEY",
    "Content",
    "Kind",
    "RecordingInfo",
    "RecordingWriter",
    "kind_of",
    "read_recording",
    "read_recordings",
    "recording_schema",
]

Content = Literal["observations", "frames"]
Kind = Literal["control", "frame", "observation"]
CONTENT_KEY = "integrity.content"
_WRITTEN_AT_KEY = "integrity.written_at_ms"
_SESSIONS_KEY = "integrity.sessions"


_BRANCH = {"control": "integrity.SessionControl", "frame": "integrity.Frame", "observation": "integrity.Observation"}


@cache
def recording_schema() -> Any:
    return load_schema(str(SCHEMA_DIR / "integrity.Recorded.avsc"))


def kind_of(recorded: Recorded) -> Kind:
    """Which of the three the record holds (the union branch, told apart by its required fields)."""
    value = recorded["value"]
    if "action" in value:
        return "control"
    if "image" in value:
        return "frame"
    return "observation"


@dataclass(frozen=True)
class RecordingInfo:
    path: Path
    content: Content
    written_at_ms: int
    sessions: tuple[str, ...]


class RecordingWriter:
    """Appends Recorded records to a new container file (deflate-compressed); a context manager.

    ``sessions``: the ids the file will hold, stored in its metadata so a reader can list them without
    reading every record (the recorder knows them before it writes)."""

    def __init__(self, path: Path, content: Content, sessions: Iterable[str]) -> None:
        self.path = path
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO = path.open("wb")
        metadata = {
            CONTENT_KEY: content,
            _WRITTEN_AT_KEY: str(now_ms()),
            _SESSIONS_KEY: json.dumps(sorted(set(sessions))),
        }
        self._writer = Writer(self._file, recording_schema(), codec="deflate", metadata=metadata)

    def write(self, recorded: Recorded) -> None:
        # The union branch by name: fastavro would otherwise pick the first member the value fits.
        self._writer.write({**recorded, "value": (_BRANCH[kind_of(recorded)], recorded["value"])})
        self.count += 1

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._writer.flush()
        self._file.close()


def _info(path: Path, metadata: dict[str, Any]) -> RecordingInfo:
    content = metadata.get(CONTENT_KEY)
    if content not in ("observations", "frames"):
        raise ValueError(f"{path} is not an integrity recording (its metadata has no {CONTENT_KEY})")
    return RecordingInfo(
        path=path,
        content=content,
        written_at_ms=int(metadata.get(_WRITTEN_AT_KEY, 0)),
        sessions=tuple(json.loads(metadata.get(_SESSIONS_KEY, "[]"))),
    )


def read_recording(path: Path) -> tuple[RecordingInfo, Iterator[Recorded]]:
    """The file's description and its records, read lazily (a frames recording can be large)."""
    with path.open("rb") as probe:
        info = _info(path, fastavro.reader(probe).metadata)

    def records() -> Iterator[Recorded]:
        with path.open("rb") as file:
            yield from fastavro.reader(file)  # type: ignore[misc]

    return info, records()


def read_recordings(paths: Iterable[Path]) -> Iterator[Recorded]:
    """Every record of several recordings, file after file."""
    for path in paths:
        _, records = read_recording(path)
        yield from records
