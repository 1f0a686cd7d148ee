"""Object detection: real COCO weights (../shared/models) on real photos, and the whole YOLO code path
(build, export, load, predict, class mapping) on a model built from Ultralytics' own YAML."""

from pathlib import Path
from typing import cast

import pytest

from streams.samples.scenes import noisy_jpegs, scene_image
from streams.settings import VisionSettings
from streams.vision import VisionPipeline
from streams.vision.objects import ObjectDetector, _coco_names
from tests.helpers.frames import SHARED_WEIGHTS, asset, frame_record

needs_weights = pytest.mark.skipif(not Path(SHARED_WEIGHTS).exists(), reason=f"no weights at {SHARED_WEIGHTS}")


@pytest.fixture(scope="module")
def real():
    return ObjectDetector(SHARED_WEIGHTS)


@needs_weights
def test_real_weights_find_the_people_on_the_bus(real):
    found = real.detect(asset("bus.jpg"))
    people = [obj for obj in found if obj["label"] == "person"]
    assert len(people) >= 3
    assert all(0.0 <= obj["x"] <= 1.0 and 0.0 < obj["width"] <= 1.0 for obj in found)
    assert [obj["confidence"] for obj in found] == sorted((obj["confidence"] for obj in found), reverse=True)


@needs_weights
def test_real_weights_find_two_people_on_zidane(real):
    people = [obj for obj in real.detect(asset("zidane.jpg")) if obj["label"] == "person"]
    assert len(people) == 2


@needs_weights
def test_objects_run_on_the_session_schedule_and_say_when_they_did_not():
    pipeline = VisionPipeline(VisionSettings(yolo_weights=SHARED_WEIGHTS, objects_every_s=2.0))
    statuses, check = [], None
    # A frame every 500 ms, the picture changing every 2 s: checked every 2 s of capture time.
    for seq in range(9):
        frame = frame_record("s", seq, seq * 500, "two_faces" if (seq // 4) % 2 else "one_face")
        observation, check = pipeline.observe_in_session(frame, check)
        statuses.append(observation["objects_status"])
    assert statuses == [
        "checked",
        "skipped",
        "skipped",
        "skipped",
        "checked",
        "skipped",
        "skipped",
        "skipped",
        "checked",
    ]
    # Outside a session, every frame is checked.
    assert pipeline.observe(frame_record("s", 1, 500, "one_face"))["objects_status"] == "checked"


@needs_weights
def test_a_still_picture_is_checked_again_only_after_five_intervals():
    pipeline = VisionPipeline(VisionSettings(yolo_weights=SHARED_WEIGHTS, objects_every_s=1.0))
    checked, check = [], None
    # A camera on a stand: the same picture, only its sensor noise changing.
    still = noisy_jpegs([scene_image("one_face")], 12, seed=1)
    for seq in range(12):
        frame = frame_record("s", seq, seq * 1000, "one_face", image=still[seq])
        observation, check = pipeline.observe_in_session(frame, check)
        if observation["objects_status"] == "checked":
            checked.append(seq)
    assert checked == [0, 5, 10]


def test_missing_weights_switch_objects_off_loudly(tmp_path):
    detector = ObjectDetector(str(tmp_path / "nope.tflite"))
    assert not detector.available
    assert "not found" in cast(str, detector.unavailable_reason)
    with pytest.raises(RuntimeError, match="unavailable"):
        detector.detect(asset("bus.jpg"))


def test_numeric_class_names_map_to_coco():
    names = _coco_names({i: str(i) for i in range(80)})
    assert names[0] == "person" and names[67] == "cell phone" and names[73] == "book" and names[63] == "laptop"
    assert _coco_names({0: "person"}) == {0: "person"}


def test_yolo_code_path_on_random_weights_from_the_architecture_yaml(tmp_path, monkeypatch):
    from ultralytics import YOLO

    monkeypatch.chdir(tmp_path)  # the exporter writes beside the model
    model = YOLO("yolov8n.yaml", task="detect")
    exported = Path(model.export(format="torchscript", imgsz=640, verbose=False))
    assert exported.exists()
    for weights in ("yolov8n.yaml", str(exported)):
        detector = ObjectDetector(weights, min_confidence=0.0001)
        found = detector.detect(asset("bus.jpg"))
        # Random weights find nothing real; the path must still run end to end and map names.
        assert all(obj["label"] in {"person", "cell phone", "book", "laptop"} for obj in found)
