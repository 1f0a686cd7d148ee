"""The commands a user types, checked by their output. The benchmarks run once on a tiny size to prove
they work; their speed is not asserted (figures go in docs/PERFORMANCE.md, from full runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from producers.images import encode_jpeg
from tests.helpers.frames import SHARED_WEIGHTS


def integrity(*args: str, timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def fresh_home(tmp_path: Path) -> dict[str, str]:
    """The environment of a machine where nothing ran yet: an empty home, no config folders."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"YOLO_CONFIG_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"}}
    return env | {"HOME": str(home)}


def test_analyze_prints_one_line_per_frame(tmp_path):
    from streams.samples.session import build_sample_session

    sample = build_sample_session(tmp_path / "sample")
    frames = [str(sample / f"frame_{i:05d}.jpg") for i in (0, 35, 120)]
    done = integrity("analyze", *frames, "--weights", SHARED_WEIGHTS)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("frame_00000.jpg") and "faces 1" in lines[0] and "gaze center" in lines[0]
    assert "faces 0" in lines[1]
    assert "faces 2" in lines[2]


@pytest.mark.skipif(not Path(SHARED_WEIGHTS).exists(), reason="no shared weights")
def test_stdout_carries_only_json_lines_on_a_machine_where_ultralytics_never_ran(tmp_path):
    from streams.samples.session import build_sample_session

    sample = build_sample_session(tmp_path / "sample")
    frames = [str(sample / f"frame_{i:05d}.jpg") for i in (0, 120)]
    env = fresh_home(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "analyze", *frames, "--json", "--weights", SHARED_WEIGHTS],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    # Ultralytics did run for the first time (it wrote its settings file) and said so, on stderr.
    assert (Path(env["HOME"]) / ".config" / "Ultralytics" / "settings.json").exists()
    assert "Ultralytics Settings" in done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [len(row["observation"]["faces"]) for row in rows] == [1, 2]
    assert all(row["observation"]["objects_status"] == "checked" for row in rows)


def test_a_bmp_in_a_folder_is_analysed_as_an_image(tmp_path):
    import cv2

    from streams.samples.scenes import scene_image

    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.bmp"), scene_image("one_face"))
    cv2.imwrite(str(folder / "b.png"), scene_image("two_faces"))
    done = integrity("analyze", str(folder), "--json", "--weights", "")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(row["name"], len(row["observation"]["faces"])) for row in rows] == [("a.bmp", 1), ("b.png", 2)]


def test_a_setting_that_does_not_fit_is_refused_in_one_line():
    done = integrity("settings", env={"INTEGRITY_PARTITIONS": "three"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "integrity: INTEGRITY_PARTITIONS='three' is not a valid int: invalid literal for int() with base 10: 'three'"
    ]


def test_a_kafka_security_misconfiguration_is_refused_in_one_line_without_the_password(tmp_path):
    password = "e2e-not-shown-7c1d"
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    for env, expected in [
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_PASSWORD": password},
            "integrity: KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_USERNAME",
        ),
        (
            {
                "KAFKA_SECURITY_PROTOCOL": "SSL",
                "KAFKA_SSL_CAFILE": str(tmp_path / "ca.pem"),
                "KAFKA_SSL_KEY_PASSWORD": password,
            },
            f"integrity: the TLS files could not be loaded (KAFKA_SSL_CAFILE='{tmp_path / 'ca.pem'}'): ",
        ),
    ]:
        done = integrity("settings", env=env)
        assert done.returncode == 2 and done.stdout == "", done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith(expected), done.stderr
        assert password not in done.stderr


def test_corrupt_weights_are_named_in_one_line_not_a_traceback(tmp_path):
    from streams.samples.scenes import scene_image

    weights = tmp_path / "corrupt.tflite"
    weights.write_bytes(b"this is not a model" * 100)
    image = tmp_path / "one.jpg"
    image.write_bytes(encode_jpeg(scene_image("one_face")))
    for done in (
        integrity("analyze", str(image), "--weights", str(weights)),
        integrity("worker", "--data-dir", str(tmp_path / "w"), env={"INTEGRITY_YOLO_WEIGHTS": str(weights)}),
    ):
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith(f"integrity: the YOLO weights '{weights}' could not be loaded"), last


def test_an_unreachable_broker_is_one_line_not_a_traceback():
    from streams.child_process import free_port

    done = integrity("--bootstrap-servers", f"127.0.0.1:{free_port()}", "topics", timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("integrity: cannot reach the Kafka broker at 127.0.0.1:")


def test_analyze_json_has_the_observation(tmp_path):
    from producers.images import encode_jpeg
    from streams.samples.scenes import scene_image

    image = tmp_path / "astronaut.jpg"
    image.write_bytes(encode_jpeg(scene_image("one_face")))
    done = integrity("analyze", str(image), "--json", "--weights", str(tmp_path / "missing.tflite"))
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)
    assert len(row["observation"]["faces"]) == 1
    assert set(row["observation"]["head_pose"]) == {"yaw", "pitch", "roll"}
    assert row["observation"]["objects_status"] == "unavailable"


@pytest.mark.integration
def test_bench_pipeline_runs(tmp_path):
    out = tmp_path / "pipeline.json"
    done = integrity("bench", "pipeline", "--sessions", "2", "--fps", "5", "--seconds", "3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())["pipeline"][0]
    assert figures["results"] == figures["frames_sent"] > 0
    assert "frames/s" in done.stdout


@pytest.mark.skipif(not Path(SHARED_WEIGHTS).exists(), reason="no shared weights")
def test_bench_vision_runs(tmp_path):
    out = tmp_path / "vision.json"
    done = integrity(
        "bench", "vision", "--frames", "3", "--out", str(out), env={"INTEGRITY_YOLO_WEIGHTS": SHARED_WEIGHTS}
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    configs = [run["config"] for run in report["vision"]]
    assert any(c.startswith("litert") for c in configs) and any(c.startswith("pytorch") for c in configs)
    assert "speed-up" in done.stdout


@pytest.mark.integration
def test_bench_risk_runs(tmp_path):
    out = tmp_path / "risk.json"
    done = integrity("bench", "risk", "--observations", "300", "--sessions", "5", "--out", str(out))
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())["risk"]
    assert figures["agent_received"] == 300
    assert figures["core_per_s"] > 0 and figures["rocksdb_per_s"] > 0 and figures["agent_per_s"] > 0


@pytest.mark.integration
def test_bench_fuzz_dead_letters_every_bad_record_and_answers_every_good_one(tmp_path):
    out = tmp_path / "fuzz.json"
    # 10,000 records of 21 kinds on the frames, control and events topics (about 35 s here): the bench
    # exits non-zero unless every bad one was dead-lettered and every good one answered, once.
    done = integrity("bench", "fuzz", "--records", "10000", "--seed", "3", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())["fuzz"]
    assert figures["worker_alive"] is True and figures["answered_once"] is True
    assert sum(figures["sent"].values()) == 10_000
    assert figures["one_pixel_face_absent_results"] == 0
    assert "dead letters by reason" in done.stdout


def test_the_app_creates_its_data_folder_with_parents(tmp_path):
    # `faust -A streams.app worker` in a fresh checkout: Faust itself would not create .integrity/.
    folder = tmp_path / "fresh" / ".integrity" / "worker"
    done = subprocess.run(
        [sys.executable, "-c", "import streams.app"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "INTEGRITY_DATA_DIR": str(folder)},
    )
    assert done.returncode == 0, done.stderr
    assert folder.is_dir()
