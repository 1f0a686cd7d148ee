"""Objects in view with Ultralytics YOLO (COCO classes): phones, books, laptops, other people.

The weights are configuration: a path (``.pt``, ``.onnx``, ``.tflite``, an OpenVINO folder...) or an
Ultralytics model name that a connected machine downloads once. Without weights the detector is
*unavailable*, says why, and every observation says objects were not checked.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["INTERESTING_LABELS", "DetectedObject", "ObjectDetector"]

log = logging.getLogger(__name__)

# COCO names as Ultralytics spells them. "person" counts people beyond the candidate.
INTERESTING_LABELS = frozenset({"person", "cell phone", "book", "laptop"})


@dataclass(frozen=True)
class DetectedObject:
    label: str
    confidence: float
    # Box relative to the frame (0..1).
    x: float
    y: float
    width: float
    height: float


class ObjectDetector:
    """YOLO on BGR frames; one model per thread (Ultralytics predictors keep per-call state)."""

    def __init__(self, weights: str, min_confidence: float = 0.4, imgsz: int = 640) -> None:
        self.weights = weights
        self.min_confidence = min_confidence
        self.imgsz = imgsz
        self._local = threading.local()
        self.unavailable_reason: str | None = self._check(weights)
        if self.unavailable_reason:
            log.warning("OBJECT DETECTION IS OFF: %s. No frame will be checked for phones or books.",
                        self.unavailable_reason)

    @staticmethod
    def _check(weights: str) -> str | None:
        if not weights:
            return "no weights configured (set INTEGRITY_YOLO_WEIGHTS)"
        looks_like_path = "/" in weights or Path(weights).suffix in {".tflite", ".onnx", ".engine", ".torchscript"}
        if looks_like_path and not Path(weights).exists():
            return f"weights not found at {weights}"
        return None

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    def _model(self):  # -> ultralytics.YOLO
        model = getattr(self._local, "model", None)
        if model is None:
            from ultralytics import YOLO  # heavy import (torch): only when objects are on

            model = YOLO(self.weights, task="detect")
            self._local.model = model
        return model

    def detect(self, bgr: np.ndarray) -> list[DetectedObject]:
        """Objects of ``INTERESTING_LABELS`` at or above ``min_confidence``, most confident first."""
        if not self.available:
            raise RuntimeError(f"object detection unavailable: {self.unavailable_reason}")
        model = self._model()
        result = model.predict(bgr, imgsz=self.imgsz, conf=self.min_confidence, verbose=False)[0]
        names = result.names
        found = []
        for (x0, y0, x1, y1), confidence, cls in zip(
            result.boxes.xyxyn.tolist(), result.boxes.conf.tolist(), result.boxes.cls.tolist(), strict=True
        ):
            label = names[int(cls)]
            if label in INTERESTING_LABELS:
                found.append(DetectedObject(label, round(confidence, 4), x0, y0, x1 - x0, y1 - y0))
        found.sort(key=lambda obj: obj.confidence, reverse=True)
        return found
