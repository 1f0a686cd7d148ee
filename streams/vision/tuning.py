"""Which object-detection weights to run on this machine: measured here, not assumed.

The fastest backend depends on the CPU: LiteRT INT8 beat everything on a CPU with VNNI and lost to ONNX
Runtime FP32 on one without (docs/PERFORMANCE.md). So a deployment may offer several exports of its model
(``INTEGRITY_YOLO_CANDIDATES``), and each is timed on packaged frames with the thread count the worker will
use. A candidate is eligible only when its detections agree with the reference weights'
(``INTEGRITY_YOLO_WEIGHTS``) on photos with known objects: a faster model that sees other things is not
the same product. The choice is kept per CPU model, instruction sets, library versions and candidate
files, so a worker measures once per machine kind and each restart reuses it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from schemas.records import DetectedObject
from streams.machine import cpu
from streams.vision.objects import ObjectDetector

__all__ = [
    "Choice",
    "Trial",
    "agreement",
    "backend_of",
    "choose",
    "measure",
    "set_inference_threads",
    "tuning_key",
]

log = logging.getLogger(__name__)

_LIBRARIES = ("ultralytics", "ai-edge-litert", "onnxruntime", "openvino", "torch", "mediapipe", "numpy")
# Two boxes match when they overlap this much (intersection over union): the same object, seen alike.
_SAME_BOX_IOU = 0.5


def backend_of(weights: str) -> str:
    """The runtime Ultralytics picks for these weights (by their format)."""
    name = weights.rstrip("/")
    if name.endswith("_openvino_model"):
        return "OpenVINO"
    suffix = Path(name).suffix
    return {
        ".tflite": "LiteRT",
        ".onnx": "ONNX Runtime",
        ".pt": "PyTorch",
        ".yaml": "PyTorch",
        ".torchscript": "TorchScript",
        ".engine": "TensorRT",
        ".mlpackage": "CoreML",
    }.get(suffix, "Ultralytics")


def _file_identity(weights: str) -> str:
    try:
        stat = Path(weights).stat()
    except OSError:
        return weights
    return f"{weights}:{stat.st_size}:{int(stat.st_mtime)}"


def tuning_key(reference: str, candidates: Sequence[str], threads: int, imgsz: tuple[int, int]) -> str:
    """What a choice depends on: the CPU and its instruction sets, the libraries, the files, the threads."""
    model, flags = cpu()
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    parts = {
        "cpu": model,
        "flags": flags,
        "libraries": versions,
        "weights": [_file_identity(w) for w in (reference, *candidates)],
        "threads": threads,
        "input": list(imgsz),
    }
    return json.dumps(parts, sort_keys=True)


def set_inference_threads(threads: int) -> None:
    """One object inference uses ``threads`` threads in every runtime Ultralytics may pick (several worker
    processes on one box each get their share, not every core). LiteRT reads Ultralytics' thread count when
    a model loads; PyTorch and ONNX Runtime (through OpenMP) read theirs here."""
    threads = max(1, threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        import ultralytics.nn.backends.litert as litert

        litert.NUM_THREADS = threads
    except ImportError:  # an Ultralytics without that module loads LiteRT its own way
        pass
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass


def _iou(a: DetectedObject, b: DetectedObject) -> float:
    w = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
    h = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
    inter = max(w, 0.0) * max(h, 0.0)
    union = a["width"] * a["height"] + b["width"] * b["height"] - inter
    return inter / union if union > 0 else 0.0


def agreement(reference: Sequence[Sequence[DetectedObject]], found: Sequence[Sequence[DetectedObject]]) -> str | None:
    """None when ``found`` sees what ``reference`` sees on every photo (the same objects of each label,
    each box overlapping its match by half or more); otherwise what differs, in words."""
    for index, (wanted, seen) in enumerate(zip(reference, found, strict=True)):
        left = list(seen)
        for obj in wanted:
            match = max(
                (other for other in left if other["label"] == obj["label"]),
                key=lambda other: _iou(obj, other),
                default=None,
            )
            if match is None or _iou(obj, match) < _SAME_BOX_IOU:
                return f"photo {index}: no {obj['label']} where the reference sees one"
            left.remove(match)
        if left:
            return f"photo {index}: {', '.join(sorted(o['label'] for o in left))} the reference does not see"
    return None


@dataclass(frozen=True)
class Trial:
    weights: str
    backend: str
    mean_ms: float
    p95_ms: float
    disagrees: str | None  # None: sees what the reference sees
    error: str | None = None  # it could not load or run


@dataclass(frozen=True)
class Choice:
    weights: str
    backend: str
    mean_ms: float
    measured_at: str
    trials: tuple[Trial, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> Choice:
        trials = tuple(Trial(**trial) for trial in data.get("trials", ()))
        return Choice(data["weights"], data["backend"], data["mean_ms"], data["measured_at"], trials)


def measure(
    reference: str,
    candidates: Sequence[str],
    frames: Sequence[np.ndarray],
    photos: Sequence[np.ndarray],
    *,
    min_confidence: float,
    imgsz: tuple[int, int],
    progress: Callable[[str], None] = lambda line: None,
) -> list[Trial]:
    """Each of ``reference`` and ``candidates`` timed on ``frames`` (after two warm-up runs) and checked
    against the reference's detections on ``photos``."""
    expected: list[list[DetectedObject]] = []
    trials = []
    for weights in (reference, *candidates):
        progress(f"timing {weights} ({backend_of(weights)})")
        detector = ObjectDetector(weights, min_confidence, imgsz)
        if not detector.available:
            trials.append(Trial(weights, backend_of(weights), 0.0, 0.0, None, detector.unavailable_reason))
            continue
        try:
            seen = [detector.detect(photo) for photo in photos]
            for frame in frames[:2]:
                detector.detect(frame)
            times = []
            for frame in frames:
                started = time.perf_counter()
                detector.detect(frame)
                times.append((time.perf_counter() - started) * 1000.0)
        except Exception as exc:  # a candidate that cannot run is reported, never the end of tuning
            trials.append(Trial(weights, backend_of(weights), 0.0, 0.0, None, f"{type(exc).__name__}: {exc}"))
            continue
        if weights == reference:
            expected = seen
        disagrees = None if weights == reference else agreement(expected, seen)
        trials.append(
            Trial(
                weights,
                backend_of(weights),
                round(float(np.mean(times)), 2),
                round(float(np.percentile(times, 95)), 2),
                disagrees,
            )
        )
    return trials


def choose(trials: Sequence[Trial]) -> Trial:
    """The fastest trial that ran and agrees with the reference (the reference itself when none does)."""
    eligible = [trial for trial in trials if trial.error is None and trial.disagrees is None]
    if not eligible:
        raise ValueError("no candidate ran: " + "; ".join(f"{t.weights}: {t.error}" for t in trials))
    return min(eligible, key=lambda trial: trial.mean_ms)


def load_cache(path: Path, key: str) -> Choice | None:
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    entry = entries.get(key) if isinstance(entries, dict) else None
    try:
        return Choice.from_json(entry) if entry else None
    except (KeyError, TypeError):
        return None


def store_cache(path: Path, key: str, choice: Choice) -> None:
    try:
        entries = json.loads(path.read_text())
        if not isinstance(entries, dict):
            entries = {}
    except (OSError, ValueError):
        entries = {}
    entries[key] = choice.to_json()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(entries, indent=1))
    temporary.replace(path)
