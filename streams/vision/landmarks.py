"""MediaPipe Face Mesh with refined iris landmarks (478 points), from the mediapipe 0.10.21 wheel.

Two ways in:
- ``landmarks_at``: the mesh on the region of a face the detector already found. The frame's face is
  detected once (``streams.vision.face``); this graph is MediaPipe's own face-mesh graph without its
  detector: the detection's box and eye keypoints give the rotated region (``FaceDetectionFrontDetectionToRoi``),
  the attention mesh reads it (``FaceLandmarkCpu``). Measured on the 640x480 astronaut frame (AMD EPYC,
  2026-12-03): 2.3 ms against 4.5 ms for the mesh with its own detection.
- ``landmarks``: the mesh with its own face detection, for images whose face nobody detected yet
  (the accuracy sets' reference meshes).

Both are stateless on purpose: one worker interleaves frames of many sessions, and the mesh's tracking
mode would carry one candidate's face region into another's frame (and answer a frame differently
depending on the frame before it).
"""

from __future__ import annotations

import threading
from typing import Any

import cv2
import mediapipe as mp
import numpy as np
from google.protobuf import text_format
from mediapipe.framework import calculator_pb2
from mediapipe.python.solution_base import SolutionBase

__all__ = ["FaceLandmarker"]

# The tail of mediapipe/modules/face_landmark/face_landmark_front_cpu.pbtxt, fed one detection.
_MESH_AT_DETECTION = """
input_stream: "IMAGE:image"
input_stream: "DETECTION:detection"
output_stream: "LANDMARKS:face_landmarks"
input_side_packet: "WITH_ATTENTION:with_attention"
node {
  calculator: "ImagePropertiesCalculator"
  input_stream: "IMAGE:image"
  output_stream: "SIZE:image_size"
}
node {
  calculator: "FaceDetectionFrontDetectionToRoi"
  input_stream: "DETECTION:detection"
  input_stream: "IMAGE_SIZE:image_size"
  output_stream: "ROI:roi"
}
node {
  calculator: "FaceLandmarkCpu"
  input_stream: "IMAGE:image"
  input_stream: "ROI:roi"
  input_side_packet: "WITH_ATTENTION:with_attention"
  output_stream: "LANDMARKS:face_landmarks"
}
"""


# The mesh graph reads the region of BlazeFace's *short-range* box; the worker detects with the model
# its settings name (full range by default), whose box is larger (x0.87-0.95 in width on the packaged
# photos) and sits higher (its centre ~4% of the box's height above). The box is brought to the short
# range's place before the region is cut. Chosen by `integrity evaluate --accuracy` (2026-12-03; see
# docs/PERFORMANCE.md): with it, gaze flags with the baseline beat the mesh's own detection (81% of
# off-screen frames caught against 77%, 6 false flags against 8 in 630).
_BOX_SCALE = 0.88
_BOX_DROP = 0.04


def _as_short_range(detection: Any) -> Any:
    from mediapipe.framework.formats import detection_pb2

    moved = detection_pb2.Detection()
    moved.CopyFrom(detection)
    box = moved.location_data.relative_bounding_box
    centre_x = box.xmin + box.width / 2
    centre_y = box.ymin + box.height / 2 + _BOX_DROP * box.height
    box.width *= _BOX_SCALE
    box.height *= _BOX_SCALE
    box.xmin, box.ymin = centre_x - box.width / 2, centre_y - box.height / 2
    return moved


def _pixels(landmarks: Any, width: int, height: int) -> np.ndarray:
    return np.array([(p.x * width, p.y * height, p.z * width) for p in landmarks.landmark], dtype=np.float64)


class FaceLandmarker:
    """Landmarks of one face, as an (478, 3) array in pixels (z in x's scale). Each thread gets its own
    graphs (MediaPipe graphs are not reentrant)."""

    def __init__(self, min_confidence: float = 0.5) -> None:
        self.min_confidence = min_confidence
        self._local = threading.local()

    def _searching_graph(self) -> mp.solutions.face_mesh.FaceMesh:
        graph = getattr(self._local, "searching", None)
        if graph is None:
            graph = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True,
                max_num_faces=1,
                refine_landmarks=True,
                min_detection_confidence=self.min_confidence,
            )
            self._local.searching = graph
        return graph

    def _region_graph(self) -> SolutionBase:
        graph = getattr(self._local, "region", None)
        if graph is None:
            config = text_format.Parse(_MESH_AT_DETECTION, calculator_pb2.CalculatorGraphConfig())
            graph = SolutionBase(graph_config=config, side_inputs={"with_attention": True}, outputs=["face_landmarks"])
            self._local.region = graph
        return graph

    def landmarks(self, bgr: np.ndarray) -> np.ndarray | None:
        """The most prominent face's mesh, found by the mesh's own detector."""
        result = self._searching_graph().process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        if not result.multi_face_landmarks:
            return None
        height, width = bgr.shape[:2]
        return _pixels(result.multi_face_landmarks[0], width, height)

    def landmarks_at(self, rgb: np.ndarray, detection: Any) -> np.ndarray | None:
        """The mesh of the face a MediaPipe ``Detection`` (box and keypoints) found in this RGB image; None
        when the mesh model says the region holds no face."""
        result = self._region_graph().process({"image": rgb, "detection": _as_short_range(detection)})
        if result.face_landmarks is None:
            return None
        height, width = rgb.shape[:2]
        return _pixels(result.face_landmarks, width, height)
