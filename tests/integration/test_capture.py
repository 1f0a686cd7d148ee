"""``integrity capture`` as a user runs it, against a real broker and worker: a video file and a live
MJPEG stream (an IP camera's) published as sessions the worker answers, Ctrl-C ending the live one, and a
source that cannot be opened refused in one line."""

from __future__ import annotations

import http.server
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers.frames import scene_jpeg
from tests.helpers.kafka import reports_of, results_of

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(stack) -> dict[str, str]:
    """The environment of a user's shell beside the stack: its broker (KAFKA_BOOTSTRAP_SERVERS)."""
    return dict(stack.worker.env)


def integrity(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True, timeout=120, env=env
    )


def _scene(name: str) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(scene_jpeg(name), np.uint8), cv2.IMREAD_COLOR)


def _video(path: Path, seconds: float, fps: float) -> Path:
    image = _scene("one_face")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (image.shape[1], image.shape[0]))
    for _ in range(round(seconds * fps)):
        writer.write(image)
    writer.release()
    return path


def _summary(stdout: str) -> dict[str, object]:
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    summary: dict[str, object] = json.loads(lines[0])
    assert set(summary) == {"session_id", "frames", "seconds", "source"}
    return summary


def _answered(settings, session_id: str, frames: int) -> None:
    """The worker scored every frame, in order, and reported the session once with that many frames."""
    results = results_of(settings, session_id, frames)
    assert [r["frame_sequence"] for r in results] == list(range(frames))
    reports = reports_of(settings, session_id, timeout_s=120)
    assert len(reports) == 1 and reports[0]["frames"] == frames


def test_a_video_file_is_captured_as_one_session_that_the_worker_answers(env, settings, worker, tmp_path):
    video = _video(tmp_path / "interview.avi", seconds=5.0, fps=10.0)
    done = integrity(env, "capture", str(video), "--fps", "2", "--session-id", "cap-1", "--policy", "strict")
    assert done.returncode == 0, done.stderr
    # A file reads faster than real time: sampled by its own timestamps, 5 s at 2 per second.
    assert _summary(done.stdout) == {"session_id": "cap-1", "frames": 10, "seconds": 4.9, "source": str(video)}
    assert "capturing file" in done.stderr
    _answered(settings, "cap-1", 10)
    assert reports_of(settings, "cap-1")[0]["policy"].split("@")[0] == "strict"  # "name@version"


@pytest.fixture
def mjpeg_stream() -> Iterator[str]:
    """An IP camera's MJPEG stream over HTTP, 10 frames a second until the client goes."""
    jpeg = scene_jpeg("one_face")

    class Camera(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            part = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n" % (len(jpeg), jpeg)
            try:
                while True:
                    self.wfile.write(part)
                    time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Camera)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/video.mjpg"
    server.shutdown()
    server.server_close()


def test_ctrl_c_ends_a_live_stream_session_cleanly_with_its_end_record(env, settings, worker, mjpeg_stream):
    process = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "capture", mjpeg_stream, "--fps", "5", "--session-id", "cap-live"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        # Said once the first frame is published; then a couple of seconds of the live stream.
        assert process.stderr.readline().startswith(f"capturing stream {mjpeg_stream} as session cap-live")
        time.sleep(2.0)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    summary = _summary(stdout)
    assert summary["session_id"] == "cap-live" and summary["source"] == mjpeg_stream
    frames = summary["frames"]
    assert isinstance(frames, int) and 5 <= frames <= 25, summary  # ~5 per second of wall clock
    # The end record carried the last sequence: the session is reported with exactly those frames.
    _answered(settings, "cap-live", frames)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("99", "integrity: cannot open camera 99: no such device (try a video file or URL)"),
        ("missing.avi", "integrity: cannot open file missing.avi: no such file"),
    ],
)
def test_a_source_that_cannot_be_opened_exits_2_with_one_line_and_nothing_on_stdout(env, source, message):
    done = integrity(env, "capture", source, "--session-id", "cap-none")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [message]
