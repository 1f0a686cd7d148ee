"""The face stage on real photos (scikit-image's astronaut, matplotlib's Grace Hopper)."""

import json

import cv2
import numpy as np
import pytest

from producers.images import encode_jpeg
from producers.sample import build_sample_session, scene_image
from streams.vision import ImageDecodeError, VisionPipeline, decode_image
from tests.photos import frame_record, scene_jpeg


@pytest.fixture(scope="module")
def pipeline():
    vision = VisionPipeline()
    vision.warm_up()
    return vision


@pytest.mark.parametrize("scene, faces", [("one_face", 1), ("face_absent", 0), ("two_faces", 2)])
def test_face_count_on_real_photos(pipeline, scene, faces):
    observation = pipeline.observe(frame_record("s", 0, 0, scene))
    assert len(observation["faces"]) == faces
    types = [event["type"] for event in observation["events"]]
    assert types == {0: ["face_absent"], 1: [], 2: ["multiple_faces"]}[faces]
    assert observation["objects"] is None  # not checked: never an empty "no phone" list


def test_masking_the_face_makes_it_absent(pipeline):
    image = scene_image("one_face")
    face = pipeline.observe(frame_record("s", 0, 0, "one_face"))["faces"][0]
    h, w = image.shape[:2]
    masked = image.copy()
    # Grow the detected box by half its size each way: hair and chin go too.
    x0, y0 = int((face["x"] - face["width"] / 2) * w), int((face["y"] - face["height"] / 2) * h)
    x1, y1 = int((face["x"] + 1.5 * face["width"]) * w), int((face["y"] + 1.5 * face["height"]) * h)
    masked[max(y0, 0) : y1, max(x0, 0) : x1] = 128
    observation = pipeline.observe(frame_record("s", 1, 0, "one_face", image=encode_jpeg(masked)))
    assert observation["faces"] == []
    assert observation["events"][0]["type"] == "face_absent"


def test_the_face_box_lies_on_the_astronaut(pipeline):
    face = pipeline.observe(frame_record("s", 0, 0, "one_face"))["faces"][0]
    assert face["confidence"] > 0.8
    # The astronaut's face is in the upper middle of the frame.
    assert 0.3 < face["x"] + face["width"] / 2 < 0.7
    assert face["y"] + face["height"] / 2 < 0.5


def test_event_ids_are_the_same_for_a_redelivered_frame(pipeline):
    first = pipeline.observe(frame_record("s", 7, 1000, "face_absent"))
    again = pipeline.observe(frame_record("s", 7, 1000, "face_absent"))
    assert [e["event_id"] for e in first["events"]] == [e["event_id"] for e in again["events"]] == ["s:7:face_absent"]


def test_timings_are_reported(pipeline):
    timings = pipeline.observe(frame_record("s", 0, 0, "one_face"))["timings_ms"]
    assert {"decode", "faces", "total"} <= set(timings)
    assert timings["total"] >= timings["faces"] > 0


def test_the_sample_session_matches_its_manifest(pipeline, tmp_path):
    out = build_sample_session(tmp_path / "sample")
    manifest = json.loads((out / "manifest.json").read_text())
    assert {frame["scene"] for frame in manifest["frames"]} == {"one_face", "face_absent", "two_faces"}
    wrong = []
    for frame in manifest["frames"][::4]:
        record = frame_record("s", frame["sequence"], 0, "one_face", image=(out / frame["file"]).read_bytes())
        found = len(pipeline.observe(record)["faces"])
        if found != frame["faces"]:
            wrong.append((frame["file"], frame["faces"], found))
    assert wrong == []


@pytest.mark.parametrize(
    "data, encoding, match",
    [
        (b"", "JPEG", "empty"),
        (b"hello, not a picture", "JPEG", "do not start like"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "JPEG", "could not be decoded"),
        (b"\x89PNG\r\n\x1a\n", "PNG", "could not be decoded"),
        (b"\xff\xd8\xff", "GIF", "unsupported"),
    ],
)
def test_undecodable_images_say_why(data, encoding, match):
    with pytest.raises(ImageDecodeError, match=match):
        decode_image(data, encoding)


def test_a_truncated_jpeg_is_refused_or_decoded_never_crashes():
    data = scene_jpeg("one_face")
    for cut in (10, 100, 1000):
        try:
            image = decode_image(data[:cut])
        except ImageDecodeError:
            continue
        assert image.ndim == 3


def test_png_frames_decode():
    _ok, png = cv2.imencode(".png", np.zeros((48, 64, 3), np.uint8))
    assert decode_image(png.tobytes(), "PNG").shape == (48, 64, 3)
