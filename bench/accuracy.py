"""`integrity bench accuracy`: the vision stage on real photos and on transformations with known truth.

Prints the table behind docs/ACCURACY.md: faces found against faces present, head-pose changes against
the rotation applied, mirror symmetry of yaw, darkened frames, objects with the real weights.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.output import print_table, write_json
from producers.images import encode_jpeg, fit
from samples.photos import grace_hopper, ultralytics_asset, zidane_face
from samples.scenes import scene_image
from schemas.records import Observation, new_frame
from streams.cli.render import format_objects
from streams.settings import VisionSettings, load_settings
from streams.vision import VisionPipeline

__all__ = ["main"]


def _photos() -> dict[str, np.ndarray]:
    return {
        "astronaut": scene_image("one_face"),
        "grace_hopper": fit(grace_hopper(), 640, 480),
        "two_side_by_side": scene_image("two_faces"),
        "astronaut_head_out_of_frame": scene_image("face_absent"),
        "bus": ultralytics_asset("bus.jpg"),
        "zidane": ultralytics_asset("zidane.jpg"),
        "zidane_face_crop": zidane_face(),
    }


def _observe(pipeline: VisionPipeline, image: np.ndarray) -> Observation:
    with contextlib.redirect_stdout(io.StringIO()):
        height, width = image.shape[:2]
        frame = new_frame("a", 0, encode_jpeg(image, 92), width=width, height=height, captured_at_ms=0)
        return pipeline.observe(frame)


def _row(name: str, truth: str, obs: Observation) -> list[Any]:
    pose: Mapping[str, Any] = obs["head_pose"] or {}
    gaze: Mapping[str, Any] = obs["gaze"] or {}
    return [
        name,
        truth,
        len(obs["faces"]),
        "yes" if obs["too_dark"] else "",
        round(obs["brightness"]),
        pose.get("yaw", "-"),
        pose.get("pitch", "-"),
        pose.get("roll", "-"),
        gaze.get("direction", "-"),
        format_objects(obs["objects"], obs["objects_status"]).removeprefix("objects "),
    ]


def main(out: Path) -> int:
    settings = load_settings()
    pipeline = VisionPipeline(VisionSettings(yolo_weights=settings.vision.yolo_weights, yolo_stride=1))
    with contextlib.redirect_stdout(io.StringIO()):
        pipeline.warm_up()
    photos = _photos()
    rows, records = [], []
    truths = {
        "astronaut": "1 face",
        "grace_hopper": "1 face",
        "two_side_by_side": "2 faces",
        "astronaut_head_out_of_frame": "0 faces",
        "bus": "4 people (faces tiny)",
        "zidane": "2 people",
        "zidane_face_crop": "1 face, turned right",
    }
    for name, image in photos.items():
        obs = _observe(pipeline, image)
        rows.append(_row(name, truths[name], obs))
        records.append(
            {
                "image": name,
                "truth": truths[name],
                "faces": len(obs["faces"]),
                "head_pose": obs["head_pose"],
                "gaze": obs["gaze"],
                "objects": obs["objects"],
            }
        )
        mirrored = _observe(pipeline, cv2.flip(image, 1))
        rows.append(_row(f"  {name} mirrored", truths[name], mirrored))

    astronaut = photos["astronaut"]
    h, w = astronaut.shape[:2]
    upright_pose = _observe(pipeline, astronaut)["head_pose"]
    assert upright_pose is not None, "no head pose on the upright astronaut"
    upright = upright_pose["roll"]
    roll_errors = []
    for degrees in (-30, -20, -10, 10, 20, 30):
        rotated = cv2.warpAffine(astronaut, cv2.getRotationMatrix2D((w / 2, h / 3), degrees, 1.0), (w, h))
        obs = _observe(pipeline, rotated)
        rows.append(_row(f"astronaut rotated {-degrees:+d} deg clockwise", f"roll change {-degrees:+d}", obs))
        if obs["head_pose"]:
            roll_errors.append(abs(obs["head_pose"]["roll"] - upright - (-degrees)))
    for scale in (0.5, 0.35, 0.25, 0.15, 0.1, 0.05):
        dark = (astronaut.astype(np.float32) * scale).astype(np.uint8)
        rows.append(_row(f"astronaut x{scale} brightness", "1 face or too dark", _observe(pipeline, dark)))

    header = ["image", "truth", "faces", "too dark", "luma", "yaw", "pitch", "roll", "gaze", "objects (>=0.4)"]
    print_table("vision accuracy on real photos", header, rows)
    summary = {
        "roll_error_deg_max": round(max(roll_errors), 2),
        "roll_error_deg_mean": round(float(np.mean(roll_errors)), 2),
    }
    print(
        f"\nroll error against the applied rotation: mean {summary['roll_error_deg_mean']} deg, "
        f"max {summary['roll_error_deg_max']} deg"
    )
    write_json(out, {"accuracy": records, "rows": rows, **summary})
    return 0
