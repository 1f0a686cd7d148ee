"""docs/ACCURACY.md: its header, the gaze, objects and limits sections, and the whole (``markdown``)."""

from __future__ import annotations

from streams.offline.accuracy.faces_report import faces_section, poses_section
from streams.offline.accuracy.readings import FPS, FRAME_MS, SECTIONS, Accuracy, generated_line
from streams.offline.accuracy.tables import pct, table
from streams.samples.accuracy_sets import (
    RENDER_MAX_PITCH,
    RENDER_MAX_YAW,
    SOURCES,
)


def _gaze_section(acc: Accuracy) -> list[str]:
    limits, b = acc.limits, acc.behaviour
    v = acc.vision
    on_yaw, on_pitch = limits.yaw_deg - 5, limits.pitch_deg - 5
    off_yaw, off_pitch = limits.yaw_deg + 15, limits.pitch_deg + 15
    offsets = ", ".join(_pose_name(o) for o in acc.plan.gaze_offsets)
    lines = [
        SECTIONS[2],
        "",
        f"Scenario: a camera off the screen's axis. In each session (one per photo and offset, {FPS} frames a "
        f"second, `captured_at_ms` {FRAME_MS} ms apart) the candidate looks at the screen with the head at the "
        f"offset pose ({offsets}) for the first {b.baseline_s + 2:g} s (the baseline is learnt over the first "
        f"{b.baseline_s:g} s), then turns the head, the eyes fixed in it, by turns that are truly on the "
        f"screen (within the gaze limits less 5°: |yaw| ≤ {on_yaw:.1f}°, |pitch| ≤ {on_pitch:.1f}°) or truly "
        f"off it (past them by 15° or more: |yaw| ≥ {off_yaw:.1f}° or |pitch| ≥ {off_pitch:.1f}°), "
        f"{acc.plan.frames_per_turn} frames each. The gaze limits are the screen's half-angles plus a "
        f'{v.gaze_margin_deg:g}° margin (`screen_limits`: a {v.screen_diagonal_in:g}" {v.screen_aspect} screen at '
        f"{v.screen_distance_cm:g} cm, ±{limits.yaw_deg:.1f}° across, ±{limits.pitch_deg:.1f}° up and down). Turns "
        f"the renderer cannot show (past {RENDER_MAX_YAW:g}° of yaw or {RENDER_MAX_PITCH:g}° of pitch in all) "
        f"are left out. Frames carry sensor noise (cycling through {acc.plan.noise_draws} draws); the pipeline "
        "is stateless, so each distinct frame is observed once and its observation reused where the session "
        "repeats it.",
        "",
        "*With baseline*: the frame's `gaze.direction` after `BehaviourAnalyser` (which applies "
        "`streams/vision/baseline.py`: angles from the candidate's own neutral). *Without baseline*: the "
        "pipeline's own stateless `gaze.direction` (against the camera's axis, baseline `none`). A frame is "
        "flagged when its direction is not `center`. Only frames after the baseline window count, for both.",
        "",
    ]
    on = [g for g in acc.gaze if g.on_screen]
    off = [g for g in acc.gaze if not g.on_screen]
    on_frames, off_frames = sum(g.frames for g in on), sum(g.frames for g in off)
    rows = []
    for label, attr in (("with baseline", "flagged_baseline"), ("without baseline", "flagged_camera")):
        false_flags = sum(getattr(g, attr) for g in on)
        caught = sum(getattr(g, attr) for g in off)
        rows.append(
            [
                label,
                on_frames,
                f"{pct(false_flags, on_frames)} ({false_flags})",
                off_frames,
                f"{pct(caught, off_frames)} ({caught})",
            ]
        )
    lines += table(["gaze", "on-screen frames", "flagged off (false flags)", "off-screen frames", "caught"], rows)
    unread = sum(g.unread for g in acc.gaze)
    unset = sum(g.unset for g in acc.gaze)
    lines += [
        f"Frames with no gaze reading (no face mesh): {unread} of {on_frames + off_frames}, counted as not "
        f"flagged. Frames after the window without a set baseline: {unset}.",
        "",
        "By camera offset (false flags on on-screen frames; off-screen frames caught):",
        "",
    ]
    rows = []
    for offset in acc.plan.gaze_offsets:
        o_on = [g for g in on if g.offset == offset]
        o_off = [g for g in off if g.offset == offset]
        n_on, n_off = sum(g.frames for g in o_on), sum(g.frames for g in o_off)
        rows.append(
            [
                _pose_name(offset),
                n_on,
                pct(sum(g.flagged_baseline for g in o_on), n_on),
                pct(sum(g.flagged_camera for g in o_on), n_on),
                n_off,
                pct(sum(g.flagged_baseline for g in o_off), n_off),
                pct(sum(g.flagged_camera for g in o_off), n_off),
            ]
        )
    header = ["offset", "on-screen frames", "false flags, baseline", "false flags, none", "off-screen frames"]
    lines += table([*header, "caught, baseline", "caught, none"], rows)
    rows = []
    for photo in acc.plan.photos:
        p_on = [g for g in on if g.photo == photo]
        p_off = [g for g in off if g.photo == photo]
        n_on, n_off = sum(g.frames for g in p_on), sum(g.frames for g in p_off)
        rows.append(
            [
                photo,
                n_on,
                pct(sum(g.flagged_baseline for g in p_on), n_on),
                pct(sum(g.flagged_camera for g in p_on), n_on),
                n_off,
                pct(sum(g.flagged_baseline for g in p_off), n_off),
                pct(sum(g.flagged_camera for g in p_off), n_off),
            ]
        )
    lines += ["By photo:", ""]
    lines += table(["photo", *header[1:], "caught, baseline", "caught, none"], rows)
    rows = []
    for turn in sorted({g.turn for g in acc.gaze}, key=lambda t: (abs(t[0]) + abs(t[1]), t)):
        group = [g for g in acc.gaze if g.turn == turn]
        n = sum(g.frames for g in group)
        rows.append(
            [
                _pose_name(turn),
                "on" if group[0].on_screen else "off",
                n,
                pct(sum(g.flagged_baseline for g in group), n),
                pct(sum(g.flagged_camera for g in group), n),
            ]
        )
    lines += ["By turn from the screen (all offsets; share of frames flagged off):", ""]
    lines += table(["turn", "truth", "frames", "flagged, baseline", "flagged, none"], rows)
    with_b, without_b = _gaze_summary(acc)
    lines += [
        "Without a baseline the camera's axis stands in for the screen, so an offset camera makes a candidate "
        "who looks at the screen read as looking away, and a turn away from the screen may read as a look "
        f"back at it. With the baseline, false flags on on-screen frames were {with_b[0]} against {without_b[0]} "
        f"without, and off-screen frames caught {with_b[1]} against {without_b[1]}. What is left with the "
        "baseline is the head pose's own error: the under-read turn of section 2 keeps a turn just past the "
        "limit from reading past it, which is why not every off-screen frame is caught.",
        "",
    ]
    return lines


