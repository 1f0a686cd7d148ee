"""Where the candidate looks: iris position in the eye plus head pose, as a direction and a score.

Directions are as seen in the video (``left`` = towards the image's left). ``off_screen`` is continuous:
0 while the combined head-and-eye angle stays within half the screen limits, 0.5 at the limits, 1 at
1.5 times them. The direction is not ``center`` exactly when ``off_screen`` >= 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streams.vision.head_pose import HeadPose

__all__ = ["EyeState", "Gaze", "GazeLimits", "eye_state", "gaze"]

# Mesh indices. "A" is the eye on the image's left, "B" the one on the image's right.
_A_CORNERS, _B_CORNERS = (33, 133), (362, 263)  # (image-left corner, image-right corner)
_A_IRIS, _B_IRIS = 468, 473  # iris centres (refine_landmarks=True)
# Eye aspect ratio points p1..p6 (Soukupova & Cech 2016): corners p1/p4, upper lid p2/p3, lower p6/p5.
_A_EAR = (33, 160, 158, 133, 153, 144)
_B_EAR = (362, 385, 387, 263, 373, 380)


@dataclass(frozen=True)
class GazeLimits:
    # Half-angles beyond which the gaze leaves the screen: VisionSettings.gaze_*_limit_deg, whose
    # comment gives their source.
    yaw_deg: float
    pitch_deg: float
    # Neutral pitch of a face looking into the camera with this head-pose method (+5..+10 measured).
    pitch_neutral_deg: float = 8.0
    # Eye rotation per unit of iris offset (offset normalised by eye width, centre = 0): a rough
    # anatomical estimate (the iris moving ~0.25 of the eye's width for ~35 degrees), not measured
    # here; per-candidate calibration is meant to replace it.
    eye_deg_per_unit: float = 140.0
    # Eye aspect ratio under which the eyes count as closed (Soukupova & Cech 2016 use ~0.2).
    eyes_closed_ear: float = 0.2


@dataclass(frozen=True)
class EyeState:
    # Iris offsets, normalised by eye width: horizontal (>0 = towards the image's right), vertical
    # (>0 = down), averaged over both eyes.
    iris_x: float
    iris_y: float
    # Mean eye aspect ratio (open ~0.3, closed < 0.2).
    ear: float


def _ear(landmarks: np.ndarray, idx: tuple[int, ...]) -> float:
    p1, p2, p3, p4, p5, p6 = (landmarks[i, :2] for i in idx)
    width = np.linalg.norm(p1 - p4)
    if width < 1e-6:
        return 0.0
    return float((np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2.0 * width))


def _iris_offset(landmarks: np.ndarray, corners: tuple[int, int], iris: int) -> tuple[float, float]:
    left, right = landmarks[corners[0], :2], landmarks[corners[1], :2]
    axis = right - left
    width = float(np.linalg.norm(axis))
    if width < 1e-6:
        return 0.0, 0.0
    unit = axis / width
    normal = np.array([-unit[1], unit[0]])  # points down the image for a level eye
    relative = landmarks[iris, :2] - (left + right) / 2.0
    return float(relative @ unit) / width, float(relative @ normal) / width


def eye_state(landmarks: np.ndarray) -> EyeState:
    ax, ay = _iris_offset(landmarks, _A_CORNERS, _A_IRIS)
    bx, by = _iris_offset(landmarks, _B_CORNERS, _B_IRIS)
    ear = (_ear(landmarks, _A_EAR) + _ear(landmarks, _B_EAR)) / 2.0
    return EyeState(iris_x=(ax + bx) / 2.0, iris_y=(ay + by) / 2.0, ear=ear)


@dataclass(frozen=True)
class Gaze:
    direction: str  # center | left | right | up | down
    off_screen: float  # 0..1
    yaw_deg: float  # head + eyes, >0 towards the image's right
    pitch_deg: float  # head + eyes, >0 down, neutral removed
    eyes_closed: bool


def gaze(pose: HeadPose, eyes: EyeState, limits: GazeLimits) -> Gaze:
    if eyes.ear < limits.eyes_closed_ear:
        # Closed eyes have no iris to read: the head alone says where the face points.
        yaw, pitch = pose.yaw, pose.pitch - limits.pitch_neutral_deg
    else:
        yaw = pose.yaw + eyes.iris_x * limits.eye_deg_per_unit
        pitch = pose.pitch - limits.pitch_neutral_deg + eyes.iris_y * limits.eye_deg_per_unit
    ratio_x, ratio_y = abs(yaw) / limits.yaw_deg, abs(pitch) / limits.pitch_deg
    ratio = max(ratio_x, ratio_y)
    off_screen = float(np.clip(ratio - 0.5, 0.0, 1.0))
    if ratio < 1.0:
        direction = "center"
    elif ratio_x >= ratio_y:
        direction = "right" if yaw > 0 else "left"
    else:
        direction = "down" if pitch > 0 else "up"
    return Gaze(direction, round(off_screen, 4), round(yaw, 2), round(pitch, 2), eyes.ear < limits.eyes_closed_ear)
