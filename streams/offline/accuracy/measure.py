"""Running the vision stage on the accuracy sets: every reading of the report."""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from importlib import metadata

import cv2
import numpy as np

from producers.images import encode_jpeg
from schemas.records import Observation, new_frame
from streams.offline.accuracy.readings import (
    DEFAULT_COMMAND,
    FPS,
    FRAME_MS,
    Accuracy,
    AccuracyPlan,
    FaceReading,
    GazeCount,
    PeopleReading,
    PoseReading,
)
from streams.samples.accuracy_sets import (
    FacePlace,
    GazeTurn,
    LabelledImage,
    PosedFaces,
    face_photo,
    face_sets,
    gaze_turns,
    people_images,
    pose_grid,
)
from streams.settings import Settings, VisionSettings, load_settings
from streams.vision import VisionPipeline
from streams.vision.behaviour import BehaviourAnalyser, BehaviourState
from streams.vision.gaze import GazeLimits, screen_limits
from streams.vision.head_pose import head_pose
from streams.vision.image import decode_image
from streams.vision.objects import WeightsError

# -- measuring ----------------------------------------------------------------------------------------


Progress = Callable[[str], None]


@contextlib.contextmanager
def _quiet_objects_log() -> Iterator[None]:
    """The face pipeline runs without YOLO on purpose: its "object detection is off" warning would mislead."""
    logger = logging.getLogger("streams.vision.objects")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _observe(pipeline: VisionPipeline, image: np.ndarray | bytes, size: tuple[int, int] = (640, 480)) -> Observation:
    """One frame through the pipeline: a BGR image, or a JPEG of ``size`` (width, height)."""
    if isinstance(image, bytes):
        jpeg, (width, height) = image, size
    else:
        jpeg, (height, width) = encode_jpeg(image, 92), image.shape[:2]
    frame = new_frame("accuracy", 0, jpeg, width=width, height=height, captured_at_ms=0)
    with contextlib.redirect_stdout(io.StringIO()):
        return pipeline.observe(frame)


def _face_reading(labelled: LabelledImage, obs: Observation) -> FaceReading:
    pose = obs["head_pose"]
    return FaceReading(
        condition=labelled.condition,
        variant=labelled.variant,
        source=labelled.source,
        present=labelled.faces,
        found=len(obs["faces"]),
        too_dark=bool(obs["too_dark"]),
        too_small=sum(1 for face in obs["faces"] if face["too_small"]),
        brightness=round(float(obs["brightness"]), 1),
        pose=None if pose is None else {"yaw": pose["yaw"], "pitch": pose["pitch"], "roll": pose["roll"]},
        roll_truth=labelled.roll_deg,
        face_width_px=None if labelled.face_width_px is None else round(labelled.face_width_px, 1),
        found_width_px=max((round(f["width"] * labelled.image.shape[1], 1) for f in obs["faces"]), default=None),
    )


def _depth_scale(measured: np.ndarray, rendered: np.ndarray) -> float:
    m, r = measured[:, 2] - measured[:, 2].mean(), rendered[:, 2] - rendered[:, 2].mean()
    return float(m @ r / (r @ r))


def _poses(pipeline: VisionPipeline, posed: PosedFaces, plan: AccuracyPlan, progress: Progress) -> list[PoseReading]:
    readings = []
    for photo in plan.photos:
        unrotated = _observe(pipeline, posed.jpeg(photo, 0, 0))["head_pose"]
        own = head_pose(posed.moved_mesh(photo, 0, 0))
        assert own is not None, f"a degenerate face mesh on {photo}"
        for yaw, pitch in pose_grid(plan.yaws, plan.pitches):
            jpeg = posed.jpeg(photo, yaw, pitch)
            pose = _observe(pipeline, jpeg)["head_pose"]
            mesh = posed.moved_mesh(photo, yaw, pitch)
            truth = head_pose(mesh)
            assert truth is not None
            points = pipeline.mesh(decode_image(jpeg, "JPEG"))
            readings.append(
                PoseReading(
                    photo=photo,
                    yaw=yaw,
                    pitch=pitch,
                    truth_yaw=round(truth.yaw - own.yaw, 2),
                    truth_pitch=round(truth.pitch - own.pitch, 2),
                    measured_yaw=round(pose["yaw"] - unrotated["yaw"], 2) if pose and unrotated else None,
                    measured_pitch=round(pose["pitch"] - unrotated["pitch"], 2) if pose and unrotated else None,
                    landmark_px=None if points is None else round(_landmark_px(points, mesh), 2),
                    depth_scale=None if points is None else round(_depth_scale(points[:468], mesh), 3),
                )
            )
            progress("head pose")
    return readings


