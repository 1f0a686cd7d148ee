"""``integrity analyze``: the vision stage offline, on images or video files, one line (or JSON) per frame.

What users run to check a camera setup, and what the accuracy tests and benchmarks use. The inputs
form one session, in order; capture times are spaced by ``fps``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from producers.images import IMAGE_SUFFIXES, encode_jpeg, iter_images
from streams.config import Settings
from streams.risk import PolicyBook, RiskEngine
from streams.vision import BehaviourAnalyser, VisionPipeline

__all__ = ["analyze", "format_observation", "iter_frames"]

_ENCODINGS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}


def iter_frames(paths: list[Path]) -> Iterator[tuple[str, bytes, str]]:
    """(name, encoded image, encoding) for each image file, each image of a folder, each video frame."""
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            yield from iter_frames(files)
        elif path.suffix.lower() in _ENCODINGS:
            yield path.name, path.read_bytes(), _ENCODINGS[path.suffix.lower()]
        else:
            for index, image in enumerate(iter_images(path)):
                yield f"{path.name}#{index}", encode_jpeg(image, 95), "JPEG"


def analyze(paths: list[Path], settings: Settings, fps: float = 5.0) -> Iterator[dict[str, Any]]:
    """Observation, behaviours and live risk per frame, as dicts with the frame's ``name``."""
    pipeline = VisionPipeline(settings.vision)
    pipeline.warm_up()
    analyser = BehaviourAnalyser(settings.behaviour)
    engine = RiskEngine(PolicyBook(settings.risk.policy_dir, settings.risk.default_policy))
    behaviour_state = risk_state = None
    for sequence, (name, image, encoding) in enumerate(iter_frames(paths)):
        frame = {
            "session_id": "analyze",
            "candidate_id": "",
            "sequence": sequence,
            "captured_at_ms": int(sequence * 1000 / fps),
            "image": image,
            "encoding": encoding,
        }
        observation = pipeline.observe(frame)
        behaviour_state = analyser.annotate(behaviour_state, observation)
        risk_state, result = engine.apply(risk_state, observation)
        yield {
            "name": name,
            "observation": observation,
            "attention": result["attention"],
            "risk_score": result["risk_score"],
            "verdict": result["verdict"],
        }


def with_stride(settings: Settings, stride: int) -> Settings:
    return dataclasses.replace(settings, vision=dataclasses.replace(settings.vision, yolo_stride=stride))


def format_observation(row: dict[str, Any]) -> str:
    obs = row["observation"]
    faces = obs["faces"]
    parts = [f"{row['name']:<22}", f"faces {len(faces)}" + (f" ({faces[0]['confidence']:.2f})" if faces else "")]
    if obs["too_dark"]:
        parts.append(f"TOO DARK ({obs['brightness']:.0f})")
    if any(face["too_small"] for face in faces):
        parts.append("face too small")
    pose = obs["head_pose"]
    if pose:
        parts.append(f"head yaw {pose['yaw']:+.1f} pitch {pose['pitch']:+.1f} roll {pose['roll']:+.1f}")
    gaze = obs["gaze"]
    if gaze:
        closed = " eyes closed" if gaze["eyes_closed"] else ""
        parts.append(
            f"gaze {gaze['direction']} (off {gaze['off_screen']:.2f}){closed} mouth {gaze['mouth_open_ratio']:.2f}"
        )
    if obs["objects"] is None:
        parts.append(f"objects {obs['objects_status']}")
    else:
        listed = ", ".join(f"{o['label']} {o['confidence']:.2f}" for o in obs["objects"]) or "none"
        parts.append(f"objects [{listed}]")
    parts.append(f"attention {row['attention']:.0f}")
    if obs["conditions"]:
        parts.append("now [" + ", ".join(c["type"] for c in obs["conditions"]) + "]")
    parts.append(f"{obs['timings_ms']['total']:.1f} ms")
    return "  ".join(parts)
