"""Labelled image sets for ``integrity evaluate --accuracy``, built at run time from packaged photos.

Every image carries its truth: how many faces it shows, and what was done to it (darkened, shrunk so
the face is N px wide, mirrored, rotated by a known angle, blurred, partly covered). The transformations
keep the truth known: mirroring keeps the count, an in-plane rotation changes the roll by its angle, a
face scaled by s is s times as wide. Where a transformation needs to know where the face is (to shrink
it to a width, rotate about it, cover its eyes), the photo's own face mesh says so (``FacePlace``).

For head pose and gaze, ``PosedFaces`` renders each photo's face at a known yaw and pitch
(``streams/samples/posed.py``), and ``gaze_turns`` lists turns that are truly on or off the screen.

Pure: numpy and OpenCV on images, and face meshes handed in; no detector runs here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from producers.images import encode_jpeg, fit
from streams.samples.photos import astronaut, grace_hopper, ultralytics_asset, zidane_face
from streams.samples.posed import PoseRenderer
from streams.samples.scenes import HEIGHT, WIDTH, scene_image

__all__ = [
    "BLUR_SIGMAS",
    "CONDITIONS",
    "DARK_SCALES",
    "FACE_PHOTOS",
    "GAZE_OFFSETS",
    "POSE_PITCHES",
    "POSE_YAWS",
    "RENDER_MAX_PITCH",
    "RENDER_MAX_YAW",
    "ROTATIONS_DEG",
    "SMALL_FACE_WIDTHS",
    "SOURCES",
    "FacePlace",
    "GazeTurn",
    "LabelledImage",
    "PeopleImage",
    "PosedFaces",
    "face_photo",
    "face_sets",
    "gaze_turns",
    "people_images",
    "people_sets",
    "pose_grid",
]

# The conditions of the face table, in the order the report shows them.
CONDITIONS = ("original", "dark", "small", "mirrored", "rotated", "blurred", "occluded", "two people")
DARK_SCALES = (0.35, 0.2)  # brightness factors
SMALL_FACE_WIDTHS = (60, 35)  # pixels across the face in a 640x480 frame
ROTATIONS_DEG = (-30, -15, 15, 30)  # in-plane, clockwise > 0 (the sign of head-pose roll)
BLUR_SIGMAS = (3.0, 6.0)  # Gaussian, pixels
_GREY = 128

# The one-face photos, each as a 640x480 frame; where each comes from (the report prints this).
FACE_PHOTOS = ("astronaut", "grace_hopper", "zidane_face")
SOURCES = {
    "astronaut": "`skimage.data.astronaut()` (the `one_face` scene of `streams/samples/scenes.py`)",
    "grace_hopper": "matplotlib `mpl-data/sample_data/grace_hopper.jpg`, letterboxed to 640x480",
    "zidane_face": "Zidane's face cropped from `ultralytics/assets/zidane.jpg` (turned to the image's right), "
    "letterboxed to 640x480",
    "face_absent": "the `face_absent` scene: the astronaut frame slid up until her head has left it",
    "two_faces": "the `two_faces` scene: astronaut and Grace Hopper squeezed side by side into 640x480",
    "side_by_side": "astronaut and Grace Hopper, each letterboxed into one half of a 640x480 frame",
    "zidane": "`ultralytics/assets/zidane.jpg` (two men), letterboxed to 640x480",
    "bus": "`ultralytics/assets/bus.jpg` (four people, faces ~40 px)",
}


def face_photo(name: str) -> np.ndarray:
    """One of ``FACE_PHOTOS`` as a 640x480 BGR frame."""
    if name == "astronaut":
        return scene_image("one_face")
    if name == "grace_hopper":
        return fit(grace_hopper(), WIDTH, HEIGHT)
    if name == "zidane_face":
        return fit(zidane_face(), WIDTH, HEIGHT)
    raise ValueError(f"unknown face photo {name!r} (known: {', '.join(FACE_PHOTOS)})")


@dataclass(frozen=True)
class FacePlace:
    """Where a photo's face is, in pixels: the face mesh's extent (cheek to cheek, forehead to chin)
    and the line of the eyes."""

    x: float
    y: float
    width: float
    height: float
    eyes_y: float

    @classmethod
    def from_landmarks(cls, landmarks: np.ndarray) -> FacePlace:
        """From a (468+, 3) face mesh in pixels (``FaceLandmarker().landmarks``)."""
        face = landmarks[:468, :2]
        (x0, y0), (x1, y1) = face.min(axis=0), face.max(axis=0)
        eyes = landmarks[[33, 133, 362, 263], 1]  # the four eye corners
        return cls(float(x0), float(y0), float(x1 - x0), float(y1 - y0), float(eyes.mean()))

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2


@dataclass(frozen=True)
class LabelledImage:
    condition: str  # one of CONDITIONS
    variant: str  # what was done within the condition ("x0.35", "60 px", "+15 deg")
    source: str  # the photo or scene it was made from
    image: np.ndarray  # BGR
    faces: int  # faces present
    face_width_px: float | None = None  # the face's width in ``image`` where the set changed it
    roll_deg: float | None = None  # the in-plane rotation applied (clockwise > 0): the truth for roll

    @property
    def name(self) -> str:
        return f"{self.source} {self.variant}".strip()


def _darkened(image: np.ndarray, scale: float) -> np.ndarray:
    return np.clip(image.astype(np.float32) * scale, 0, 255).astype(np.uint8)


def _shrunk(image: np.ndarray, place: FacePlace, face_width: float) -> tuple[np.ndarray, float]:
    """The photo scaled so its face is ``face_width`` px wide, centred in a 640x480 frame of the photo's
    mean colour (a dark fill would lower the frame's brightness and read as ``too_dark``); returns the
    frame and the face's width in it (``face_width`` up to the rounding of the image's size)."""
    scale = face_width / place.width
    size = (max(round(image.shape[1] * scale), 1), max(round(image.shape[0] * scale), 1))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    canvas = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    canvas[:] = image.reshape(-1, 3).mean(axis=0).astype(np.uint8)
    y, x = (HEIGHT - size[1]) // 2, (WIDTH - size[0]) // 2
    canvas[y : y + size[1], x : x + size[0]] = small
    return canvas, place.width * size[0] / image.shape[1]


def _rotated(image: np.ndarray, place: FacePlace, clockwise_deg: float) -> np.ndarray:
    # OpenCV's positive angle turns the image counter-clockwise.
    matrix = cv2.getRotationMatrix2D(place.centre, -clockwise_deg, 1.0)
    height, width = image.shape[:2]
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


def _covered(image: np.ndarray, place: FacePlace, part: str) -> np.ndarray:
    out = image.copy()
    x0, x1 = round(place.x), round(place.x + place.width)
    if part == "eyes":
        half = 0.12 * place.height  # the bar spans brow to lower lid
        y0, y1 = round(place.eyes_y - half), round(place.eyes_y + half)
    else:
        y0, y1 = round(place.y + place.height / 2), round(place.y + place.height)
    out[max(y0, 0) : y1, max(x0, 0) : x1] = _GREY
    return out


def face_sets(
    photos: dict[str, np.ndarray], places: dict[str, FacePlace], with_scenes: bool = True
) -> list[LabelledImage]:
    """Every condition of the face table for the one-face ``photos`` (name -> 640x480 frame) with their
    ``places``; with ``with_scenes``, the zero- and two-face scenes too."""
    sets: list[LabelledImage] = []
    originals: list[tuple[str, np.ndarray, int]] = [(name, image, 1) for name, image in photos.items()]
    if with_scenes:
        originals.append(("face_absent", scene_image("face_absent"), 0))
    for name, image, count in originals:
        sets.append(LabelledImage("original", "", name, image, count))
    for name, image in photos.items():
        place = places[name]
        for scale in DARK_SCALES:
            sets.append(LabelledImage("dark", f"x{scale:g} brightness", name, _darkened(image, scale), 1))
        for width in SMALL_FACE_WIDTHS:
            small, actual = _shrunk(image, place, width)
            sets.append(LabelledImage("small", f"{width} px face", name, small, 1, face_width_px=actual))
    for name, image, count in originals:
        sets.append(LabelledImage("mirrored", "mirrored", name, cv2.flip(image, 1), count))
    for name, image in photos.items():
        place = places[name]
        for degrees in ROTATIONS_DEG:
            rotated = _rotated(image, place, degrees)
            sets.append(LabelledImage("rotated", f"{degrees:+d} deg", name, rotated, 1, roll_deg=float(degrees)))
        for sigma in BLUR_SIGMAS:
            blurred = cv2.GaussianBlur(image, (0, 0), sigma)
            sets.append(LabelledImage("blurred", f"sigma {sigma:g}", name, blurred, 1))
        for part, variant in (("eyes", "bar over the eyes"), ("lower", "lower half covered")):
            sets.append(LabelledImage("occluded", variant, name, _covered(image, place, part), 1))
    if with_scenes:
        sets.extend(people_sets())
    return sets


def people_sets() -> list[LabelledImage]:
    """Frames with two people: the ``two_faces`` scene, astronaut and Grace Hopper each in one half of
    the frame, and Ultralytics' zidane.jpg."""
    halves = np.hstack([fit(astronaut(), WIDTH // 2, HEIGHT), fit(grace_hopper(), WIDTH // 2, HEIGHT)])
    return [
        LabelledImage("two people", "", "two_faces", scene_image("two_faces"), 2),
        LabelledImage("two people", "", "side_by_side", halves, 2),
        LabelledImage("two people", "", "zidane", fit(ultralytics_asset("zidane.jpg"), WIDTH, HEIGHT), 2),
    ]


@dataclass(frozen=True)
class PeopleImage:
    source: str
    image: np.ndarray  # BGR, at the photo's own size (the object detector letterboxes it)
    people: int  # people present, whole or cut by the frame's edge


def people_images() -> list[PeopleImage]:
    """Photos with a known number of people, for the object detector (none shows a phone or a book)."""
    return [
        PeopleImage("bus", ultralytics_asset("bus.jpg"), 4),
        PeopleImage("zidane", ultralytics_asset("zidane.jpg"), 2),
        PeopleImage("two_faces", scene_image("two_faces"), 2),
        PeopleImage("grace_hopper", face_photo("grace_hopper"), 1),
        PeopleImage("astronaut", face_photo("astronaut"), 1),
    ]


# -- posed faces: head pose and gaze with a known rotation ----------------------------------------------

POSE_YAWS = (-45, -30, -20, -10, 0, 10, 20, 30, 45)
POSE_PITCHES = (-20, -10, 0, 10, 20)
GAZE_OFFSETS = ((-25, 0), (-15, 0), (15, 0), (25, 0), (0, -10), (0, 10))  # (yaw, pitch) of the camera offset
# The renderer stretches the far side's texture thin past ~40 degrees (streams/samples/posed.py), and the face
# mesh loses the face past ~35 degrees of pitch on the astronaut (measured): sessions stay within these.
RENDER_MAX_YAW, RENDER_MAX_PITCH = 45.0, 35.0


def pose_grid(yaws: Sequence[float] = POSE_YAWS, pitches: Sequence[float] = POSE_PITCHES) -> list[tuple[float, float]]:
    """Every (yaw, pitch) of the head-pose table."""
    return [(float(yaw), float(pitch)) for pitch in pitches for yaw in yaws]


@dataclass(frozen=True)
class GazeTurn:
    """A turn of the head (eyes fixed in it) from where the screen is, on a camera at ``offset``."""

    offset: tuple[float, float]  # (yaw, pitch): the candidate's pose while looking at the screen
    turn: tuple[float, float]  # (yaw, pitch) from there
    on_screen: bool  # the truth: the gaze stays on the screen

    @property
    def rendered(self) -> tuple[float, float]:
        return self.offset[0] + self.turn[0], self.offset[1] + self.turn[1]


def gaze_turns(
    limit_yaw: float,
    limit_pitch: float,
    offsets: Sequence[tuple[float, float]] = GAZE_OFFSETS,
    inside_deg: float = 5.0,
    outside_deg: float = 15.0,
) -> list[GazeTurn]:
    """Turns that are truly on the screen (within the gaze limits less ``inside_deg``) and truly off it
    (past them by ``outside_deg`` or more), for each camera offset; those the renderer cannot show
    (``RENDER_MAX_YAW``, ``RENDER_MAX_PITCH``) are left out."""
    on_yaw, on_pitch = limit_yaw - inside_deg, limit_pitch - inside_deg
    off_yaw, off_pitch = limit_yaw + outside_deg, limit_pitch + outside_deg
    on = [(0.0, 0.0), (on_yaw / 2, 0.0), (-on_yaw / 2, 0.0), (on_yaw, 0.0), (-on_yaw, 0.0)]
    on += [(0.0, on_pitch), (0.0, -on_pitch)]
    off = [(off_yaw, 0.0), (-off_yaw, 0.0), (off_yaw + 10, 0.0), (-off_yaw - 10, 0.0)]
    off += [(0.0, off_pitch), (0.0, -off_pitch)]
    turns = []
    for offset in offsets:
        for turn_set, on_screen in ((on, True), (off, False)):
            for yaw, pitch in turn_set:
                turn = GazeTurn((float(offset[0]), float(offset[1])), (round(yaw, 1), round(pitch, 1)), on_screen)
                rendered_yaw, rendered_pitch = turn.rendered
                if abs(rendered_yaw) <= RENDER_MAX_YAW and abs(rendered_pitch) <= RENDER_MAX_PITCH:
                    turns.append(turn)
    return turns


class PosedFaces:
    """JPEG frames of each photo's face at a known pose: one renderer per photo, each frame encoded once."""

    def __init__(self, photos: dict[str, np.ndarray], landmarks: dict[str, np.ndarray], quality: int = 90) -> None:
        """``landmarks``: each photo's (478, 3) face mesh in pixels (``FaceLandmarker().landmarks``)."""
        self.renderers = {name: PoseRenderer(image, landmarks[name]) for name, image in photos.items()}
        self.quality = quality
        self._jpegs: dict[tuple[str, float, float, int], bytes] = {}
        self._last: tuple[tuple[str, float, float], np.ndarray] | None = None

    def image(self, photo: str, yaw: float, pitch: float) -> np.ndarray:
        """The photo's face turned by ``yaw``/``pitch`` degrees from its own pose (``PoseRenderer``)."""
        key = (photo, float(yaw), float(pitch))
        if self._last is None or self._last[0] != key:
            # One image kept: a pose's noisy frames are asked for together.
            self._last = (key, self.renderers[photo].render(yaw, pitch))
        return self._last[1]

    def jpeg(self, photo: str, yaw: float, pitch: float, noise: int = 0) -> bytes:
        """``image`` as a JPEG; ``noise`` > 0 adds webcam-like sensor noise (sigma 3 levels), a different
        draw for each value."""
        key = (photo, float(yaw), float(pitch), noise)
        if key not in self._jpegs:
            image = self.image(photo, yaw, pitch)
            if noise:
                rng = np.random.default_rng(noise)
                image = np.clip(image.astype(np.float32) + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
            self._jpegs[key] = encode_jpeg(image, self.quality)
        return self._jpegs[key]

    def moved_mesh(self, photo: str, yaw: float, pitch: float) -> np.ndarray:
        """The (468, 3) mesh the renderer drew the face on: the photo's own, rotated about its centre."""
        return self.renderers[photo].moved_mesh(yaw, pitch)
