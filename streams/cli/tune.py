"""``integrity tune``: time the object detector's candidate weights on this machine and keep the fastest
that sees what the reference sees (``streams.vision.tuning``). ``integrity worker`` does the same at start
when ``INTEGRITY_YOLO_CANDIDATES`` is set, and reuses a choice made on the same CPU and libraries."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from streams.cli.common import refuse, settings_for
from streams.settings import Settings, flag_help, yolo_input_size

__all__ = ["register", "resolve_weights", "tuning_file"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "tune",
        help="time the candidate YOLO weights here; keep the fastest whose detections agree with the reference",
    )
    p.add_argument("--weights", help=flag_help("INTEGRITY_YOLO_WEIGHTS", "the reference weights"))
    p.add_argument("--candidates", help=flag_help("INTEGRITY_YOLO_CANDIDATES"))
    p.add_argument("--frames", type=int, default=20, help="frames timed per candidate (default %(default)s)")
    p.add_argument("--threads", type=int, help=flag_help("INTEGRITY_INFERENCE_THREADS"))
    p.add_argument("--json", action="store_true", help="the trials and the choice as one JSON object")
    p.set_defaults(func=_cmd_tune)


def tuning_file(settings: Settings) -> Path:
    """Where choices are kept: beside the worker's state, one file for every CPU kind it met."""
    return settings.data_dir / "tuning.json"


def _candidates(settings: Settings) -> list[str]:
    listed = [w.strip() for w in settings.vision.yolo_candidates.split(",") if w.strip()]
    return [w for w in listed if w != settings.vision.yolo_weights]


def _samples() -> tuple[list[Any], list[Any]]:
    """Webcam-like frames to time (the packaged scenes and Ultralytics' photos, 640x480) and the photos
    whose objects every candidate must see as the reference does (Ultralytics' bus and Zidane)."""
    import cv2
    import numpy as np

    from producers.images import fit
    from streams.samples.photos import ultralytics_asset
    from streams.samples.scenes import SCENES, noisy_jpegs, scene_image

    photos = [fit(ultralytics_asset(name), 640, 480) for name in ("bus.jpg", "zidane.jpg")]
    images = [scene_image(name) for name in SCENES] + photos
    jpegs = noisy_jpegs(images, 40, seed=5)
    frames = [cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR) for jpeg in jpegs]
    return frames, photos


def _measure(settings: Settings, threads: int, count: int, progress: Any) -> Any:
    from streams.vision.tuning import Choice, choose, measure, set_inference_threads

    set_inference_threads(threads)
    frames, photos = _samples()
    frames = (frames * (count // len(frames) + 1))[:count]
    with contextlib.redirect_stdout(io.StringIO()):  # Ultralytics and LiteRT print on load
        trials = measure(
            settings.vision.yolo_weights,
            _candidates(settings),
            frames,
            photos,
            min_confidence=settings.vision.object_min_confidence,
            imgsz=yolo_input_size(settings.vision.yolo_input),
            progress=progress,
        )
    best = choose(trials)
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return Choice(best.weights, best.backend, best.mean_ms, when, tuple(trials))


def resolve_weights(settings: Settings, threads: int) -> tuple[Settings, str]:
    """The settings with the weights to run (the tuned choice when there are candidates) and a line saying
    how they were chosen. Measures only when no choice was kept for this CPU, libraries and files."""
    from streams.vision.tuning import backend_of, load_cache, store_cache, tuning_key

    weights = settings.vision.yolo_weights
    candidates = _candidates(settings)
    if not weights or not candidates:
        return settings, f"{backend_of(weights)} ({weights}), as configured" if weights else "off"
    key = tuning_key(weights, candidates, threads, yolo_input_size(settings.vision.yolo_input))
    path = tuning_file(settings)
    choice = load_cache(path, key)
    if choice is None:
        print(
            f"integrity worker: timing {1 + len(candidates)} object-detection weights on this CPU (once per CPU "
            "kind; `integrity tune` shows the figures)",
            file=sys.stderr,
            flush=True,
        )
        choice = _measure(settings, threads, 20, lambda line: print(f"  {line}", file=sys.stderr, flush=True))
        store_cache(path, key, choice)
    line = f"{choice.backend} ({choice.weights}), {choice.mean_ms} ms per check, fastest agreeing of " + (
        f"{len(choice.trials)} timed here {choice.measured_at}"
    )
    return replace(settings, vision=replace(settings.vision, yolo_weights=choice.weights, yolo_choice=line)), line


def _cmd_tune(args: argparse.Namespace) -> int:
    from streams.bench.output import print_cpu, print_table
    from streams.machine import cpus_available
    from streams.vision.tuning import store_cache, tuning_key

    settings = settings_for(
        args,
        INTEGRITY_YOLO_WEIGHTS=args.weights,
        INTEGRITY_YOLO_CANDIDATES=args.candidates,
        INTEGRITY_INFERENCE_THREADS=args.threads,
    )
    if not settings.vision.yolo_weights:
        return refuse("no reference weights: set INTEGRITY_YOLO_WEIGHTS or --weights", "tune")
    threads = settings.vision.inference_threads or cpus_available()
    choice = _measure(settings, threads, args.frames, lambda line: print(line, file=sys.stderr, flush=True))
    key = tuning_key(
        settings.vision.yolo_weights, _candidates(settings), threads, yolo_input_size(settings.vision.yolo_input)
    )
    store_cache(tuning_file(settings), key, choice)
    if args.json:
        print(json.dumps(choice.to_json()))
        return 0
    print_cpu()
    rows = [
        [
            trial.weights,
            trial.backend,
            trial.mean_ms if trial.error is None else "-",
            trial.p95_ms if trial.error is None else "-",
            "reference"
            if trial.weights == settings.vision.yolo_weights
            else (trial.error and f"failed: {trial.error}") or trial.disagrees or "agrees",
        ]
        for trial in choice.trials
    ]
    title = f"object detection per 640x480 frame, ms ({args.frames} frames, {threads} inference threads)"
    print_table(title, ["weights", "backend", "mean", "p95", "detections"], rows)
    print(f"\nchosen: {choice.weights} ({choice.backend}, {choice.mean_ms} ms); kept in {tuning_file(settings)}")
    return 0
