"""Choosing the object detector's weights by measurement (streams/vision/tuning.py, streams/cli/tune.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from schemas.records import DetectedObject
from streams.cli import tune
from streams.settings import Settings, VisionSettings
from streams.vision.tuning import Choice, Trial, agreement, backend_of, choose, load_cache, measure, store_cache
from tests.helpers.frames import SHARED_WEIGHTS, asset

OTHER_EXPORT = str(Path(SHARED_WEIGHTS).with_name("yolov8n_int8.tflite"))
needs_weights = pytest.mark.skipif(
    not (Path(SHARED_WEIGHTS).exists() and Path(OTHER_EXPORT).exists()), reason="no weights in ../shared/models"
)


def box(label: str, x: float, y: float = 0.1, size: float = 0.2) -> DetectedObject:
    return DetectedObject(label=label, confidence=0.9, x=x, y=y, width=size, height=size)


def test_detections_agree_when_each_object_is_seen_in_the_same_place():
    reference = [[box("person", 0.1), box("cell phone", 0.5)], []]
    assert agreement(reference, [[box("cell phone", 0.51), box("person", 0.12)], []]) is None
    assert "no cell phone" in str(agreement(reference, [[box("person", 0.1)], []]))
    assert "no person" in str(agreement(reference, [[box("person", 0.6), box("cell phone", 0.5)], []]))
    assert "book the reference does not see" in str(agreement(reference, [reference[0], [box("book", 0.3)]]))


def test_the_fastest_agreeing_candidate_is_chosen_never_one_that_sees_otherwise():
    trials = [
        Trial("ref.tflite", "LiteRT", 30.0, 35.0, None),
        Trial("fast.onnx", "ONNX Runtime", 10.0, 12.0, "photo 0: no person where the reference sees one"),
        Trial("broken.xml", "OpenVINO", 0.0, 0.0, None, "RuntimeError: cannot load"),
        Trial("ok.onnx", "ONNX Runtime", 20.0, 22.0, None),
    ]
    assert choose(trials).weights == "ok.onnx"
    assert choose(trials[:3]).weights == "ref.tflite"
    with pytest.raises(ValueError, match="no candidate ran"):
        choose([trials[2]])


def test_backends_are_named_by_the_weights_format():
    assert backend_of("a/yolov8n_int8.tflite") == "LiteRT"
    assert backend_of("yolov8n.onnx") == "ONNX Runtime"
    assert backend_of("/opt/models/yolov8n_openvino_model/") == "OpenVINO"
    assert backend_of("yolov8n.pt") == "PyTorch"


def test_a_choice_is_kept_per_key_and_a_damaged_file_is_no_choice(tmp_path):
    path = tmp_path / "tuning.json"
    choice = Choice(
        "a.onnx", "ONNX Runtime", 12.5, "2026-12-03T00:00:00Z", (Trial("a.onnx", "ONNX Runtime", 12.5, 13.0, None),)
    )
    store_cache(path, "cpu-one", choice)
    assert load_cache(path, "cpu-one") == choice
    assert load_cache(path, "cpu-two") is None
    path.write_text("{not json")
    assert load_cache(path, "cpu-one") is None
    store_cache(path, "cpu-two", choice)  # rewritten whole, never left half-written
    assert set(json.loads(path.read_text())) == {"cpu-two"}


@needs_weights
def test_the_real_exports_agree_and_random_weights_of_the_same_architecture_do_not():
    frames = [asset("bus.jpg"), asset("zidane.jpg")] * 2
    trials = measure(
        SHARED_WEIGHTS, [OTHER_EXPORT, "yolov8n.yaml"], frames, frames[:2], min_confidence=0.4, imgsz=(640, 640)
    )
    by_weights = {trial.weights: trial for trial in trials}
    assert by_weights[OTHER_EXPORT].disagrees is None and by_weights[OTHER_EXPORT].mean_ms > 0
    assert by_weights["yolov8n.yaml"].disagrees is not None  # a person missed or invented
    assert choose(trials).weights in {SHARED_WEIGHTS, OTHER_EXPORT}


def test_a_worker_measures_once_per_cpu_kind_and_then_reuses_the_choice(tmp_path, monkeypatch):
    settings = dataclasses.replace(
        Settings(),
        data_dir=tmp_path,
        vision=VisionSettings(yolo_weights=SHARED_WEIGHTS, yolo_candidates=f"{OTHER_EXPORT}, {SHARED_WEIGHTS}"),
    )
    runs = []

    def fake_measure(settings, threads, count, progress):
        runs.append(threads)
        trial = Trial(OTHER_EXPORT, "LiteRT", 9.0, 10.0, None)
        return Choice(OTHER_EXPORT, "LiteRT", 9.0, "2026-12-03T00:00:00Z", (trial,))

    monkeypatch.setattr(tune, "_measure", fake_measure)
    chosen, line = tune.resolve_weights(settings, threads=1)
    again, _ = tune.resolve_weights(settings, threads=1)
    assert runs == [1]  # the second start reused the kept choice
    assert chosen.vision.yolo_weights == again.vision.yolo_weights == OTHER_EXPORT
    assert "LiteRT" in line and chosen.vision.yolo_choice == line
    tune.resolve_weights(settings, threads=2)  # another thread count is another measurement
    assert runs == [1, 2]
    plain = dataclasses.replace(settings, vision=VisionSettings(yolo_weights=SHARED_WEIGHTS))
    assert tune.resolve_weights(plain, threads=1)[0] is plain
