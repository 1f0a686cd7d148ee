"""The objects' schedule (streams/vision/schedule.py) and the object model's input size setting."""

from __future__ import annotations

import numpy as np
import pytest

from streams.settings import SettingsError, load_settings, yolo_input_size
from streams.vision.schedule import STILL_FACTOR, ObjectsSchedule

STILL = np.full((12, 16), 100, np.uint8)
MOVED = STILL.copy()
MOVED[6, 12] = 140  # one block: a phone coming into a hand


def test_the_first_frame_is_checked_then_once_per_interval_when_the_picture_moves():
    schedule = ObjectsSchedule(every_s=2.0, still_below=6.0)
    assert schedule.due(None, 0, STILL) and schedule.due({}, 0, STILL)
    last = ObjectsSchedule.checked(10_000, STILL)
    assert not schedule.due(last, 11_999, MOVED)
    assert schedule.due(last, 12_000, MOVED)


def test_a_still_picture_waits_longer_and_noise_does_not_count_as_motion():
    schedule = ObjectsSchedule(every_s=2.0, still_below=6.0)
    last = ObjectsSchedule.checked(0, STILL)
    noisy = (STILL.astype(np.int16) + np.random.default_rng(1).integers(-2, 3, STILL.shape)).astype(np.uint8)
    assert not schedule.due(last, 2_000, noisy)
    assert not schedule.due(last, 2_000 * STILL_FACTOR - 1, noisy)
    assert schedule.due(last, 2_000 * STILL_FACTOR, noisy)


def test_off_switches_and_odd_states_check_rather_than_skip():
    assert ObjectsSchedule(every_s=0.0, still_below=6.0).due(ObjectsSchedule.checked(0, STILL), 1, STILL)
    assert ObjectsSchedule(every_s=2.0, still_below=0.0).due(ObjectsSchedule.checked(0, STILL), 2_000, STILL)
    schedule = ObjectsSchedule(every_s=2.0, still_below=6.0)
    assert schedule.due(ObjectsSchedule.checked(5_000, STILL), 4_000, STILL)  # a late, earlier frame
    assert schedule.due({"at_ms": 0, "grid": "not base64!"}, 2_000, STILL)
    assert schedule.due({"at_ms": 0, "grid": ""}, 2_000, STILL)


@pytest.mark.parametrize("text, size", [("640", (640, 640)), ("640x480", (480, 640)), (" 320 X 320 ", (320, 320))])
def test_the_object_input_reads_as_height_and_width(text, size):
    assert yolo_input_size(text) == size


@pytest.mark.parametrize("text", ["", "600", "640x", "0", "640x481", "big"])
def test_an_object_input_that_does_not_fit_is_refused_at_load(text):
    with pytest.raises(SettingsError, match="INTEGRITY_YOLO_INPUT"):
        load_settings({"INTEGRITY_YOLO_INPUT": text})
