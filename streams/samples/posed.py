"""Faces at a known head pose, rendered from a real frontal photo: ground truth for head pose and gaze.

The face mesh of the photo (MediaPipe, 468 points with depth) is rotated in 3D about the face's centre by
a known yaw and pitch, projected back orthographically, and the photo's texture is warped triangle by
triangle (a Delaunay triangulation of the frontal mesh) onto the rotated mesh, farthest triangles first,
those turned away from the camera left out. The eyes are part of the texture, so they stay fixed in the
head: the truth for where the face looks is the rotation itself. What lies outside the face (hair, ears,
the background) is not rotated; the face's old place is filled in first so no second face shows.

Orthographic projection and a rigid mesh are approximations (a real head is seen in perspective, and
turning it shows an ear); beyond about 40 degrees the texture of the far side is stretched thin.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy.spatial import Delaunay

__all__ = ["PoseRenderer", "rotation"]

_FACE_POINTS = 468  # the mesh without its iris points: the iris moves with the eye's texture


def rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Rotation in image coordinates (x right, y down, z away from the camera). Yaw > 0 turns the face
    towards the image's right, pitch > 0 tilts it down: the signs of ``streams.vision.head_pose``."""
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    # About the vertical axis: the nose (nearest the camera, z < 0) moves to +x for yaw > 0.
    about_y = np.array([[math.cos(yaw), 0, -math.sin(yaw)], [0, 1, 0], [math.sin(yaw), 0, math.cos(yaw)]])
    # About the horizontal axis: the nose moves down (+y) for pitch > 0.
    about_x = np.array([[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]])
    return about_x @ about_y


class PoseRenderer:
    """Renders one photo's face at any yaw and pitch; built once per photo (one mesh, one triangulation)."""

    def __init__(self, image: np.ndarray, landmarks: np.ndarray) -> None:
        """``landmarks``: the photo's (478, 3) face mesh in pixels, from ``FaceLandmarker``."""
        self.image = image
        self.points = landmarks[:_FACE_POINTS].astype(np.float64)
        self.triangles = Delaunay(self.points[:, :2]).simplices
        hull = cv2.convexHull(self.points[:, :2].astype(np.int32))
        mask = np.zeros(image.shape[:2], np.uint8)
        cv2.fillConvexPoly(mask, hull, (255,))
        # The face's old place, filled from its surroundings: where the turned face no longer covers it,
        # skin and background show, not a second face.
        grown = cv2.dilate(mask, np.ones((9, 9), np.uint8))
        self.background = cv2.inpaint(image, grown, 5, cv2.INPAINT_TELEA)

    def moved_mesh(self, yaw_deg: float, pitch_deg: float = 0.0) -> np.ndarray:
        """The (468, 3) mesh the face is drawn on: the photo's own, rotated about its centre."""
        centre = self.points.mean(axis=0)
        moved: np.ndarray = (self.points - centre) @ rotation(yaw_deg, pitch_deg).T + centre
        return moved

    def render(self, yaw_deg: float, pitch_deg: float = 0.0) -> np.ndarray:
        moved = self.moved_mesh(yaw_deg, pitch_deg)
        out = self.background.copy()
        depth = moved[self.triangles, 2].mean(axis=1)
        for index in np.argsort(-depth):  # farthest first: nearer triangles paint over them
            triangle = self.triangles[index]
            source, target = self.points[triangle, :2], moved[triangle, :2]
            if _signed_area(target) * _signed_area(source) <= 0:
                continue  # turned away from the camera
            _warp_triangle(self.image, out, source.astype(np.float32), target.astype(np.float32))
        return out


def _signed_area(triangle: np.ndarray) -> float:
    (ax, ay), (bx, by), (cx, cy) = triangle
    return float((bx - ax) * (cy - ay) - (by - ay) * (cx - ax))


def _warp_triangle(source_image: np.ndarray, out: np.ndarray, source: np.ndarray, target: np.ndarray) -> None:
    height, width = out.shape[:2]
    x, y, w, h = cv2.boundingRect(target)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x1 <= x0 or y1 <= y0:
        return
    sx, sy, sw, sh = cv2.boundingRect(source)
    patch = source_image[sy : sy + sh, sx : sx + sw]
    if patch.size == 0:
        return
    shift_source = np.array([sx, sy], np.float32)
    shift_target = np.array([x0, y0], np.float32)
    matrix = cv2.getAffineTransform(source - shift_source, target - shift_target)
    warped = cv2.warpAffine(
        patch, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(mask, np.round(target - shift_target).astype(np.int32), (255,), lineType=cv2.LINE_8)
    region = out[y0:y1, x0:x1]
    region[mask > 0] = warped[mask > 0]
