"""Real photos that ship inside installed packages: scikit-image's astronaut, matplotlib's Grace Hopper,
Ultralytics' bus.jpg and zidane.jpg."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from producers.images import read_image

__all__ = ["astronaut", "grace_hopper", "ultralytics_asset", "zidane_face"]


def _package_dir(name: str) -> Path:
    """Where an installed package lives, without importing it (Ultralytics prints on first import)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"package {name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def astronaut() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def grace_hopper() -> np.ndarray:
    return read_image(_package_dir("matplotlib") / "mpl-data" / "sample_data" / "grace_hopper.jpg")


def ultralytics_asset(name: str) -> np.ndarray:
    """``bus.jpg`` or ``zidane.jpg`` from the ultralytics package."""
    return read_image(_package_dir("ultralytics") / "assets" / name)


def zidane_face() -> np.ndarray:
    """Zidane's face, turned to the image's right, cropped large enough for the face mesh."""
    return np.ascontiguousarray(ultralytics_asset("zidane.jpg")[80:500, 820:1180])
