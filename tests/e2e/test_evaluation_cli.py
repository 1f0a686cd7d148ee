"""``integrity evaluate`` and ``integrity calibrate`` as a user types them, on a recording written by
RecordingWriter: the printed table and metrics, evaluation.json, evaluation.png, the new policy file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from streams.recording.format import RecordingWriter
from streams.risk.policy import POLICY_DIR, PolicyBook
from tests.helpers.sessions import absence_session, recorded, scripted_session

INTEGRITY = str(Path(sys.executable).parent / "integrity")
LABELS = """session_id,decision,behaviour,start_s,end_s
absent-03s,clean,,,
absent-05s,clean,,,
absent-08s,cheating,face_absent,4,12
absent-12s,cheating,face_absent,4,16
second-person,cheating,multiple_faces,4,12
"""


def integrity(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [INTEGRITY, *args], capture_output=True, text=True, timeout=120, env=os.environ | {"COLUMNS": "200"}
    )


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("evaluate")
    sessions = [absence_session(f"absent-{s:02d}s", s) for s in (3, 5, 8, 12)]
    sessions += [
        scripted_session("second-person", [("one_face", 4), ("two_faces", 8), ("one_face", 3)]),
        scripted_session("unlabelled", [("one_face", 10)]),
    ]
    path = folder / "sessions.avro"
    with RecordingWriter(path, "observations", [s.session_id for s in sessions]) as writer:
        for session in sessions:
            for record in recorded(session):
                writer.write(record)
    labels = folder / "labels.csv"
    labels.write_text(LABELS)
    return path, labels


def test_evaluate_prints_the_table_and_writes_the_json_and_the_plot(recording, tmp_path):
    path, labels = recording
    out = tmp_path / "out"
    done = integrity("evaluate", str(path), "--labels", str(labels), "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:6] == ["session", "label", "verdict", "outcome", "peak", "final"]
    rows = {line.split()[0]: line.split() for line in lines[1:7]}
    assert rows["absent-12s"][1:4] == ["cheating", "flagged", "caught"]
    assert rows["absent-08s"][1:4] == ["cheating", "review", "MISSED"]
    assert rows["absent-03s"][1:4] == ["clean", "clear", "ok"]
    assert rows["unlabelled"][1:4] == ["-", "clear", "unlabelled"]
    assert "face_absent 4.0-16.0 +" in " ".join(rows["absent-12s"])
    assert "flagged  precision 1.00  recall 0.67  F1 0.80  (caught 2, missed 1, false positives 0)" in lines
    assert "unlabelled (not counted): unlabelled" in done.stdout
    assert lines[-1] == f"wrote {out / 'evaluation.json'} and {out / 'evaluation.png'}"

    data = json.loads((out / "evaluation.json").read_text())
    assert data["metrics"]["flagged"]["recall"] == pytest.approx(2 / 3)
    assert data["metrics"]["false_flags_per_clean_hour"] == 0.0
    assert data["unlabelled"] == ["unlabelled"]
    assert len(data["sessions"]) == 6

    image = np.asarray(Image.open(out / "evaluation.png").convert("RGB"))
    assert image.shape[0] > 400 and image.shape[1] > 800
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 50  # lines, bands and text: not a blank canvas


def test_calibrate_writes_a_new_policy_beside_the_old_one(recording, tmp_path):
    path, labels = recording
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "default.yaml").write_bytes((POLICY_DIR / "default.yaml").read_bytes())
    args = ("calibrate", str(path), "--labels", str(labels), "--target-false-flag-rate", "0")
    done = integrity(*args, "--policy-dir", str(policies))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].split() == ["default@2", "default-cal1@1"]
    assert f"new policy: {policies / 'default-cal1.yaml'}" in done.stdout.splitlines()
    assert PolicyBook(policies).policies["default-cal1"].version == 1
    assert (policies / "default.yaml").read_bytes() == (POLICY_DIR / "default.yaml").read_bytes()


def test_bad_labels_are_refused_in_one_line(recording, tmp_path):
    path, _ = recording
    labels = tmp_path / "labels.csv"
    labels.write_text("session_id,decision,behaviour,start_s,end_s\nabsent-03s,perhaps,,,\n")
    done = integrity("evaluate", str(path), "--labels", str(labels), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"integrity evaluate: {labels}, line 2: decision 'perhaps' is not one of clean, cheating"
    ]