def _landmark_px(points: np.ndarray, mesh: np.ndarray) -> float:
    return float(np.median(np.linalg.norm(points[: len(mesh), :2] - mesh[:, :2], axis=1)))


def _gaze(
    pipeline: VisionPipeline,
    posed: PosedFaces,
    plan: AccuracyPlan,
    analyser: BehaviourAnalyser,
    limits: GazeLimits,
    progress: Progress,
) -> list[GazeCount]:
    """Sessions at 5 fps: the first ``baseline_s`` + 2 s at the offset pose, then each turn's frames.

    The pipeline is stateless, so each distinct frame (a pose and a noise draw) is observed once and its
    observation reused, renumbered, wherever the session shows that frame again; the analyser sees every
    frame in order."""
    observed: dict[tuple[str, float, float, int], Observation] = {}

    def frame(photo: str, pose: tuple[float, float], index: int, sequence: int) -> Observation:
        draw = 1 + index % plan.noise_draws
        key = (photo, pose[0], pose[1], draw)
        if key not in observed:
            observed[key] = _observe(pipeline, posed.jpeg(photo, pose[0], pose[1], draw))
            progress("gaze sessions")
        obs = copy.deepcopy(observed[key])
        obs["frame_sequence"], obs["captured_at_ms"] = sequence, sequence * FRAME_MS
        return obs

    window_frames = int((analyser.settings.baseline_s + 2.0) * FPS)
    turns = gaze_turns(limits.yaw_deg, limits.pitch_deg, plan.gaze_offsets)
    counts = []
    for photo in plan.photos:
        for offset in plan.gaze_offsets:
            state: BehaviourState | None = None
            sequence = 0
            for index in range(window_frames):
                state = analyser.annotate(state, frame(photo, offset, index, sequence))
                sequence += 1
            for turn in (t for t in turns if t.offset == offset):
                count, state = _turn_frames(analyser, turn, photo, plan, frame, state, sequence)
                counts.append(count)
                sequence += plan.frames_per_turn
    return counts


def _turn_frames(
    analyser: BehaviourAnalyser,
    turn: GazeTurn,
    photo: str,
    plan: AccuracyPlan,
    frame: Callable[[str, tuple[float, float], int, int], Observation],
    state: BehaviourState | None,
    sequence: int,
) -> tuple[GazeCount, BehaviourState | None]:
    flagged_baseline = flagged_camera = unread = unset = 0
    for index in range(plan.frames_per_turn):
        obs = frame(photo, turn.rendered, index, sequence + index)
        gaze = obs["gaze"]
        camera = None if gaze is None else gaze["direction"]  # before the analyser rewrites it
        state = analyser.annotate(state, obs)
        if gaze is None:
            unread += 1
            continue
        flagged_camera += camera != "center"
        flagged_baseline += gaze["direction"] != "center"
        unset += gaze["baseline"] != "set"
    count = GazeCount(
        photo,
        turn.offset,
        turn.turn,
        turn.on_screen,
        plan.frames_per_turn,
        flagged_baseline,
        flagged_camera,
        unread,
        unset,
    )
    return count, state


