"""``integrity analyze``: the vision stage offline on images, folders or video files, one line (or JSON)
per frame (``streams.offline.analysis``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from streams.cli.common import settings_for
from streams.settings import flag_help, yolo_input_size

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("analyze", help="run the vision stage offline on images, folders or videos")
    p.add_argument("paths", nargs="+", help="image files, image folders or video files (one session, in order)")
    p.add_argument("--json", action="store_true", help="one JSON object per frame")
    p.add_argument("--fps", type=float, default=5.0, help="frame rate the inputs were captured at")
    p.add_argument(
        "--objects-every",
        type=float,
        default=0.0,
        metavar="S",
        help="check objects at most once per S seconds of capture time, as a worker does (default 0: every frame)",
    )
    p.add_argument("--weights", help=flag_help("INTEGRITY_YOLO_WEIGHTS", "YOLO weights"))
    p.set_defaults(func=_cmd_analyze)


def _cmd_analyze(args: argparse.Namespace) -> int:
    from streams.cli.render import format_analysed_frame, to_json
    from streams.offline.analysis import analyze, with_objects_every
    from streams.vision.objects import ObjectDetector

    settings = with_objects_every(settings_for(args, INTEGRITY_YOLO_WEIGHTS=args.weights), args.objects_every)
    ObjectDetector(
        settings.vision.yolo_weights,
        settings.vision.object_min_confidence,
        yolo_input_size(settings.vision.yolo_input),
    ).verify()
    for row in analyze([Path(p) for p in args.paths], settings, fps=args.fps):
        print(to_json(row) if args.json else format_analysed_frame(row), flush=True)
    return 0
