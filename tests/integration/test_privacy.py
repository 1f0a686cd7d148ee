"""Frames are biometric data: after a worker analysed real photos, no image is left on disk or in a log."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from schemas.records import Frame
from streams.stack.local import LocalStack
from tests.helpers.frames import SHARED_WEIGHTS, timeline
from tests.helpers.kafka import collect, publish, results_of

pytestmark = pytest.mark.integration

# The first bytes of the JPEG (SOI + any marker) and PNG images the platforms send: raw, as Python
# writes bytes in a log line, and in base64 (a JPEG's starts "/9j/", a PNG's "iVBORw0KGgo").
_IMAGE_MAGIC = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    rb"\xff\xd8\xff",
    rb"\x89PNG",
    b"/9j/",
    b"iVBORw0KGgo",
)


def _files_with_images(folder: Path) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and any(magic in path.read_bytes() for magic in _IMAGE_MAGIC):
            found.append(str(path.relative_to(folder)))
    return found


def test_no_frame_is_written_to_disk_or_to_a_log(tmp_path):
    workdir = tmp_path / "stack"
    with LocalStack(workdir, worker_env={"INTEGRITY_YOLO_WEIGHTS": SHARED_WEIGHTS}) as stack:
        frames = timeline("pv-1", [("one_face", 10), ("face_absent", 12), ("two_faces", 8)])
        broken = cast(Frame, dict(frames[-1], sequence=len(frames), image=b"\xff\xd8\xff\xe0 a broken image"))
        publish(stack.settings, [(stack.settings.topics.frames, "pv-1", f) for f in [*frames, broken]])
        results_of(stack.settings, "pv-1", len(frames))
        # The broken frame is dead-lettered: its bytes go to the dead-letter topic, never to the log.
        assert collect(stack.settings, stack.settings.topics.dead_letter, "DeadLetter", lambda d: True, 1)
    logs_and_state = sorted(p.relative_to(workdir).parts[0] for p in workdir.iterdir())
    assert {"worker", "worker.log", "broker.log"} <= set(logs_and_state)  # RocksDB folder and both logs
    assert _files_with_images(workdir) == []
