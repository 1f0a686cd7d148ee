"""The vision stage offline, on images or video files (``integrity analyze`` prints it per frame).

What users run to check a camera setup. The inputs
form one session, in order; capture times are spaced by ``fps``. The same code as the worker runs:
the vision pipeline, the behaviour analyser and the risk engine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

from producers.images import IMAGE_SUFFIXES, encode_jpeg, image_files, iter_images, read_image
from schemas.records import ImageEncoding, Observation, Verdict, new_frame
from streams.risk import PolicyBook, RiskEngine
from streams.settings import Settings
from streams.vision import BehaviourAnalyser, VisionPipeline, decode_image

__all__ = ["AnalysedFrame", "analyze", "iter_frames", "with_objects_every"]

# Files sent as they are, like a webcam's own JPEGs; other images (.bmp) are re-encoded as JPEG.
_ENCODINGS: dict[str, ImageEncoding] = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}


class AnalysedFrame(TypedDict):
    name: str
    observation: Observation
    attention: float
    risk_score: float
    verdict: Verdict


def iter_frames(paths: list[Path]) -> Iterator[tuple[str, bytes, ImageEncoding]]:
    """(name, encoded image, encoding) for each image file, each image of a folder, each video frame."""
    for path in paths:
        suffix = path.suffix.lower()
        if path.is_dir():
            yield from iter_frames(image_files(path))
        elif suffix in _ENCODINGS:
            yield path.name, path.read_bytes(), _ENCODINGS[suffix]
        elif suffix in IMAGE_SUFFIXES:
            yield path.name, encode_jpeg(read_image(path), 95), "JPEG"
        else:
            for index, image in enumerate(iter_images(path)):
                yield f"{path.name}#{index}", encode_jpeg(image, 95), "JPEG"


def analyze(paths: list[Path], settings: Settings, fps: float = 5.0) -> Iterator[AnalysedFrame]:
    """Observation, behaviours and live risk per frame, with the frame's ``name``."""
    pipeline = VisionPipeline(settings.vision)
    pipeline.warm_up()
    analyser = BehaviourAnalyser(settings.behaviour, settings.vision)
    engine = RiskEngine(PolicyBook(settings.risk.policy_dir, settings.risk.default_policy))
    behaviour_state = risk_state = check = None
    for sequence, (name, image, encoding) in enumerate(iter_frames(paths)):
        height, width = decode_image(image, encoding).shape[:2]  # a Frame declares its size
        frame = new_frame(
            "analyze",
            sequence,
            image,
            width=width,
            height=height,
            captured_at_ms=int(sequence * 1000 / fps),
            encoding=encoding,
        )
        observation, check = pipeline.observe_in_session(frame, check)
        behaviour_state = analyser.annotate(behaviour_state, observation)
        risk_state, result = engine.apply(risk_state, observation)
        yield {
            "name": name,
            "observation": observation,
            "attention": result["attention"],
            "risk_score": result["risk_score"],
            "verdict": result["verdict"],
        }


def with_objects_every(settings: Settings, every_s: float) -> Settings:
    return dataclasses.replace(settings, vision=dataclasses.replace(settings.vision, objects_every_s=every_s))
