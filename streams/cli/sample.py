"""``integrity sample``: the demo's sample session, or (``--labelled``) the labelled set of sessions with
planted truth, run through vision and recorded as observations (for ``integrity evaluate`` and
``calibrate``). Both are built from photos that ship inside installed packages."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from streams.cli.common import progress_bar, settings_for

__all__ = ["DEFAULT_LABELLED_DIR", "DEFAULT_SAMPLE_DIR", "register"]

DEFAULT_SAMPLE_DIR = Path(".integrity/sample-session")
DEFAULT_LABELLED_DIR = Path(".integrity/labelled-set")


def register(sub: Any) -> None:
    p = sub.add_parser("sample", help="build the sample recorded session (or, --labelled, the labelled set)")
    p.add_argument("--out", help=f"folder (default {DEFAULT_SAMPLE_DIR}, or {DEFAULT_LABELLED_DIR} with --labelled)")
    p.add_argument(
        "--labelled",
        action="store_true",
        help="build the labelled set instead: sessions with planted behaviours and their labels, run through "
        "vision and recorded as observations (for integrity evaluate and calibrate)",
    )
    p.set_defaults(func=_cmd_sample)


def _cmd_sample(args: argparse.Namespace) -> int:
    if args.labelled:
        return _build_labelled_set(args, Path(args.out or DEFAULT_LABELLED_DIR))
    from streams.samples.session import build_sample_session

    out = build_sample_session(Path(args.out or DEFAULT_SAMPLE_DIR))
    print(f"sample session written to {out}")
    return 0


def _build_labelled_set(args: argparse.Namespace, out_dir: Path) -> int:
    from streams.samples.labelled import build_labelled_set

    with progress_bar("frames through vision", "frame") as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        recording, labels = build_labelled_set(out_dir, settings_for(args).vision, on_progress=progress)
    print(f"labelled set written: {recording} (observations, no images) and {labels}")
    return 0
