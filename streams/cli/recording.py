"""``integrity record`` and ``integrity replay``: their flags, and the commands that run them.

stdout carries the one-line summary only; the progress bar, warnings and hints go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from streams.cli.common import positive, progress_bar, settings_for

__all__ = ["register"]

_FRAMES_WARNING = (
    "integrity record: WARNING: --frames copies the candidates' images into {out}: faces, biometric data. "
    "Keep the file protected (it is readable by you only), share it with nobody who may not see them, and "
    "delete it as your platform's data-retention policy says."
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "record",
        help="copy sessions from the topics into a recording file",
        description="Copy sessions (control records and observations; frames with --frames) from the topics into "
        "one Avro recording, reading every partition up to where it ends when the command starts.",
    )
    p.add_argument("--out", required=True, type=Path, metavar="FILE.avro", help="the recording to write")
    p.add_argument("--session", action="append", default=[], metavar="ID", help="a session to record (repeatable)")
    p.add_argument("--since", metavar="T", help="records the broker received at or after T (ISO-8601 or epoch ms)")
    p.add_argument("--until", metavar="T", help="records the broker received at or before T (ISO-8601 or epoch ms)")
    p.add_argument("--all", action="store_true", help="every session on the topics (a filter is required otherwise)")
    p.add_argument(
        "--frames",
        action="store_true",
        help="record the images too: biometric data (faces). Without it the recording holds observations only, "
        "enough to re-score",
    )
    p.add_argument("--namespace", metavar="NAME", help="record namespace NAME's topics (overrides INTEGRITY_NAMESPACE)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_record)

    p = sub.add_parser(
        "replay",
        help="publish recorded sessions again, at their pace or faster (meant for a --namespace)",
        description="Publish recorded sessions again: start and end records, then the frames (the worker analyses "
        "them again) or, for a recording of observations only, the observations to the events topic (the risk agent "
        "scores them again). The events topic is worker-internal: replay into a --namespace, with a worker of that "
        "namespace, never into production. Each session's times move so that it starts now; spacing is kept.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="recordings, replayed one after another")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=positive, default=1.0, help="pace: 1 as recorded (default), 10 ten times faster")
    pace.add_argument("--as-fast-as-possible", action="store_true", help="publish without waiting")
    p.add_argument(
        "--namespace",
        metavar="NAME",
        help="replay into namespace NAME's topics, created if missing (overrides INTEGRITY_NAMESPACE)",
    )
    p.add_argument("--session-prefix", default="", metavar="P", help="rename each session P+id (replay twice)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_replay)


def _run_record(args: argparse.Namespace) -> int:
    from streams.recording.record import FilterError, RecordingError, record, record_filter

    try:
        chosen = record_filter(args.session, args.since, args.until, args.all)
    except FilterError as exc:
        print(f"integrity record: {exc}", file=sys.stderr)
        return 2
    settings = settings_for(args, INTEGRITY_NAMESPACE=args.namespace)
    if args.frames:
        print(_FRAMES_WARNING.format(out=args.out), file=sys.stderr, flush=True)
    with progress_bar("reading", "record", quiet=args.quiet) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            summary = record(settings, args.out, chosen, frames=args.frames, progress=progress)
        except RecordingError as exc:
            print(f"integrity record: {exc}", file=sys.stderr)
            return 2
    if not summary.sessions:
        skipped = f" ({summary.undecodable} undecodable skipped)" if summary.undecodable else ""
        print(f"integrity record: no record matched{skipped}: nothing written", file=sys.stderr)
        return 1
    print(summary.line())
    return 0


def _run_replay(args: argparse.Namespace) -> int:
    from streams.kafka.admin import ensure_topics
    from streams.recording.format import read_recording
    from streams.recording.replay import ReplayOptions, count_records, replay, workers_serving

    for path in args.files:
        try:
            read_recording(path)
        except (OSError, ValueError) as exc:
            print(f"integrity replay: {path}: {exc}", file=sys.stderr)
            return 2
    settings = settings_for(args, INTEGRITY_NAMESPACE=args.namespace)
    if settings.namespace:
        asyncio.run(ensure_topics(settings))
        if asyncio.run(workers_serving(settings)) == 0:
            print(
                f"integrity replay: no worker serves namespace {settings.namespace}: run "
                f"`INTEGRITY_NAMESPACE={settings.namespace} integrity worker` (with its own --web-port beside "
                "another worker on this machine) to score the replay",
                file=sys.stderr,
            )
    else:
        print(
            "integrity replay: no --namespace: the sessions go to the default topics, where production workers "
            "score them beside live sessions",
            file=sys.stderr,
        )
    options = ReplayOptions(speed=None if args.as_fast_as_possible else args.speed, session_prefix=args.session_prefix)
    with progress_bar("replaying", "record", count_records(args.files), quiet=args.quiet) as bar:
        summary = asyncio.run(replay(settings, args.files, options, lambda: bar.update()))
    print(summary.line(settings, len(args.files)))
    return 0
