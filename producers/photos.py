"""Real photos that ship inside installed packages, for the sample session, the benchmarks and tests.

None of them is committed: scikit-image carries the astronaut, matplotlib Grace Hopper, Ultralytics
bus.jpg and zidane.jpg.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from producers.images import encode_jpeg

__all__ = ["astronaut", "grace_hopper", "noisy_jpegs", "ultralytics_asset", "zidane_face"]


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(path)
    return image


def astronaut() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def grace_hopper() -> np.ndarray:
    import matplotlib

    return _read(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")


def ultralytics_asset(name: str) -> np.ndarray:
    """``bus.jpg`` or ``zidane.jpg`` from the ultralytics package."""
    import ultralytics

    return _read(Path(ultralytics.__file__).parent / "assets" / name)


def zidane_face() -> np.ndarray:
    """Zidane's face, turned to the image's right, cropped large enough for the face mesh."""
    return np.ascontiguousarray(ultralytics_asset("zidane.jpg")[80:500, 820:1180])


def noisy_jpegs(images: list[np.ndarray], count: int, seed: int) -> list[bytes]:
    """``count`` webcam-like JPEGs cycling through ``images`` (same size), each with its own sensor noise."""
    rng = np.random.default_rng(seed)
    out = []
    for index in range(count):
        noisy = images[index % len(images)].astype(np.float32) + rng.normal(0, 3, images[0].shape)
        out.append(encode_jpeg(np.clip(noisy, 0, 255).astype(np.uint8), 85))
    return out
