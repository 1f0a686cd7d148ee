"""Face detection with MediaPipe's BlazeFace models, which ship inside the mediapipe 0.10.21 wheel."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import mediapipe as mp
import numpy as np

__all__ = ["Face", "FaceDetector", "FaceScan"]

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
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        detections = self._graph().process(rgb).detections or []
        faces: list[Face] = []
        best_rejected = 0.0
        for detection in detections:
            score = float(detection.score[0])
            if score < self.min_confidence:
                best_rejected = max(best_rejected, score)
                continue
            box = detection.location_data.relative_bounding_box
            x0, y0 = max(0.0, box.xmin), max(0.0, box.ymin)
            x1, y1 = min(1.0, box.xmin + box.width), min(1.0, box.ymin + box.height)
            faces.append(Face(score, x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0)))
        faces.sort(key=lambda face: face.confidence, reverse=True)
        return FaceScan(tuple(faces), best_rejected)
