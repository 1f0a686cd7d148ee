"""Head yaw, pitch and roll from the face mesh's own 3D landmarks.

The face's axes are read off the mesh: x from the outer corner of one eye to the other's (33 -> 263),
y from the top of the forehead to the chin (10 -> 152, made orthogonal to x), z = x cross y. Their
rotation against the camera's axes gives the angles. This needs no generic 3D head and no camera
intrinsics; solvePnP against the six-point generic head of LearnOpenCV's tutorial was tried first and
read 15-30 degrees of pitch on faces looking into the camera, with a yaw that was not mirror-symmetric.

Signs, as seen in the video: yaw > 0 when the face turns towards the image's right, pitch > 0 when it
tilts down, roll > 0 when it tilts clockwise. A face looking into the camera reads a pitch of about
+5..+10 (the forehead-chin line leans back). Measured error: docs/ACCURACY.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["HeadPose", "head_axes", "head_pose", "pose_from_axes"]

_EYE_OUTER_IMAGE_LEFT, _EYE_OUTER_IMAGE_RIGHT = 33, 263
_FOREHEAD, _CHIN = 10, 152


@dataclass(frozen=True)
class HeadPose:
    yaw: float
    pitch: float
    roll: float


def head_axes(landmarks: np.ndarray) -> np.ndarray | None:
    """The face's axes in camera coordinates, as the columns of a rotation matrix (x across the eyes,
    y down the face, z into it); None for a degenerate mesh. ``points @ axes`` is in the head's frame."""
    x = landmarks[_EYE_OUTER_IMAGE_RIGHT] - landmarks[_EYE_OUTER_IMAGE_LEFT]
    y = landmarks[_CHIN] - landmarks[_FOREHEAD]
    x_norm = np.linalg.norm(x)
    if x_norm < 1e-6:
        return None
    x = x / x_norm
    y = y - x * float(np.dot(y, x))
    y_norm = np.linalg.norm(y)
    if y_norm < 1e-6:
        return None
    y = y / y_norm
    return np.stack([x, y, np.cross(x, y)], axis=1)


def head_pose(landmarks: np.ndarray) -> HeadPose | None:
    """Pose from (478, 3) mesh landmarks in pixels; None for a degenerate mesh."""
    axes = head_axes(landmarks)
    return None if axes is None else pose_from_axes(axes)


def pose_from_axes(axes: np.ndarray) -> HeadPose:
    """Yaw, pitch and roll of the face's axes (``head_axes``)."""
    angles, *_ = cv2.RQDecomp3x3(axes)
    about_x, about_y, about_z = (float(a) for a in angles)
    return HeadPose(yaw=round(-about_y, 2), pitch=round(about_x, 2), roll=round(about_z, 2))
