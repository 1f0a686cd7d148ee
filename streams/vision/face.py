"""Face detection with MediaPipe's BlazeFace models, which ship inside the mediapipe 0.10.21 wheel."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import cv2
import mediapipe as mp
import numpy as np

__all__ = ["Face", "FaceDetector", "FaceScan", "centred_detection"]

# Candidates are asked of the model down to this score, so that "no face" can say how close the
# nearest miss came (absence confidence = 1 - best rejected score).
_CANDIDATE_FLOOR = 0.2


@dataclass(frozen=True)
class Face:
    confidence: float
    # Box relative to the frame, clipped to 0..1.
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class FaceScan:
    faces: tuple[Face, ...]
    # Highest score among candidates below the acceptance threshold (0 when none).
    best_rejected: float
    # MediaPipe's Detection of each face, in the same order: the face mesh reads the region it found.
    detections: tuple[Any, ...] = field(default=(), compare=False, repr=False)


class FaceDetector:
    """Counts faces in BGR frames. Safe to call from several threads: each gets its own graph."""

    def __init__(self, model_selection: int = 1, min_confidence: float = 0.5) -> None:
        self.model_selection = model_selection
        self.min_confidence = min_confidence
        self._local = threading.local()

    def _graph(self) -> mp.solutions.face_detection.FaceDetection:
        graph = getattr(self._local, "graph", None)
        if graph is None:
            graph = mp.solutions.face_detection.FaceDetection(
                model_selection=self.model_selection,
                min_detection_confidence=min(_CANDIDATE_FLOOR, self.min_confidence),
            )
            self._local.graph = graph
        return graph

    def scan(self, bgr: np.ndarray) -> FaceScan:
        return self.scan_rgb(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    def scan_rgb(self, rgb: np.ndarray) -> FaceScan:
        detections = self._graph().process(rgb).detections or []
        found: list[tuple[Face, Any]] = []
        best_rejected = 0.0
        for detection in detections:
            score = float(detection.score[0])
            if score < self.min_confidence:
                best_rejected = max(best_rejected, score)
                continue
            box = detection.location_data.relative_bounding_box
            x0, y0 = max(0.0, box.xmin), max(0.0, box.ymin)
            x1, y1 = min(1.0, box.xmin + box.width), min(1.0, box.ymin + box.height)
            found.append((Face(score, x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0)), detection))
        found.sort(key=lambda pair: pair[0].confidence, reverse=True)
        return FaceScan(tuple(face for face, _ in found), best_rejected, tuple(source for _, source in found))


def centred_detection() -> Any:
    """A MediaPipe ``Detection`` of a face in the middle of the frame (box and six keypoints, relative):
    loads the face mesh's graph at warm-up without needing a real face."""
    from mediapipe.framework.formats import detection_pb2

    detection = detection_pb2.Detection()
    detection.score.append(1.0)
    data = detection.location_data
    data.format = data.RELATIVE_BOUNDING_BOX
    box = data.relative_bounding_box
    box.xmin, box.ymin, box.width, box.height = 0.4, 0.35, 0.2, 0.3
    # right eye, left eye, nose tip, mouth, right ear, left ear (BlazeFace's order)
    for x, y in ((0.46, 0.45), (0.54, 0.45), (0.5, 0.52), (0.5, 0.58), (0.41, 0.47), (0.59, 0.47)):
        point = data.relative_keypoints.add()
        point.x, point.y = x, y
    return detection
