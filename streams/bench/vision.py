"""`integrity bench vision`: per-detector and per-frame time on 640x480 JPEGs of the real photos.

Every configuration runs in the same process on the same frames, so the figures compare:
- each YOLO backend available here with every detector on every frame, then on the objects' schedule of
  the settings (faces and gaze every frame, objects at most every ``INTEGRITY_OBJECTS_EVERY_S`` of
  capture time: streams/vision/schedule.py), the frames being one session captured at ``--fps``;
- the naive configuration: PyTorch YOLO at full 640 input on every frame.
The frames change picture every frame (the worst case for the schedule: no picture is ever unchanged).
PyTorch, TorchScript and ONNX Runtime run yolov8n built from Ultralytics' architecture YAML (random weights: the same
compute as the official yolov8n.pt, which cannot be downloaded here); LiteRT runs the real INT8 weights.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from producers.images import fit
from schemas.records import new_frame
from streams.bench.output import percentiles, print_table, write_json
from streams.samples.photos import ultralytics_asset
from streams.samples.scenes import SCENES, noisy_jpegs, scene_image
from streams.settings import Settings, VisionSettings, load_settings
from streams.vision import BehaviourAnalyser, VisionPipeline
from streams.vision.objects import import_ultralytics

__all__ = ["main"]

_STAGES = ("decode", "faces", "landmarks", "objects", "behaviour", "total")


def _frames(count: int) -> list[bytes]:
    """Webcam-like 640x480 JPEGs: the astronaut, two faces, nobody, and Ultralytics' bus and Zidane."""
    images = [scene_image(name) for name in SCENES]
    images += [fit(ultralytics_asset(name), 640, 480) for name in ("bus.jpg", "zidane.jpg")]
    return noisy_jpegs(images, count, seed=11)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Ultralytics and TFLite print on load; the table is what the reader wants."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def _backends(shared_weights: str, workdir: Path) -> dict[str, str]:
    backends: dict[str, str] = {}
    if shared_weights and Path(shared_weights).exists():
        backends["litert-int8 (real COCO weights)"] = shared_weights
    backends["pytorch (yolov8n arch)"] = "yolov8n.yaml"
    YOLO = import_ultralytics().YOLO
    with _quiet(), contextlib.chdir(workdir):
        exported = YOLO("yolov8n.yaml", task="detect").export(format="torchscript", imgsz=640, verbose=False)
    backends["torchscript (yolov8n arch)"] = str(Path(workdir) / exported)
    try:
        import onnxruntime  # noqa: F401  (the extra "onnx")
    except ImportError:
        print("ONNX Runtime not installed (pip install '.[onnx]'): not measured", file=sys.stderr)
        return backends
    with _quiet(), contextlib.chdir(workdir):
        exported = YOLO("yolov8n.yaml", task="detect").export(format="onnx", imgsz=640, verbose=False)
    backends["onnxruntime (yolov8n arch)"] = str(Path(workdir) / exported)
    return backends


