"""docs/ACCURACY.md's sections on faces: misses by condition, the dark sweep, head pose by angle."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from streams.offline.accuracy.readings import SECTIONS, Accuracy, PoseReading
from streams.offline.accuracy.tables import deg, mean, pct, ratio, table
from streams.samples.accuracy_sets import (
    CONDITIONS,
    DARK_SCALES,
    SMALL_FACE_WIDTHS,
)


def faces_section(acc: Accuracy) -> list[str]:
    v = acc.vision
    too_small_px = v.face_too_small * 640
    lines = [
        SECTIONS[0],
        "",
        "Each image has a known number of faces; each transformation keeps it (a mirrored, rotated or "
        "blurred face is still one face). A face counts as found when the face detector returns at least as "
        f"many faces as there are (MediaPipe face detection, model {v.face_model}, score ≥ "
        f"{v.face_min_confidence:g}); *false faces* are detections beyond the faces present. A frame can "
        f"explain a miss: it is reported `too_dark` (mean luma under {v.too_dark_brightness:g}), or a face is "
        f"`too_small` (narrower than {v.face_too_small:g} of the frame, {too_small_px:.0f} px at 640 wide); "
        "the behaviour analyser then holds `low_visibility`, never `face_absent`.",
        "",
        f"Variants: dark = brightness x{' and x'.join(f'{s:g}' for s in DARK_SCALES)}; small = the photo "
        f"scaled so its face (the face mesh's width) is {' and '.join(str(w) for w in SMALL_FACE_WIDTHS)} px "
        "wide, centred in a 640x480 frame; rotated = in-plane about the face's centre; blurred = Gaussian; "
        "occluded = a grey bar over the eyes, or over the lower half of the face.",
        "",
    ]
    rows = []
    for condition in CONDITIONS:
        group = [r for r in acc.faces if r.condition == condition]
        if not group:
            continue
        present = sum(r.present for r in group)
        found = sum(min(r.found, r.present) for r in group)
        rows.append(
            [
                condition,
                len(group),
                present,
                found,
                pct(present - found, present),
                sum(r.false_faces for r in group),
                sum(r.too_dark for r in group),
                sum(r.too_small > 0 for r in group),
                f"{sum(r.pose is not None for r in group)}/{len(group)}",
            ]
        )
    header = ["condition", "images", "faces present", "faces found", "miss rate", "false faces"]
    lines += table([*header, "reported too dark", "face too small", "head pose read"], rows)
    missed = [r for r in acc.faces if r.missed]
    explained = [r for r in missed if r.explained]
    hidden = [f"{r.source} ({r.variant or r.condition})" for r in missed if not r.explained]
    lines += [
        f"Faces missed: {sum(r.missed for r in missed)}, in {len(missed)} image(s); of those images, "
        f"{len(explained)} said why (too dark, or a face too small)"
        + (f"; not explained: {', '.join(hidden)}." if hidden else "."),
        "",
        "Per image (*face box*: the widest face the detector returned, in pixels; the small faces' width in "
        "their names is the face mesh's, cheek to cheek, a few pixels off the detector's box):",
        "",
    ]
    detail = []
    order = {condition: index for index, condition in enumerate(CONDITIONS)}
    for r in sorted(acc.faces, key=lambda r: order.get(r.condition, len(order))):
        detail.append(
            [
                r.condition,
                f"{r.source} {r.variant}".strip(),
                r.present,
                r.found,
                "-" if r.found_width_px is None else f"{r.found_width_px:.0f}",
                "yes" if r.too_dark else "",
                r.too_small or "",
                f"{r.brightness:.0f}",
                _pose_cell(r.pose),
            ]
        )
    header = ["condition", "image", "present", "found", "face box", "too dark", "too small", "luma"]
    lines += table([*header, "yaw / pitch / roll"], detail)
    lines += _faces_by_photo(acc)
    lines += _dark_sweep(acc)
    return lines


def _faces_by_photo(acc: Accuracy) -> list[str]:
    """The same conditions, photo by photo: whether one face fares worse than another."""
    rows = []
    for photo in acc.plan.photos:
        group = [r for r in acc.faces if r.source == photo]
        present = sum(r.present for r in group)
        found = sum(min(r.found, r.present) for r in group)
        rows.append(
            [
                photo,
                len(group),
                present,
                found,
                pct(present - found, present),
                sum(r.false_faces for r in group),
                f"{sum(r.pose is not None for r in group)}/{len(group)}",
            ]
        )
    header = ["photo", "images", "faces present", "faces found", "miss rate", "false faces", "head pose read"]
    return ["By photo (every condition but two people):", "", *table(header, rows)]


def _pose_cell(pose: dict[str, float] | None) -> str:
    if pose is None:
        return "not read"
    return f"{pose['yaw']:+.1f} / {pose['pitch']:+.1f} / {pose['roll']:+.1f}"


def _dark_sweep(acc: Accuracy) -> list[str]:
    if not acc.dark_sweep:
        return []
    photo = acc.dark_sweep[0].source
    original = next((r for r in acc.faces if r.condition == "original" and r.source == photo), None)
    luma = f" (mean luma {original.brightness:.0f} at x1)" if original else ""
    lines = [
        "### Dark frames: where reading fails",
        "",
        f"The {photo} frame with its brightness scaled down{luma}:",
        "",
    ]
    rows = [
        [
            r.variant,
            f"{r.brightness:.0f}",
            r.found,
            "yes" if r.too_dark else "no",
            "read" if r.pose else "not read",
        ]
        for r in acc.dark_sweep
    ]
    lines += table(["scale", "luma", "faces", "too dark", "head pose"], rows)
    unexplained = [r for r in acc.dark_sweep if r.missed and not r.too_dark]
    lines += [
        (
            "In every case the face is found or the frame is reported `too_dark`; the analyser then holds "
            "`low_visibility`, never `face_absent`, and the verdict is `inconclusive`, never a cheating flag "
            "(`test_darkness_is_low_visibility_never_absence` in test_behaviour.py, "
            "`test_darkness_is_inconclusive_never_a_flag` in test_engine.py)."
            if not unexplained
            else f"A face was lost without `too_dark` at {', '.join(r.variant for r in unexplained)}."
        )
        + f" The `too_dark` threshold (mean luma {acc.vision.too_dark_brightness:g}) is set where the head pose "
        "still reads but is getting close to failing.",
        "",
    ]
    return lines


def _truth_and_reading(r: PoseReading, axis: str) -> tuple[float, float | None]:
    if axis == "yaw":
        return r.truth_yaw, r.measured_yaw
    return r.truth_pitch, r.measured_pitch


def _errors(readings: Sequence[PoseReading], axis: str) -> list[tuple[float, float]]:
    """(truth, measured - truth) of every reading of ``axis``."""
    pairs = (_truth_and_reading(r, axis) for r in readings)
    return [(truth, measured - truth) for truth, measured in pairs if measured is not None]


def _bucket_rows(readings: list[PoseReading], axis: str, nominal: Sequence[float]) -> list[list[Any]]:
    rows = []
    for magnitude in sorted({abs(a) for a in nominal}):
        group = [r for r in readings if abs(r.yaw if axis == "yaw" else r.pitch) == magnitude]
        errors = _errors(group, axis)
        toward = [error if truth >= 0 else -error for truth, error in errors]
        ratios = [(truth + error) / truth for truth, error in errors if magnitude and abs(truth) >= 1]
        px = [r.landmark_px for r in group if r.landmark_px is not None]
        depth = [r.depth_scale for r in group if r.depth_scale is not None]
        rows.append(
            [
                f"{magnitude:g}°",
                f"{len(errors)}/{len(group)}",
                deg(mean([abs(e) for _, e in errors])),
                deg(max((abs(e) for _, e in errors), default=None)),
                deg(mean(toward), signed=True),
                "-" if not ratios else f"{statistics.fmean(ratios):.2f}",
                "-" if not px else f"{statistics.median(px):.1f}",
                "-" if not depth else f"{statistics.fmean(depth):.2f}",
            ]
        )
    return rows


def _slope(readings: Sequence[PoseReading], axis: str) -> float | None:
    """Least squares of measured against true, through 0."""
    pairs = [(truth, truth + error) for truth, error in _errors(readings, axis)]
    denominator = sum(t * t for t, _ in pairs)
    return None if denominator == 0 else sum(t * m for t, m in pairs) / denominator


def _photo_row(name: str, readings: Sequence[PoseReading]) -> list[Any]:
    yaw, pitch = _errors(readings, "yaw"), _errors(readings, "pitch")
    return [
        name,
        f"{len(yaw)}/{len(readings)}",
        ratio(_slope(readings, "yaw")),
        deg(mean([abs(e) for _, e in yaw])),
        ratio(_slope(readings, "pitch")),
        deg(mean([abs(e) for _, e in pitch])),
    ]


def _coupling(acc: Accuracy) -> float:
    """The largest difference between the truth and the angle applied, over single-axis renders."""
    gaps = [max(abs(r.truth_yaw - r.yaw), abs(r.truth_pitch - r.pitch)) for r in acc.poses if not (r.yaw and r.pitch)]
    return max(gaps, default=0.0)


def poses_section(acc: Accuracy) -> list[str]:
    p = acc.plan
    yaws = ", ".join(f"{y:+g}" if y else "0" for y in p.yaws)
    pitches = ", ".join(f"{y:+g}" if y else "0" for y in p.pitches)
    lines = [
        SECTIONS[1],
        "",
        f"Method: `streams/samples/posed.py` renders each photo's face ({', '.join(p.photos)}) at every yaw in "
        f"{{{yaws}}} and pitch in {{{pitches}}} degrees: the photo's own MediaPipe face mesh is rotated "
        "rigidly about its centre, projected orthographically, and the photo's texture warped onto it triangle "
        "by triangle. The renderer rotates about the photo's own pose, so the truth is a *change*: the "
        "measured value is the reading of each render minus the reading of the unrotated render. For a face "
        "both turned and tilted, the truth is the rendered mesh itself read by `head_pose` (the renderer "
        "turns then tilts; the Euler angles are read in the other order, so yaw 30 + pitch 20 is about yaw "
        f"28, pitch 23); for a single turn it differs from the angle applied by at most {_coupling(acc):.1f}° "
        "(the photo's own pose couples the axes).",
        "",
        "Columns: *signed error toward the turn* is negative when the reading falls short of the true angle; "
        "*measured / true* is the mean ratio; *2D landmark error* is the median "
        "distance of MediaPipe's 468 points on the render from the mesh the render was drawn with; *depth "
        "scale* is MediaPipe's depth against the rendered mesh's (1 = it follows the turn).",
        "",
    ]
    header = ["angle (either sign)", "read", "mean abs error", "max abs error", "signed error toward the turn"]
    header += ["measured / true", "2D landmark error (px)", "depth scale"]
    lines += ["**Yaw** (all pitches of the grid):", ""]
    lines += table(header, _bucket_rows(acc.poses, "yaw", p.yaws))
    lines += ["**Pitch** (all yaws of the grid):", ""]
    lines += table(header, _bucket_rows(acc.poses, "pitch", p.pitches))
    rows = [_photo_row(photo, [r for r in acc.poses if r.photo == photo]) for photo in p.photos]
    rows.append(_photo_row("all", acc.poses))
    lines += ["Per photo (slope: least squares of measured against true, through 0):", ""]
    lines += table(["photo", "read", "yaw slope", "yaw mean abs error", "pitch slope", "pitch mean abs error"], rows)
    px = [r.landmark_px for r in acc.poses if r.landmark_px is not None] or [float("nan")]
    widest = max((abs(y) for y in p.yaws), default=0)
    depth_wide = [r.depth_scale for r in acc.poses if abs(r.yaw) == widest and r.depth_scale is not None]
    depth = statistics.fmean(depth_wide) if depth_wide else float("nan")
    lines += [
        f"What limits these figures: MediaPipe's 2D landmarks land within {statistics.median(px):.1f} px (median; "
        f"at most {max(px):.1f} px) of the rendered mesh, but its depth does not follow the turn (depth scale "
        f"{depth:.2f} at ±{widest:g}° of yaw), and the head's axes are read from the mesh's 3D points, so the "
        f"turn is under-read (yaw slope {ratio(_slope(acc.poses, 'yaw'))}). The renderer is an orthographic warp "
        "of a rigid mesh: a real turned head is seen in perspective, shows an ear and its far cheek's silhouette, "
        "and MediaPipe's depth was learnt on such faces. So these errors are most likely worse than on real "
        "faces (a lower bound on accuracy, not an estimate of it); no packaged photo shows a real face at a "
        "known angle to check that.",
        "",
    ]
    lines += _roll_and_symmetry(acc)
    return lines


def _roll_and_symmetry(acc: Accuracy) -> list[str]:
    lines = []
    own = {r.source: r.pose for r in acc.faces if r.condition == "original" and r.pose}
    roll_errors = [
        abs(r.pose["roll"] - own[r.source]["roll"] - r.roll_truth)
        for r in acc.faces
        if r.condition == "rotated" and r.roll_truth is not None and r.pose and r.source in own
    ]
    if roll_errors:
        lines += [
            f"**Roll**, against the in-plane rotations of section 1 ({len(roll_errors)} images): the change in roll "
            f"matches the rotation with a mean error of {statistics.fmean(roll_errors):.2f}° and at most "
            f"{max(roll_errors):.2f}°.",
            "",
        ]
    mirrored = {r.source: r.pose for r in acc.faces if r.condition == "mirrored" and r.pose}
    rows = []
    for source, pose in own.items():
        mirror = mirrored.get(source)
        rows.append(
            [
                source,
                deg(pose["yaw"], signed=True),
                "-" if mirror is None else deg(mirror["yaw"], signed=True),
                "-" if mirror is None else deg(abs(pose["yaw"] + mirror["yaw"])),
                deg(pose["pitch"], signed=True),
            ]
        )
    if rows:
        lines += [
            "**The photos' own pose**, and mirror symmetry (the truth for a mirrored face is the opposite yaw). "
            f"Faces looking into the camera read a positive pitch (the forehead-chin line leans back); without a "
            f"baseline the gaze subtracts a neutral {acc.limits.pitch_neutral_deg:g}°.",
            "",
        ]
        lines += table(["photo", "yaw", "yaw mirrored", "asymmetry", "pitch"], rows)
    return lines