def _gaze_summary(acc: Accuracy) -> tuple[tuple[str, str], tuple[str, str]]:
    """(false-flag share, caught share) with the baseline and without it, as percentages."""
    on = [g for g in acc.gaze if g.on_screen]
    off = [g for g in acc.gaze if not g.on_screen]
    on_frames, off_frames = sum(g.frames for g in on), sum(g.frames for g in off)
    return (
        (pct(sum(g.flagged_baseline for g in on), on_frames), pct(sum(g.flagged_baseline for g in off), off_frames)),
        (pct(sum(g.flagged_camera for g in on), on_frames), pct(sum(g.flagged_camera for g in off), off_frames)),
    )


def _pose_name(pose: tuple[float, float]) -> str:
    yaw, pitch = pose
    parts = [f"yaw {yaw:+g}°"] if yaw else []
    parts += [f"pitch {pitch:+g}°"] if pitch else []
    return ", ".join(parts) or "0"


def _objects_section(acc: Accuracy) -> list[str]:
    lines = [SECTIONS[3], ""]
    if acc.objects is None:
        return [
            *lines,
            "Objects were not measured: no YOLO weights were given. Run "
            "`integrity evaluate --accuracy --weights PATH` (or set `INTEGRITY_YOLO_WEIGHTS`) to add the "
            "people and objects found by the real weights on the packaged photos.",
            "",
        ]
    floor = acc.behaviour.extra_person_min_confidence
    lines += [
        f"YOLO weights `{acc.weights}`, score ≥ {acc.vision.object_min_confidence:g}. A second person counts "
        f"(`extra_person`) from {floor:g}; before counting, a person box that covers most of two more confident "
        "ones is dropped (`streams/vision/objects.py`).",
        "",
    ]
    rows = []
    for r in acc.objects:
        counted = r.person_scores[:1] + [s for s in r.person_scores[1:] if s >= floor]
        rows.append(
            [
                r.source,
                r.people,
                len(r.person_scores),
                ", ".join(f"{s:.2f}" for s in r.person_scores) or "-",
                len(counted),
                ", ".join(r.others) or "none",
            ]
        )
    lines += table(["image", "people present", "person boxes", "scores", "people counted", "other objects"], rows)
    lines += [
        "No packaged photo shows a phone or a book: `cell phone`/`book` detection is checked here only for "
        "false detections (the last column), not for being found.",
        "",
    ]
    return lines


