"""``integrity capture``: a webcam, stream URL or video file published live as one session (``producers.capture``).

stdout carries the one JSON summary line only; the progress bar and messages go to stderr. Ctrl-C ends
the session (its end record sent) and exits 0; a source that cannot be opened exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import uuid

from streams.cli.common import positive, progress_bar, refuse, settings_for

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "capture",
        help="publish a webcam, stream URL or video file live as one session",
        description="Capture SOURCE with OpenCV and publish it as one session: a start record, JPEG frames sampled "
        "at --fps, an end record (on Ctrl-C too). Frames are never written to disk. Prints one JSON line: "
        "session_id, frames, seconds, source.",
    )
    p.add_argument(
        "source",
        nargs="?",
        default="0",
        metavar="SOURCE",
        help="a camera index (default 0), a stream URL (rtsp://, http://) or a video file",
    )
    p.add_argument("--session-id", help="the session's id (default capture-<random>)")
    p.add_argument("--candidate-id", default="candidate", help="the candidate's id (default %(default)s)")
    p.add_argument("--policy", default="default", help="risk policy of the session (streams/risk/policies)")
    p.add_argument("--fps", type=positive, default=2.0, help="frames published per second (default %(default)s)")
    p.add_argument(
        "--duration", type=positive, metavar="SECONDS", help="stop after this long (a file: of its own time)"
    )
    p.add_argument("--frames", type=int, metavar="N", help="stop after publishing N frames")
    p.set_defaults(func=_run_capture)


def _run_capture(args: argparse.Namespace) -> int:
    import cv2

    from producers.capture import CaptureError, CaptureOptions, CaptureSummary, capture, describe_source
    from streams.kafka.clients import session_publisher

    # OpenCV's own warnings (a missing camera is two lines of them) would bury our one-line message.
    cv2.setLogLevel(0)
    options = CaptureOptions(
        session_id=args.session_id or f"capture-{uuid.uuid4().hex[:8]}",
        candidate_id=args.candidate_id,
        policy=args.policy,
        fps=args.fps,
        duration_s=args.duration,
        max_frames=args.frames,
    )
    settings = settings_for(args)
    bar = progress_bar("published", "frame", args.frames)

    def progress(sent: int, _: int | None) -> None:
        if sent == 1:  # said once the source gives frames: a source that cannot open says only why
            bar.write(
                f"capturing {describe_source(args.source)} as session {options.session_id} at {options.fps:g} fps; "
                "Ctrl-C ends the session",
                file=sys.stderr,
            )
        bar.update(sent - bar.n)

    async def run() -> CaptureSummary:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with session_publisher(settings) as publisher:
            return await capture(publisher, args.source, options, progress, stop)

    try:
        with bar:
            summary = asyncio.run(run())
    except CaptureError as exc:
        return refuse(str(exc))
    print(summary.line(), flush=True)
    return 0