def _smaller_inputs(workdir: Path) -> dict[str, str]:
    """yolov8n's architecture exported to ONNX at a letterboxed 640x480 and at 320x320: what a smaller
    input saves (the real weights are fixed at 640x640; no accuracy is claimed for these)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return {}
    YOLO = import_ultralytics().YOLO
    exported: dict[str, str] = {}
    for size, imgsz in (("640x480", (480, 640)), ("320x320", (320, 320))):
        folder = workdir / size
        folder.mkdir()
        with _quiet(), contextlib.chdir(folder):
            path = YOLO("yolov8n.yaml", task="detect").export(format="onnx", imgsz=imgsz, verbose=False)
        exported[size] = str(folder / path)
    return exported


def _run(settings: VisionSettings, frames: list[bytes], fps: float, warmup: int = 5) -> dict[str, Any]:
    with _quiet():
        pipeline = VisionPipeline(settings)
        pipeline.warm_up()
    analyser = BehaviourAnalyser()
    state = check = None
    timings: dict[str, list[float]] = {stage: [] for stage in _STAGES}
    for sequence, image in enumerate(frames):
        with _quiet():
            captured_at_ms = int(sequence * 1000 / fps)
            frame = new_frame("bench", sequence, image, width=640, height=480, captured_at_ms=captured_at_ms)
            observation, check = pipeline.observe_in_session(frame, check)
        state = analyser.annotate(state, observation)
        if sequence < warmup:
            continue
        for stage in _STAGES:
            if stage in observation["timings_ms"]:
                timings[stage].append(observation["timings_ms"][stage])
    totals = timings["total"]
    return {
        "stages": {stage: percentiles(values) for stage, values in timings.items() if values},
        "mean_frame_ms": round(float(np.mean(totals)), 2),
        "frames_per_s_one_thread": round(1000.0 / float(np.mean(totals)), 1),
    }


def main(frames: int, fps: float, out: Path, settings: Settings | None = None) -> int:
    settings = settings or load_settings()
    images = _frames(frames + 5)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="integrity-bench-vision-") as workdir:
        backends = _backends(settings.vision.yolo_weights, Path(workdir))
        every_s = settings.vision.objects_every_s
        square = settings.vision.yolo_input
        plan = [("faces + gaze only (no objects)", "", 0.0, square)]
        for name, weights in backends.items():
            plan.append((f"{name}, every frame", weights, 0.0, square))
            plan.append((f"{name}, objects every {every_s:g} s", weights, every_s, square))
        plan += [
            (f"onnxruntime (yolov8n arch), {size} input, every frame", weights, 0.0, size)
            for size, weights in _smaller_inputs(Path(workdir)).items()
        ]
        for label, weights, run_every_s, size in plan:
            print(f"running: {label}", file=sys.stderr, flush=True)
            vision = dataclasses.replace(
                settings.vision, yolo_weights=weights, objects_every_s=run_every_s, yolo_input=size
            )
            runs.append(
                {
                    "config": label,
                    "weights": weights,
                    "objects_every_s": run_every_s,
                    "yolo_input": size,
                    **_run(vision, images, fps),
                }
            )

    rows = []
    for run in runs:
        stages = run["stages"]
        objects = stages.get("objects", {})
        rows.append(
            [
                run["config"],
                stages["faces"]["p50"],
                stages.get("landmarks", {}).get("p50", "-"),
                objects.get("p50", "-"),
                objects.get("p95", "-"),
                stages["total"]["p50"],
                stages["total"]["p95"],
                stages["total"]["max"],
                run["mean_frame_ms"],
                round(stages["total"]["p95"] / run["mean_frame_ms"], 2),
                run["frames_per_s_one_thread"],
            ]
        )
    header = [
        "configuration",
        "faces p50",
        "mesh p50",
        "objects p50",
        "objects p95",
        "frame p50",
        "frame p95",
        "frame max",
        "mean ms",
        "p95/mean",
        "frames/s",
    ]
    print_table(
        f"vision per 640x480 frame, ms ({frames} frames of one session at {fps:g} frames/s, one thread)", header, rows
    )
    naive = next(r for r in runs if r["config"].startswith("pytorch") and r["objects_every_s"] == 0)
    best = min(runs[1:], key=lambda r: r["mean_frame_ms"])
    ratio = naive["mean_frame_ms"] / best["mean_frame_ms"]
    print(
        f"\nnaive (PyTorch, every detector every frame): {naive['mean_frame_ms']} ms/frame; "
        f"best ({best['config']}): {best['mean_frame_ms']} ms/frame; speed-up x{ratio:.1f}"
    )
    summary: dict[str, Any] = {"vision": runs, "speedup_vs_naive": round(ratio, 2)}
    configured = settings.vision.yolo_weights
    default = next((r for r in runs if r["weights"] == configured and r["objects_every_s"] > 0), None)
    if default is not None:
        default_ratio = naive["mean_frame_ms"] / default["mean_frame_ms"]
        p95 = default["stages"]["total"]["p95"]
        print(
            f"default ({default['config']}): {default['mean_frame_ms']} ms/frame, x{default_ratio:.1f} faster than "
            f"naive; p95 {p95} ms = {p95 / default['mean_frame_ms']:.1f}x its mean"
        )
        summary["default_speedup_vs_naive"] = round(default_ratio, 2)
    write_json(out, summary)
    return 0