def _limits_section(acc: Accuracy) -> list[str]:
    small = [r for r in acc.faces if r.condition == "small" and r.face_width_px is not None]
    small_text = "; ".join(
        f"{r.source} at {r.face_width_px:.0f} px: "
        + ("missed" if r.missed else "found" + (", too small to read" if r.too_small else ""))
        + (", head pose read" if r.pose else ", head pose not read")
        for r in small
        if r.face_width_px is not None
    )
    return [
        SECTIONS[4],
        "",
        "- The sets are small (a handful of photos, each transformed) and were chosen from what ships in "
        "installed packages: the figures show where the vision stage breaks, not rates on a population. "
        "The photos do not cover the range of skin tones, ages, glasses or head coverings a fair evaluation "
        "needs; no candidate data was used.",
        f"- Small faces: {small_text or 'not measured'}. The face mesh (head pose, gaze) needs a larger face "
        "than the face detector does. A candidate ~60 cm from a webcam shows a face of "
        "150-250 px; a second person far in the background is found by YOLO (`extra_person`) rather than by "
        "face detection.",
        "- Head pose and gaze are measured on renders (an orthographic warp of a rigid mesh), not on real "
        "turned faces; see section 2 for why that makes the figures pessimistic.",
        "- The eyes are fixed in the head in every render: the eye-in-head term of the gaze (iris against "
        f"the eye corners, {acc.limits.eye_deg_per_unit:g}° per unit of eye width, a stated assumption) is not "
        "measured here.",
        "",
    ]


def _header(acc: Accuracy) -> list[str]:
    versions = ", ".join(f"{name} {version}" for name, version in acc.versions.items())
    v, b = acc.vision, acc.behaviour
    sources = sorted({r.source for r in acc.faces} | ({r.source for r in acc.objects} if acc.objects else set()))
    lines = [
        generated_line(acc.command),
        "",
        "# Vision accuracy: what was measured, on what, and the limits",
        "",
        f"- Date: {acc.when} (the run took {acc.seconds:.0f} s)",
        f"- Machine: {acc.machine}",
        f"- Packages: {versions}",
        f"- Objects: {'YOLO weights `' + acc.weights + '`' if acc.weights else 'objects off (no YOLO weights)'}",
        f"- Settings: face model {v.face_model}, face score ≥ {v.face_min_confidence:g}, too dark under luma "
        f"{v.too_dark_brightness:g}, face too small under {v.face_too_small:g} of the frame's width, gaze limits "
        f"±{acc.limits.yaw_deg:.1f}° / ±{acc.limits.pitch_deg:.1f}°, baseline over the first {b.baseline_s:g} s",
        f"- Command: `{acc.command}`",
        "",
        "The images are real photos that ship inside installed packages, and transformations of them that keep "
        "the truth known (`streams/samples/accuracy_sets.py`). The tests in `tests/unit/test_accuracy_report.py`, "
        "`test_vision.py`, `test_objects.py` and `test_behaviour.py` assert some of the same facts in CI.",
        "",
    ]
    lines += table(["image", "where it comes from"], [[name, SOURCES[name]] for name in sources if name in SOURCES])
    return lines


def markdown(acc: Accuracy) -> str:
    """The whole of docs/ACCURACY.md."""
    lines = _header(acc) + faces_section(acc) + poses_section(acc) + _gaze_section(acc)
    lines += _objects_section(acc) + _limits_section(acc)
    return "\n".join(lines).rstrip("\n") + "\n"