def _objects(vision: VisionSettings, weights: str, progress: Progress) -> list[PeopleReading]:
    pipeline = VisionPipeline(replace(vision, yolo_weights=weights))
    if not pipeline.objects.available:
        raise WeightsError(f"objects cannot be measured: {pipeline.objects.unavailable_reason}")
    pipeline.objects.verify()
    with contextlib.redirect_stdout(io.StringIO()):
        pipeline.warm_up()
    readings = []
    for sample in people_images():
        objects = _observe(pipeline, sample.image)["objects"] or []
        people = sorted((o["confidence"] for o in objects if o["label"] == "person"), reverse=True)
        others = [f"{o['label']} {o['confidence']:.2f}" for o in objects if o["label"] != "person"]
        readings.append(PeopleReading(sample.source, sample.people, [round(p, 2) for p in people], others))
        progress("objects")
    return readings


def _versions() -> dict[str, str]:
    versions = {}
    # Ultralytics ships here as ultralytics-opencv-headless; LiteRT runs the .tflite weights.
    for name, distributions in (
        ("mediapipe", ("mediapipe",)),
        ("ultralytics", ("ultralytics", "ultralytics-opencv-headless")),
        ("ai-edge-litert", ("ai-edge-litert",)),
    ):
        versions[name] = "not installed"
        for distribution in distributions:
            with contextlib.suppress(metadata.PackageNotFoundError):
                versions[name] = metadata.version(distribution)
                break
    versions["opencv"] = cv2.__version__
    versions["numpy"] = np.__version__
    return versions


def measure(
    plan: AccuracyPlan | None = None,
    weights: str | None = None,
    command: str = DEFAULT_COMMAND,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> Accuracy:
    """Every measurement of the report. ``weights``: YOLO weights for the objects section (default: the
    settings'; empty: objects not measured). ``progress`` is called once per frame observed. ``settings``:
    the vision and behaviour settings measured (default: the environment's)."""
    plan = plan or AccuracyPlan()
    step: Progress = progress or (lambda _stage: None)
    started = time.perf_counter()
    settings = settings or load_settings()
    vision = replace(settings.vision, yolo_weights="")
    weights = settings.vision.yolo_weights if weights is None else weights
    with _quiet_objects_log():
        pipeline = VisionPipeline(vision)
    with contextlib.redirect_stdout(io.StringIO()):
        pipeline.warm_up()

    photos = {name: face_photo(name) for name in plan.photos}
    landmarks = {}
    for name, image in photos.items():
        points = pipeline.landmarker.landmarks(image)
        if points is None:
            raise RuntimeError(f"no face mesh on the photo {name}")
        landmarks[name] = points
    places = {name: FacePlace.from_landmarks(points) for name, points in landmarks.items()}

    faces = []
    for labelled in face_sets(photos, places, with_scenes=plan.with_scenes):
        faces.append(_face_reading(labelled, _observe(pipeline, labelled.image)))
        step("faces by condition")
    sweep_photo = plan.photos[0]
    dark_sweep = []
    for scale in plan.dark_sweep:
        dark = np.clip(photos[sweep_photo].astype(np.float32) * scale, 0, 255).astype(np.uint8)
        labelled = LabelledImage("dark sweep", f"x{scale:g}", sweep_photo, dark, 1)
        dark_sweep.append(_face_reading(labelled, _observe(pipeline, dark)))
        step("faces by condition")

    posed = PosedFaces(photos, landmarks)
    poses = _poses(pipeline, posed, plan, step)
    limits = screen_limits(vision)
    analyser = BehaviourAnalyser(settings.behaviour, vision)
    gaze = _gaze(pipeline, posed, plan, analyser, limits, step)
    objects = _objects(vision, weights, step) if weights else None
    return Accuracy(
        command=command,
        when=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        machine=f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}",
        versions=_versions(),
        weights=weights,
        vision=vision,
        behaviour=settings.behaviour,
        limits=limits,
        plan=plan,
        faces=faces,
        dark_sweep=dark_sweep,
        poses=poses,
        gaze=gaze,
        objects=objects,
        seconds=round(time.perf_counter() - started, 1),
    )
