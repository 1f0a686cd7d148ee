"""docs/REVIEWING.md's recalibration walk-through, as a user types it: the labelled set through real vision,
`integrity evaluate`, `integrity calibrate`, and a worker judging a new session with the new policy."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.records import new_session_control
from streams.risk.policy import POLICY_DIR
from streams.samples.labelled import PLANTED_ABSENCE_S
from streams.stack.local import LocalStack
from tests.helpers.frames import SHARED_WEIGHTS, timeline
from tests.helpers.kafka import Record, publish, reports_of

pytestmark = pytest.mark.integration

INTEGRITY = str(Path(sys.executable).parent / "integrity")
# The calibrated policy's shortest flagged absence must be the planted threshold, give or take this.
TOLERANCE_S = 1


def integrity(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"INTEGRITY_YOLO_WEIGHTS": SHARED_WEIGHTS, "COLUMNS": "200"}
    done = subprocess.run([INTEGRITY, *map(str, args)], capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("walkthrough")
    labelled, policies = folder / "labelled-set", folder / "policies"
    integrity("sample", "--labelled", "--out", labelled)
    shutil.copytree(POLICY_DIR, policies)
    return {"recording": labelled / "labelled.avro", "labels": labelled / "labels.csv", "policies": policies}


def _evaluate(paths: dict[str, Path], out: Path, *policy: str) -> dict:
    args = ("evaluate", paths["recording"], "--labels", paths["labels"], "--policy-dir", paths["policies"])
    integrity(*args, "--out", out, *policy)
    return json.loads((out / "evaluation.json").read_text())


def _shortest_flagged_absence(evaluation: dict) -> int:
    absences = [s for s in evaluation["sessions"] if s["session_id"].startswith("absent-")]
    return min(int(s["session_id"][len("absent-") : -1]) for s in absences if s["verdict"] == "flagged")


def test_calibration_recovers_the_planted_threshold_and_a_worker_uses_the_new_policy(walkthrough, tmp_path):
    policies = walkthrough["policies"]
    default_digest = hashlib.sha256((policies / "default.yaml").read_bytes()).hexdigest()

    before = _evaluate(walkthrough, tmp_path / "before")
    assert before["metrics"]["flagged"]["recall"] < 1.0  # the default policy misses planted absences

    calibrated = integrity(
        "calibrate", walkthrough["recording"], "--labels", walkthrough["labels"], "--target-false-flag-rate", "0",
        "--policy-dir", policies,
    )  # fmt: skip
    assert str(policies / "default-cal1.yaml") in calibrated.stdout
    assert hashlib.sha256((policies / "default.yaml").read_bytes()).hexdigest() == default_digest  # untouched
    header = (policies / "default-cal1.yaml").read_text()
    assert "derived from default@2" in header and "flagged recall" in header  # the before/after table

    after = _evaluate(walkthrough, tmp_path / "after", "--policy", "default-cal1")
    assert after["metrics"]["flagged"]["recall"] == 1.0
    assert after["metrics"]["false_flags"] == 0
    assert abs(_shortest_flagged_absence(after) - PLANTED_ABSENCE_S) <= TOLERANCE_S
    assert (tmp_path / "after" / "evaluation.png").stat().st_size > 10_000

    # A worker reading the policy folder judges a new session with the policy its start record names.
    worker_env = {"INTEGRITY_YOLO_WEIGHTS": SHARED_WEIGHTS, "INTEGRITY_RISK_POLICY_DIR": str(policies)}
    with LocalStack(tmp_path / "stack", worker_env=worker_env) as stack:
        scenes = [("one_face", 40), ("face_absent", 50), ("one_face", 50)]  # a 10 s absence
        records: list[Record] = []
        for name, policy in (("live-default", "default"), ("live-calibrated", "default-cal1")):
            frames = timeline(name, scenes)
            start = new_session_control(name, "start", f"cand-{name}", policy=policy)
            end = new_session_control(name, "end", f"cand-{name}", last_sequence=len(frames) - 1)
            records += [(stack.settings.topics.control, name, start)]
            records += [(stack.settings.topics.frames, name, frame) for frame in frames]
            records += [(stack.settings.topics.control, name, end)]
        publish(stack.settings, records)
        default_report = reports_of(stack.settings, "live-default", timeout_s=240)[0]
        calibrated_report = reports_of(stack.settings, "live-calibrated", timeout_s=240)[0]
    assert (default_report["policy"], default_report["verdict"]) == ("default@2", "review")
    assert (calibrated_report["policy"], calibrated_report["verdict"]) == ("default-cal1@1", "flagged")
