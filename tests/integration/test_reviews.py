"""Reviewers close the loop, on a real broker and worker: a session is judged, a reviewer confirms one of
its events and dismisses another with `integrity review`, the worker keeps both beside the session
(`/sessions/<id>/`), and `integrity evaluate --reviews` reads them back from the topics as a report per
policy version and behaviour."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from streams.risk.policy import POLICY_DIR
from tests.helpers.frames import timeline
from tests.helpers.kafka import control, publish, reports_of, results_of

pytestmark = pytest.mark.integration

SESSION = "reviewed-1"
CLEAN = "reviewed-2"


def integrity(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    return done


def session_view(port: int, session_id: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/sessions/{session_id}/", timeout=10) as response:
        return json.load(response)


def test_reviews_are_kept_beside_the_session_and_read_back_as_a_report(stack, settings, worker, tmp_path):
    frames = timeline(SESSION, [("one_face", 20), ("two_faces", 20), ("one_face", 10)])
    quiet = timeline(CLEAN, [("one_face", 30)])
    publish(
        settings,
        [control(settings, SESSION, "start"), control(settings, CLEAN, "start")]
        + [(settings.topics.frames, SESSION, frame) for frame in frames]
        + [(settings.topics.frames, CLEAN, frame) for frame in quiet]
        + [control(settings, SESSION, "end", last_sequence=len(frames) - 1)]
        + [control(settings, CLEAN, "end", last_sequence=len(quiet) - 1)],
    )
    results = results_of(settings, SESSION, len(frames) + 1)
    (report,) = reports_of(settings, SESSION)
    reports_of(settings, CLEAN)
    events = {e["type"]: e for r in results for e in r["recent_events"]}
    second_face = events["multiple_faces"]
    env = dict(stack.worker.env)

    confirmed = integrity(
        env, "review", SESSION, "--event", second_face["event_id"], "--end-ms", str(second_face["ended_at_ms"]),
        "--decision", "confirmed", "--reviewer", "rev-a", "--policy", report["policy"], "--note", "a second person",
    )  # fmt: skip
    review_id = confirmed.stdout.strip()
    start = results[0]["captured_at_ms"]
    integrity(
        env, "review", SESSION, "--start-ms", str(start), "--end-ms", str(start + 3000), "--behaviour", "talking",
        "--decision", "dismissed", "--reviewer", "rev-b", "--policy", report["policy"],
    )  # fmt: skip

    clean_start = quiet[0]["captured_at_ms"]
    integrity(
        env, "review", CLEAN, "--start-ms", str(clean_start), "--end-ms", str(clean_start + 6000),
        "--decision", "dismissed", "--reviewer", "rev-b", "--policy", report["policy"],
    )  # fmt: skip

    deadline, view = time.monotonic() + 60, {}
    while time.monotonic() < deadline:
        try:
            view = session_view(stack.worker.web_port, SESSION)
        except urllib.error.HTTPError:
            view = {}
        if len(view.get("reviews", [])) == 2:
            break
        time.sleep(0.5)
    kept = {r["reviewer"]: r for r in view["reviews"]}
    assert kept["rev-a"]["review_id"] == review_id and kept["rev-a"]["decision"] == "confirmed"
    assert kept["rev-a"]["behaviour"] == "multiple_faces" and kept["rev-a"]["note"] == "a second person"
    assert kept["rev-b"]["decision"] == "dismissed" and kept["rev-b"]["event_id"] is None
    assert view["status"] == "ended"  # the session's own state is still there beside them

    done = integrity(env, "evaluate", "--reviews", "--out", str(tmp_path))
    lines = done.stdout.splitlines()
    assert any(line.split()[:5] == [report["policy"], "multiple_faces", "1", "0", "1.00"] for line in lines), lines
    assert any(line.split()[:5] == [report["policy"], "talking", "0", "1", "0.00"] for line in lines), lines
    data = json.loads((tmp_path / "reviews.json").read_text())
    assert data["policies"][report["policy"]]["behaviours"]["multiple_faces"]["precision"] == 1.0

    # The reviews as labels: the recorded session is "cheating" (a confirmed review), its confirmed range
    # the two-face stretch, found by the replay; calibrate reads them the same way.
    recording = tmp_path / "reviewed.avro"
    integrity(env, "record", "--out", str(recording), "--session", SESSION, "--session", CLEAN)
    done = integrity(env, "evaluate", str(recording), "--reviews", "--out", str(tmp_path / "evaluation"))
    row = next(line for line in done.stdout.splitlines() if line.startswith(SESSION))
    assert row.split()[1:4] == ["cheating", report["verdict"], "caught" if report["cheating"] else "MISSED"], row
    assert "multiple_faces" in row and "+" in row  # the detection confirmed by the review's range
    clean_row = next(line for line in done.stdout.splitlines() if line.startswith(CLEAN))
    assert clean_row.split()[1] == "clean"
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "default.yaml").write_text((POLICY_DIR / "default.yaml").read_text())
    args = ("calibrate", str(recording), "--reviews", "--policy-dir", str(policies), "--target-false-flag-rate", "0")
    calibrated = subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True, timeout=300, env=env
    )
    assert calibrated.returncode in (0, 1), calibrated.stderr  # 1: no policy on the grids meets the target
    assert "default@2" in calibrated.stdout  # the before/after table
