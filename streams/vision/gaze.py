"""Where the candidate looks: the head's pose plus the eyes' rotation in the head, as a direction and a score.

Gaze = head pose + eye-in-head rotation, each measured in its own frame: the head's from the mesh's axes
(``head_pose``), the eyes' from the iris position against the eye corners *in the head's frame* (the mesh
rotated back by the head's axes), so that turning the head with the eyes fixed in it moves the head term
only. Measured in the image instead, the iris shifts against the corners as the head turns (the iris lies
in front of them) and part of the head's yaw was counted twice.

Directions are as seen in the video (``left`` = towards the image's left). ``off_screen`` is continuous:
0 while the angle stays within half the limits, 0.5 at the limits, 1 at 1.5 times them. The direction is
not ``center`` exactly when ``off_screen`` >= 0.5. Angles here are against the camera's axis with a
typical face's neutral; ``streams.vision.baseline`` measures them from each candidate's own neutral.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from streams.settings import VisionSettings
from streams.vision.head_pose import HeadPose
from streams.vision.screen import ScreenGeometry, parse_aspect

__all__ = [
    "EyeState",
    "Gaze",
    "GazeLimits",
    "eye_state",
    "gaze",
    "judge",
    "screen_limits",
]

# Mesh indices. "A" is the eye on the image's left, "B" the one on the image's right.
_A_CORNERS, _B_CORNERS = (33, 133), (362, 263)  # (image-left corner, image-right corner)
_A_IRIS, _B_IRIS = 468, 473  # iris centres (refine_landmarks=True)
# Eye aspect ratio points p1..p6 (Soukupova & Cech 2016): corners p1/p4, upper lid p2/p3, lower p6/p5.
_A_EAR = (33, 160, 158, 133, 153, 144)
_B_EAR = (362, 385, 387, 263, 373, 380)


@dataclass(frozen=True)
class GazeLimits:
    # Half-angles beyond which the gaze leaves the screen: the screen's own plus a margin for
    # measurement error (GazeLimits.for_screen).
    yaw_deg: float
    pitch_deg: float
    # Without a baseline: the neutral pitch of a face looking into the camera with this head-pose
    # method (+5..+10 measured, docs/ACCURACY.md), and the resting vertical iris offset of the packaged
    # frontal faces (-0.060, -0.061: the iris centre sits above the line of the eye corners).
    pitch_neutral_deg: float = 8.0
    iris_y_neutral: float = -0.06
    # Eye rotation per unit of iris offset (offset normalised by eye width, centre = 0): a rough
    # anatomical estimate (the iris moving ~0.25 of the eye's width for ~35 degrees), not measured
    # here; a baseline removes each candidate's own resting offset.
    eye_deg_per_unit: float = 140.0
    # Eye aspect ratio under which the eyes count as closed (Soukupova & Cech 2016 use ~0.2).
    eyes_closed_ear: float = 0.2

    @classmethod
    def for_screen(cls, screen: ScreenGeometry, margin_deg: float) -> GazeLimits:
        yaw, pitch = screen.half_angles_deg()
        return cls(yaw_deg=yaw + margin_deg, pitch_deg=pitch + margin_deg)

    def widened(self, factor: float) -> GazeLimits:
        return replace(self, yaw_deg=self.yaw_deg * factor, pitch_deg=self.pitch_deg * factor)


def screen_limits(settings: VisionSettings) -> GazeLimits:
    """The limits of the configured screen; ValueError for a malformed aspect."""
    aspect = parse_aspect(settings.screen_aspect)
    screen = ScreenGeometry(settings.screen_diagonal_in, aspect, settings.screen_distance_cm)
    return GazeLimits.for_screen(screen, settings.gaze_margin_deg)


@dataclass(frozen=True)
class EyeState:
    # Iris offsets in the head's frame, normalised by eye width: across the face (>0 = towards the
    # image's right), down the face (>0 = down), averaged over both eyes.
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


def _iris_offset(landmarks: np.ndarray, axes: np.ndarray, corners: tuple[int, int], iris: int) -> tuple[float, float]:
    left, right = landmarks[corners[0]], landmarks[corners[1]]
    width = float(np.linalg.norm(right - left))
    if width < 1e-6:
        return 0.0, 0.0
    across, down = (landmarks[iris] - (left + right) / 2.0) @ axes[:, :2]
    return float(across) / width, float(down) / width


def eye_state(landmarks: np.ndarray, axes: np.ndarray) -> EyeState:
    """The eyes of (478, 3) mesh landmarks, in the head's frame given by ``head_axes``."""
    ax, ay = _iris_offset(landmarks, axes, _A_CORNERS, _A_IRIS)
    bx, by = _iris_offset(landmarks, axes, _B_CORNERS, _B_IRIS)
    ear = (_ear(landmarks, _A_EAR) + _ear(landmarks, _B_EAR)) / 2.0
    return EyeState(iris_x=(ax + bx) / 2.0, iris_y=(ay + by) / 2.0, ear=ear)


@dataclass(frozen=True)
class Gaze:
    direction: str  # center | left | right | up | down
    off_screen: float  # 0..1
    yaw_deg: float  # head + eyes, >0 towards the image's right
    pitch_deg: float  # head + eyes, >0 down, neutral removed
    eyes_closed: bool
    eye_yaw_deg: float  # the eyes in the head alone (their resting offset not removed)
    eye_pitch_deg: float


def judge(yaw: float, pitch: float, limits: GazeLimits) -> tuple[str, float]:
    """(direction, off_screen) of a gaze ``yaw``/``pitch`` degrees from where the screen is."""
    ratio_x, ratio_y = abs(yaw) / limits.yaw_deg, abs(pitch) / limits.pitch_deg
    ratio = max(ratio_x, ratio_y)
    off_screen = round(float(np.clip(ratio - 0.5, 0.0, 1.0)), 4)
    if ratio < 1.0:
        return "center", off_screen
    if ratio_x >= ratio_y:
        return ("right" if yaw > 0 else "left"), off_screen
    return ("down" if pitch > 0 else "up"), off_screen


def gaze(pose: HeadPose, eyes: EyeState, limits: GazeLimits) -> Gaze:
    """The gaze against the camera's axis, with a typical face's neutral (no baseline)."""
    eye_yaw = eyes.iris_x * limits.eye_deg_per_unit
    eye_pitch = eyes.iris_y * limits.eye_deg_per_unit
    closed = eyes.ear < limits.eyes_closed_ear
    pitch = pose.pitch - limits.pitch_neutral_deg
    if closed:
        # Closed eyes have no iris to read: the head alone says where the face points.
        yaw = pose.yaw
    else:
        yaw = pose.yaw + eye_yaw
        pitch += eye_pitch - limits.iris_y_neutral * limits.eye_deg_per_unit
    direction, off_screen = judge(yaw, pitch, limits)
    return Gaze(direction, off_screen, round(yaw, 2), round(pitch, 2), closed, round(eye_yaw, 2), round(eye_pitch, 2))
