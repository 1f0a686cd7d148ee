"""A labelled set of recorded sessions with known truth, to show evaluation and calibration work.

Every session is built from the packaged photos (``streams.samples.scenes``) as 5-frames-per-second webcam
frames and run through the real vision stage (MediaPipe, YOLO when its weights are configured, the
behaviour analyser), exactly as the worker would; what is kept is the privacy-preserving recording:
control records and observations, no images.

The truth is planted: clean sessions (one face throughout); sessions where the candidate's face leaves
the frame for 1 to 12 seconds, labelled cheating when the absence lasts ``PLANTED_ABSENCE_S`` or more
(the threshold calibration must recover); and sessions where a second person joins for a few seconds,
labelled cheating. Labelled sessions carry the time ranges of their behaviours.

Not planted, because no photo on this machine shows them: a phone or a book (YOLO finds neither in the
packaged photos, nor in drawn ones), and looking away (the packaged faces all look at the camera, and
warping a photo does not turn a head).
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from producers.images import encode_jpeg
from schemas.records import Recorded, new_frame, new_session_control
from streams.recording.format import RecordingWriter
from streams.samples.scenes import HEIGHT, SCENES, WIDTH, Photos, scene_image
from streams.samples.session import jitter
from streams.settings import BehaviourSettings, VisionSettings
from streams.vision import BehaviourAnalyser, VisionPipeline

__all__ = ["FPS", "PLANTED_ABSENCE_S", "LabelledSession", "build_labelled_set", "labelled_sessions"]

FPS = 5
# An absence this long or longer is cheating in this set's truth; a shorter one is clean.
PLANTED_ABSENCE_S = 6
_ABSENCES_S = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12)
_SECOND_PERSON_S = (4, 8)
_LEAD_S, _TAIL_S = 8, 10  # one face before and after the planted behaviour
# Sessions start at this capture time (2026-01-01T00:00:00Z), one hour apart: the set is reproducible.
_EPOCH_MS = 1_767_225_600_000


@dataclass(frozen=True)
class LabelledSession:
    session_id: str
    # (scene, seconds), played in order at FPS.
    scenes: tuple[tuple[str, int], ...]
    decision: str  # "clean" or "cheating"
    # The planted behaviours, each with its range in seconds from the first frame.
    behaviours: tuple[tuple[str, float, float], ...] = ()


def labelled_sessions() -> list[LabelledSession]:
    sessions = [LabelledSession(f"clean-{n}", (("one_face", 30),), "clean") for n in range(1, 5)]
    for seconds in _ABSENCES_S:
        sessions.append(
            LabelledSession(
                f"absent-{seconds:02d}s",
                (("one_face", _LEAD_S), ("face_absent", seconds), ("one_face", _TAIL_S)),
                "cheating" if seconds >= PLANTED_ABSENCE_S else "clean",
                (("face_absent", _LEAD_S, _LEAD_S + seconds),) if seconds >= PLANTED_ABSENCE_S else (),
            )
        )
    for seconds in _SECOND_PERSON_S:
        sessions.append(
            LabelledSession(
                f"second-person-{seconds:02d}s",
                (("one_face", _LEAD_S), ("two_faces", seconds), ("one_face", _TAIL_S)),
                "cheating",
                # Two faces in view, and YOLO's second person: both are what the reviewer saw.
                (("multiple_faces", _LEAD_S, _LEAD_S + seconds), ("extra_person", _LEAD_S, _LEAD_S + seconds)),
            )
        )
    return sessions


def _recorded(topic: str, offset: int, value: object, session_id: str, at_ms: int) -> Recorded:
    return {
        "topic": topic,
        "partition": 0,
        "offset": offset,
        "timestamp_ms": at_ms,
        "session_id": session_id,
        "value": value,  # type: ignore[typeddict-item]
    }


def _session_records(
    session: LabelledSession,
    start_ms: int,
    pipeline: VisionPipeline,
    images: dict[str, np.ndarray],
    rng: np.random.Generator,
    on_frame: Callable[[], None],
) -> list[Recorded]:
    sid = session.session_id
    start = new_session_control(sid, "start", f"cand-{sid}", at_ms=start_ms, source="labelled-set")
    records = [_recorded("session-control", 0, start, sid, start_ms)]
    analyser, state, sequence = BehaviourAnalyser(BehaviourSettings()), None, 0
    for scene, seconds in session.scenes:
        for _ in range(seconds * FPS):
            captured = start_ms + sequence * 1000 // FPS
            jpeg = encode_jpeg(jitter(images[scene], rng), 90)
            frame = new_frame(
                sid, sequence, jpeg, width=WIDTH, height=HEIGHT, captured_at_ms=captured, candidate_id=f"cand-{sid}"
            )
            with contextlib.redirect_stdout(io.StringIO()):  # Ultralytics prints on its first run
                observation = pipeline.observe(frame)
            state = analyser.annotate(state, observation)
            records.append(_recorded("events", sequence, observation, sid, captured + 50))
            sequence += 1
            on_frame()
    end_ms = start_ms + sequence * 1000 // FPS
    end = new_session_control(
        sid, "end", f"cand-{sid}", last_sequence=sequence - 1, at_ms=end_ms, source="labelled-set"
    )
    records.append(_recorded("session-control", 1, end, sid, end["at_ms"]))
    return records


def _write_labels(path: Path, sessions: list[LabelledSession]) -> None:
    with path.open("w", newline="") as file:
        out = csv.writer(file)
        out.writerow(["session_id", "decision", "behaviour", "start_s", "end_s"])
        for session in sessions:
            for kind, start_s, end_s in session.behaviours or (("", "", ""),):
                out.writerow([session.session_id, session.decision, kind, start_s, end_s])


def build_labelled_set(
    out_dir: Path,
    vision: VisionSettings | None = None,
    seed: int = 18,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, Path]:
    """Write ``labelled.avro`` (observations of every session) and ``labels.csv`` into ``out_dir``."""
    sessions = labelled_sessions()
    total = sum(seconds * FPS for s in sessions for _, seconds in s.scenes)
    photos = Photos.load()
    images = {name: scene_image(name, photos) for name in SCENES}
    pipeline = VisionPipeline(vision or VisionSettings())
    rng = np.random.default_rng(seed)
    done = 0

    def frame_done() -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, total)

    out_dir.mkdir(parents=True, exist_ok=True)
    recording, labels = out_dir / "labelled.avro", out_dir / "labels.csv"
    with RecordingWriter(recording, "observations", [s.session_id for s in sessions]) as writer:
        for index, session in enumerate(sessions):
            for record in _session_records(session, _EPOCH_MS + index * 3_600_000, pipeline, images, rng, frame_done):
                writer.write(record)
    _write_labels(labels, sessions)
    return recording, labels
