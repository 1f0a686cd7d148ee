"""``integrity produce``: footage (a video file or a folder of images) published as one live session
(``producers.footage``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from streams.cli.common import settings_for

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("produce", help="publish a video file or image folder as one live session")
    p.add_argument("path", help="a video file or a folder of images (sorted by name)")
    p.add_argument("--session-id", required=True, help="the session's id (its records' key)")
    p.add_argument("--candidate-id", default="candidate", help="the candidate's id (default %(default)s)")
    p.add_argument("--fps", type=float, default=5.0, help="frames per second, 0 = as fast as possible")
    p.add_argument("--loop", type=int, default=1, help="play the footage this many times")
    p.add_argument("--width", type=int, default=640, help="frames are fitted into this width (default %(default)s)")
    p.add_argument("--height", type=int, default=480, help="... and this height (default %(default)s)")
    p.add_argument("--jpeg-quality", type=int, default=85, help="JPEG quality 1-100 (default %(default)s)")
    p.add_argument("--no-control", action="store_true", help="do not send session start/end records")
    p.add_argument("--policy", default="default", help="risk policy of the session (streams/risk/policies)")
    p.set_defaults(func=_cmd_produce)


def _progress(sent: int, total: int | None) -> None:
    if sys.stderr.isatty() or sent == total or sent % 50 == 0:
        of = f"/{total}" if total else ""
        end = "\n" if sent == total else ("\r" if sys.stderr.isatty() else "\n")
        print(f"sent {sent}{of} frames", end=end, file=sys.stderr, flush=True)


def _cmd_produce(args: argparse.Namespace) -> int:
    from producers.footage import FootageOptions, publish_footage
    from streams.kafka.clients import session_publisher

    options = FootageOptions(
        session_id=args.session_id,
        candidate_id=args.candidate_id,
        fps=args.fps,
        loops=args.loop,
        width=args.width,
        height=args.height,
        jpeg_quality=args.jpeg_quality,
        control=not args.no_control,
        policy=args.policy,
    )
    settings = settings_for(args)

    async def produce() -> int:
        async with session_publisher(settings) as publisher:
            return await publish_footage(publisher, Path(args.path), options, _progress)

    sent = asyncio.run(produce())
    print(f"published {sent} frames of session {args.session_id}", file=sys.stderr)
    return 0
