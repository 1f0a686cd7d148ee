"""Objects in view with Ultralytics YOLO (COCO classes): phones, books, laptops, other people.

The weights are configuration: a path (``.pt``, ``.onnx``, ``.tflite``, an OpenVINO folder...) or an
Ultralytics model name that a connected machine downloads once. Without weights the detector is
*unavailable*, says why, and every observation says objects were not checked.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from schemas.records import DetectedObject

__all__ = ["INTERESTING_LABELS", "ObjectDetector", "WeightsError", "import_ultralytics"]

log = logging.getLogger(__name__)

# COCO names as Ultralytics spells them. "person" counts people beyond the candidate.
INTERESTING_LABELS = frozenset({"person", "cell phone", "book", "laptop"})


class WeightsError(RuntimeError):
    """Configured YOLO weights that cannot be loaded; the message says which and what to do."""


def import_ultralytics() -> ModuleType:
    """Ultralytics, imported with its log bound to stderr. Import it through here, never directly.

    Ultralytics binds its log handler to ``sys.stdout`` when first imported, and on a machine where it
    never ran that import writes a settings file and says so: two lines in the middle of
    ``integrity analyze --json``. Stdout carries only the product's output, so the handler is bound to
    stderr instead."""
    with contextlib.redirect_stdout(sys.stderr):
        import ultralytics
    return ultralytics


@cache
def _coco_table() -> dict[int, str]:
    import yaml

    path = Path(import_ultralytics().__file__ or "").parent / "cfg" / "datasets" / "coco.yaml"
    return {int(k): v for k, v in yaml.safe_load(path.read_text())["names"].items()}


def _coco_names(names: dict[int, str]) -> dict[int, str]:
    """The model's class names; COCO's when it carries only numbers (built from a YAML, or exported
    without metadata), so class 67 still reads "cell phone"."""
    if names and all(str(name).isdigit() for name in names.values()):
        return _coco_table()
    return names


def _inside(inner: DetectedObject, outer: DetectedObject) -> float:
    """Share of ``inner``'s area that lies inside ``outer``."""
    w = min(inner["x"] + inner["width"], outer["x"] + outer["width"]) - max(inner["x"], outer["x"])
    h = min(inner["y"] + inner["height"], outer["y"] + outer["height"]) - max(inner["y"], outer["y"])
    area = inner["width"] * inner["height"]
    return max(w, 0.0) * max(h, 0.0) / area if area > 0 else 0.0


def _drop_spanning_people(found: list[DetectedObject]) -> list[DetectedObject]:
    """Drop a "person" box that covers most (60%+) of two other, more confident person boxes.

    The INT8 YOLOv8n model also boxes two people side by side as one (zidane.jpg: a 0.45-0.50 box
    spanning both), and NMS keeps it because it overlaps each of them too little. Counted, it would
    read as a third person. Lowering NMS IoU to remove it would also merge people who truly overlap.
    """
    people = [obj for obj in found if obj["label"] == "person"]
    spanning = {
        id(box)
        for box in people
        if sum(1 for other in people if other["confidence"] > box["confidence"] and _inside(other, box) >= 0.6) >= 2
    }
    return [obj for obj in found if id(obj) not in spanning]


class ObjectDetector:
    """YOLO on BGR frames; one model per thread (Ultralytics predictors keep per-call state)."""

    def __init__(self, weights: str, min_confidence: float = 0.4, imgsz: int | tuple[int, int] = 640) -> None:
        self.weights = weights
        self.min_confidence = min_confidence
        self.imgsz = imgsz
        self._local = threading.local()
        self.unavailable_reason: str | None = self._check(weights)
        if self.unavailable_reason:
            log.warning(
                "OBJECT DETECTION IS OFF: %s. No frame will be checked for phones or books.", self.unavailable_reason
            )

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

    def verify(self) -> None:
        """Load the configured weights now, or raise ``WeightsError`` naming them (corrupt, or a model
        name that would need a download here). Nothing to do when object detection is off."""
        if not self.available:
            return
        try:
            self.detect(np.zeros((64, 64, 3), dtype=np.uint8))  # Ultralytics loads a backend on first use
        except Exception as exc:
            raise WeightsError(
                f"the YOLO weights {self.weights!r} could not be loaded ({type(exc).__name__}: {exc}). Point "
                "INTEGRITY_YOLO_WEIGHTS at a weights file on disk (a model name needs a download), or leave it "
                "empty to run without object detection"
            ) from exc

    def _model(self) -> Any:  # ultralytics.YOLO
        model = getattr(self._local, "model", None)
        if model is None:
            ultralytics = import_ultralytics()  # heavy (torch): only when objects are on
            from ultralytics.utils import LOGGER

            # "Loading ... for LiteRT inference" on every load is noise in a worker's log.
            LOGGER.setLevel(logging.WARNING)
            model = ultralytics.YOLO(self.weights, task="detect")
            self._local.model = model
        return model

    def detect(self, bgr: np.ndarray) -> list[DetectedObject]:
        """Objects of ``INTERESTING_LABELS`` at or above ``min_confidence``, most confident first, boxes
        relative to the frame (0..1)."""
        if not self.available:
            raise RuntimeError(f"object detection unavailable: {self.unavailable_reason}")
        model = self._model()
        result = model.predict(bgr, imgsz=self.imgsz, conf=self.min_confidence, verbose=False)[0]
        names = _coco_names(result.names)
        found = []
        for (x0, y0, x1, y1), confidence, cls in zip(
            result.boxes.xyxyn.tolist(), result.boxes.conf.tolist(), result.boxes.cls.tolist(), strict=True
        ):
            label = names[int(cls)]
            if label in INTERESTING_LABELS:
                found.append(
                    DetectedObject(
                        label=label, confidence=round(confidence, 4), x=x0, y=y0, width=x1 - x0, height=y1 - y0
                    )
                )
        found.sort(key=lambda obj: obj["confidence"], reverse=True)
        return _drop_spanning_people(found)
