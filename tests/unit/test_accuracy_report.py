"""``integrity evaluate --accuracy``: the labelled sets carry the truth they claim, and a reduced run of
the report has every section, tables with numbers, and the baseline's effect on false gaze flags."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from streams.offline.accuracy import SECTIONS, Accuracy, AccuracyPlan, generated_line, markdown, measure
from streams.samples.accuracy_sets import (
    DARK_SCALES,
    RENDER_MAX_PITCH,
    RENDER_MAX_YAW,
    ROTATIONS_DEG,
    SMALL_FACE_WIDTHS,
    FacePlace,
    LabelledImage,
    face_photo,
    face_sets,
    gaze_turns,
    people_sets,
    pose_grid,
)
from streams.vision.face import FaceDetector
from streams.vision.landmarks import FaceLandmarker


@pytest.fixture(scope="module")
def grace() -> tuple[np.ndarray, FacePlace]:
    image = face_photo("grace_hopper")
    points = FaceLandmarker().landmarks(image)
    assert points is not None
    return image, FacePlace.from_landmarks(points)


@pytest.fixture(scope="module")
def sets(grace: tuple[np.ndarray, FacePlace]) -> list[LabelledImage]:
    image, place = grace
    return face_sets({"grace_hopper": image}, {"grace_hopper": place}, with_scenes=True)


def _of(sets: list[LabelledImage], condition: str) -> list[LabelledImage]:
    return [s for s in sets if s.condition == condition]


def test_mirrored_keeps_the_count_and_is_the_flipped_original(sets: list[LabelledImage]) -> None:
    originals = {s.source: s for s in _of(sets, "original")}
    mirrored = _of(sets, "mirrored")
    assert {s.source for s in mirrored} == set(originals) == {"grace_hopper", "face_absent"}
    for image in mirrored:
        assert image.faces == originals[image.source].faces
        assert np.array_equal(image.image, cv2.flip(originals[image.source].image, 1))


def test_small_faces_have_the_width_claimed(sets: list[LabelledImage], grace: tuple[np.ndarray, FacePlace]) -> None:
    small = _of(sets, "small")
    assert [s.face_width_px is not None and round(s.face_width_px) for s in small] == list(SMALL_FACE_WIDTHS)
    detector = FaceDetector(1, 0.5)
    for image in small:
        assert image.image.shape == (480, 640, 3)
        assert image.face_width_px is not None
        # Independently of the set's arithmetic: the face detector's box is about as wide as claimed.
        faces = detector.scan(image.image).faces
        assert len(faces) == 1
        assert abs(faces[0].width * 640 - image.face_width_px) <= 0.25 * image.face_width_px


def test_dark_rotated_and_two_people_sets(sets: list[LabelledImage], grace: tuple[np.ndarray, FacePlace]) -> None:
    image, _ = grace
    dark = _of(sets, "dark")
    for labelled, scale in zip(dark, DARK_SCALES, strict=True):
        assert labelled.image.mean() == pytest.approx(image.mean() * scale, abs=1.0)  # uint8 floors
    assert [s.roll_deg for s in _of(sets, "rotated")] == [float(d) for d in ROTATIONS_DEG]
    assert all(s.faces == 1 for s in _of(sets, "occluded") + _of(sets, "blurred"))
    assert [s.faces for s in people_sets()] == [2, 2, 2]


def test_gaze_turns_are_truly_on_or_off_the_screen() -> None:
    turns = gaze_turns(20.0, 13.0)
    assert {t.on_screen for t in turns} == {True, False}
    for turn in turns:
        yaw, pitch = turn.turn
        if turn.on_screen:
            assert abs(yaw) <= 15.0 and abs(pitch) <= 8.0
        else:
            assert abs(yaw) >= 35.0 or abs(pitch) >= 28.0
        assert abs(turn.rendered[0]) <= RENDER_MAX_YAW and abs(turn.rendered[1]) <= RENDER_MAX_PITCH
    assert len(pose_grid((0, 10), (0, -10, 10))) == 6


@pytest.fixture(scope="module")
def quick() -> Accuracy:
    return measure(AccuracyPlan.quick(), weights="", command="integrity evaluate --accuracy --out -")


def test_a_quick_report_has_every_section_and_tables_with_numbers(quick: Accuracy) -> None:
    text = markdown(quick)
    lines = text.splitlines()
    assert lines[0] == generated_line("integrity evaluate --accuracy --out -")
    positions = [text.index(title + "\n") for title in SECTIONS]
    assert positions == sorted(positions)
    # The face table: condition, images, faces present, faces found, miss rate, false faces, ...
    assert re.search(r"^\| original \| 1 \| 1 \| 1 \| 0% \| 0 \|", text, re.MULTILINE)
    assert re.search(r"^\| 20° \| 4/4 \| \d+\.\d° \| \d+\.\d° \| [+-]\d+\.\d° \| 0\.\d\d \|", text, re.MULTILINE)
    assert re.search(r"^\| with baseline \| \d+ \| \d+% \(\d+\) \| \d+ \| \d+% \(\d+\) \|", text, re.MULTILINE)
    assert "Objects were not measured" in text


def test_the_baseline_lowers_false_gaze_flags_on_an_offset_camera(quick: Accuracy) -> None:
    on_screen = [g for g in quick.gaze if g.on_screen]
    frames = sum(g.frames for g in on_screen)
    assert frames > 0 and all(g.unset == 0 for g in quick.gaze)
    with_baseline = sum(g.flagged_baseline for g in on_screen) / frames
    without = sum(g.flagged_camera for g in on_screen) / frames
    assert with_baseline < without
