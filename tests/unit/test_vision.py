"""The vision stage on real photos (scikit-image's astronaut, matplotlib's Grace Hopper, Ultralytics'
bus and Zidane) and on transformations of them that keep the ground truth known."""

import json
import resource
import struct
import zlib

import cv2
import numpy as np
import pytest

from producers.images import encode_jpeg
from streams.samples.scenes import scene_image
from streams.samples.session import build_sample_session
from streams.settings import VisionSettings
from streams.vision import ImageDecodeError, VisionPipeline, decode_image
from tests.helpers.frames import frame_record, scene_jpeg, zidane_face


@pytest.fixture(scope="module")
def pipeline():
    vision = VisionPipeline(VisionSettings())  # no weights: objects unavailable
    vision.warm_up()
    return vision


def observe(pipeline, image: np.ndarray, sequence: int = 0) -> dict:
    return pipeline.observe(frame_record("s", sequence, sequence * 200, "one_face", image=encode_jpeg(image, 92)))


@pytest.mark.parametrize("scene, faces", [("one_face", 1), ("face_absent", 0), ("two_faces", 2)])
def test_face_count_on_real_photos(pipeline, scene, faces):
    observation = pipeline.observe(frame_record("s", 0, 0, scene))
    assert len(observation["faces"]) == faces


def test_without_weights_objects_are_unavailable_not_absent(pipeline):
    observation = pipeline.observe(frame_record("s", 0, 0, "one_face"))
    assert observation["objects"] is None
    assert observation["objects_status"] == "unavailable"
    assert "INTEGRITY_YOLO_WEIGHTS" in pipeline.objects.unavailable_reason


def test_masking_the_face_makes_it_absent(pipeline):
    image = scene_image("one_face")
    face = observe(pipeline, image)["faces"][0]
    h, w = image.shape[:2]
    masked = image.copy()
    # Grow the detected box by half its size each way: hair and chin go too.
    x0, y0 = int((face["x"] - face["width"] / 2) * w), int((face["y"] - face["height"] / 2) * h)
    x1, y1 = int((face["x"] + 1.5 * face["width"]) * w), int((face["y"] + 1.5 * face["height"]) * h)
    masked[max(y0, 0) : y1, max(x0, 0) : x1] = 128
    observation = observe(pipeline, masked)
    assert observation["faces"] == []
    assert observation["gaze"] is None and observation["head_pose"] is None


def test_the_face_box_lies_on_the_astronaut(pipeline):
    face = pipeline.observe(frame_record("s", 0, 0, "one_face"))["faces"][0]
    assert face["confidence"] > 0.8
    assert not face["too_small"]
    assert 0.3 < face["x"] + face["width"] / 2 < 0.7
    assert face["y"] + face["height"] / 2 < 0.5


def test_faces_looking_into_the_camera_read_center(pipeline):
    for scene in ("one_face",):
        observation = pipeline.observe(frame_record("s", 0, 0, scene))
        assert observation["gaze"]["direction"] == "center"
        assert observation["gaze"]["off_screen"] < 0.5
        assert abs(observation["head_pose"]["yaw"]) < 8


def test_mirroring_flips_the_head_yaw(pipeline):
    face = zidane_face()
    turned = observe(pipeline, face)["head_pose"]
    mirrored = observe(pipeline, cv2.flip(face, 1))["head_pose"]
    # Zidane's nose points towards the image's right (yaw > 0); in the mirror, towards its left.
    assert turned["yaw"] > 8, turned
    assert mirrored["yaw"] < -8, mirrored
    assert turned["yaw"] == pytest.approx(-mirrored["yaw"], abs=3)
    assert turned["roll"] == pytest.approx(-mirrored["roll"], abs=3)


@pytest.mark.parametrize("degrees", [-20, -10, 10, 20])
def test_rotating_the_image_turns_the_roll_by_as_much(pipeline, degrees):
    image = scene_image("one_face")
    upright = observe(pipeline, image)["head_pose"]["roll"]
    h, w = image.shape[:2]
    # OpenCV's positive angle turns the image counter-clockwise; roll is positive clockwise.
    rotated = cv2.warpAffine(image, cv2.getRotationMatrix2D((w / 2, h / 3), degrees, 1.0), (w, h))
    roll = observe(pipeline, rotated)["head_pose"]["roll"]
    assert roll - upright == pytest.approx(-degrees, abs=3)


@pytest.mark.parametrize("scale", [0.35, 0.2, 0.1, 0.05])
def test_darkened_faces_are_found_or_reported_too_dark(pipeline, scale):
    dark = (scene_image("one_face").astype(np.float32) * scale).astype(np.uint8)
    observation = observe(pipeline, dark)
    assert len(observation["faces"]) == 1 or observation["too_dark"], (scale, observation["brightness"])


def test_a_small_face_is_flagged_too_small(pipeline):
    image = scene_image("one_face")
    small = np.full_like(image, 32)
    small[200:248, 300:364] = cv2.resize(image, (64, 48))
    observation = observe(pipeline, cv2.resize(image, (640, 480)))
    assert not observation["faces"][0]["too_small"]
    tiny = observe(pipeline, small)
    assert all(face["too_small"] for face in tiny["faces"])
    assert tiny["gaze"] is None


def test_timings_are_reported(pipeline):
    timings = pipeline.observe(frame_record("s", 0, 0, "one_face"))["timings_ms"]
    assert {"decode", "faces", "landmarks", "total"} <= set(timings)
    assert timings["total"] >= timings["faces"] + timings["landmarks"]


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


def test_a_frame_whose_image_is_not_its_declared_size_is_refused(pipeline):
    declared = frame_record("s", 0, 0, "one_face") | {"width": 1280, "height": 720}
    with pytest.raises(ImageDecodeError, match="the image is 640x480, the frame declares 1280x720"):
        pipeline.observe(declared)


def test_a_one_pixel_camera_is_an_image_too_small_not_an_absent_face(pipeline):
    one_pixel = encode_jpeg(np.full((1, 1, 3), 128, np.uint8))
    observation = pipeline.observe(frame_record("s", 0, 0, "one_face", image=one_pixel))
    assert observation["image_too_small"] is True and observation["faces"] == []
    assert pipeline.observe(frame_record("s", 0, 0, "one_face"))["image_too_small"] is False


def _png_bomb(width: int, height: int) -> bytes:
    """A valid, all-black RGB PNG of width x height: a few hundred KB that unpack to width*height*3 bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer, row = zlib.compressobj(9), b"\x00" * (1 + 3 * width)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def test_a_decompression_bomb_is_refused_from_its_header_before_decoding():
    bomb = _png_bomb(12_000, 12_000)  # 432 MB once decoded
    assert len(bomb) < 2_000_000
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    with pytest.raises(ImageDecodeError, match="image is 12000x12000, above the 8294400-pixel limit"):
        decode_image(bomb, "PNG")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 100_000  # under 100 MB more


def test_bytes_of_another_encoding_than_declared_are_refused():
    png = cv2.imencode(".png", np.zeros((48, 64, 3), np.uint8))[1].tobytes()
    with pytest.raises(ImageDecodeError, match="do not start like a JPEG"):
        decode_image(png, "JPEG")


def test_png_frames_decode():
    _ok, png = cv2.imencode(".png", np.zeros((48, 64, 3), np.uint8))
    assert decode_image(png.tobytes(), "PNG").shape == (48, 64, 3)
