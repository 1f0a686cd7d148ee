"""``integrity``: the command line of the product.

broker    run the embedded broker (tansu) and create the topics
topics    create the topics on the configured broker
worker    run a Faust worker (detection + risk agents, web views)
produce   replay a video file or image folder into the frames topic as one session
verdicts  follow the results topic, human-readable or --json
analyze   run the vision stage offline on images or videos, one line per frame
record    copy sessions from the topics into a recording file (images only with --frames)
replay    publish recorded sessions again, at their pace or faster, into a namespace
sample    build the sample recorded session, or the labelled set of sessions with known truth
evaluate  replay recorded sessions through the risk core; their verdicts against reviewer labels
calibrate search a policy's thresholds and weights against reviewer labels; writes a new policy file
demo      all of the above together, on the embedded broker; Ctrl-C stops it cleanly
screenshot the worker's dashboard in headless chromium, written to a PNG
gateway   the HTTP and WebSocket API for platforms without a Kafka client (hash-key: an API key's hash)
capture   publish a webcam, stream URL or video file live as one session (frames sampled at --fps)
review    publish a reviewer's decision about a session's event (confirmed or dismissed)
settings  every setting with its variable, default and current value
schemas   the published, self-contained schemas, and the loading order of the source files
bench     benchmarks: printed figures and a JSON file
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from aiokafka.errors import KafkaConnectionError

from streams.cli.capture import add_capture_command
from streams.cli.evaluation import add_evaluation_commands
from streams.cli.gateway import add_gateway_command
from streams.cli.recording import add_recording_commands
from streams.cli.reviews import add_review_command
from streams.cli.screenshot import add_screenshot_command
from streams.settings import EMBEDDED_BOOTSTRAP, SettingsError, declared, flag_help, load_settings, markdown_table
from streams.vision.objects import WeightsError

DEFAULT_SAMPLE_DIR = Path(".integrity/sample-session")
DEFAULT_LABELLED_DIR = Path(".integrity/labelled-set")


def _set_env(name: str, value: object | None) -> None:
    """Flags win over the environment: they become the variable the settings read."""
    if value is not None:
        os.environ[name] = str(value)


def _cmd_broker(args: argparse.Namespace) -> int:
    from streams.kafka.admin import ensure_topics
    from streams.kafka.embedded_broker import EmbeddedBroker

    host, port = args.listen.rsplit(":", 1)
    limit_mb = load_settings().broker.embedded_broker_max_mb
    with EmbeddedBroker(host, int(port), max_memory_mb=limit_mb) as broker:
        _set_env("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
        _set_env("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")  # all the embedded broker speaks
        asyncio.run(ensure_topics(load_settings()))
        bound = f"stopped at {limit_mb:g} MiB" if limit_mb > 0 else "no limit"
        print(
            f"embedded broker on {broker.bootstrap_servers}: memory storage, every record kept until it stops "
            f"({bound}, INTEGRITY_EMBEDDED_BROKER_MAX_MB); Ctrl-C stops it",
            flush=True,
        )
        print(
            "its topics start empty: remove the workers' data folders (.integrity/worker) from earlier runs", flush=True
        )
        with contextlib.suppress(KeyboardInterrupt):
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            assert broker.process is not None
            broker.process.wait()
        if broker.stopped_because:
            print(f"integrity broker: {broker.stopped_because}", file=sys.stderr)
            return 1
    return 0


def _cmd_topics(args: argparse.Namespace) -> int:
    from streams.kafka.admin import ensure_topics

    created = asyncio.run(ensure_topics(load_settings()))
    print("created: " + (", ".join(created) if created else "nothing (all topics exist)"))
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from streams.kafka.admin import ensure_topics
    from streams.kafka.embedded_fixup import EmbeddedBrokerFixup
    from streams.vision.objects import ObjectDetector

    _set_env("INTEGRITY_WEB_PORT", args.web_port)
    _set_env("INTEGRITY_DATA_DIR", args.data_dir)
    settings = load_settings()
    fixup = EmbeddedBrokerFixup(settings.broker)
    # Before anything starts: a worker whose weights cannot load must say so, not hang unready.
    ObjectDetector(settings.vision.yolo_weights, settings.vision.object_min_confidence).verify()
    asyncio.run(ensure_topics(settings))
    if asyncio.run(fixup.prepare_worker(settings.data_dir)):
        print(
            f"the embedded broker restarted since this worker last ran: cleared {settings.data_dir} "
            "(its tables rebuild from the changelogs)",
            file=sys.stderr,
            flush=True,
        )
    from streams.app import app  # after the environment is final: the app reads it on import

    level = (args.loglevel or settings.log_level).lower()
    level = {"warning": "warn", "critical": "crit"}.get(level, level)  # Faust's own spellings
    sys.argv = ["integrity", "worker", "--loglevel", level]
    try:
        app.main()
    except BaseException:
        # Faust stops with a ConsistencyError when the embedded broker it ran against restarted empty.
        if asyncio.run(fixup.restarted_since_prepared(settings.data_dir)):
            print(
                "integrity: the embedded broker restarted; it keeps its topics in memory, so they and the sessions "
                "in flight are gone. This worker stops: start it again (it clears its state folder).",
                file=sys.stderr,
                flush=True,
            )
            return 3
        raise
    return 0


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

    async def produce() -> int:
        async with session_publisher(load_settings()) as publisher:
            return await publish_footage(publisher, Path(args.path), options, _progress)

    sent = asyncio.run(produce())
    print(f"published {sent} frames of session {args.session_id}", file=sys.stderr)
    return 0


def _cmd_verdicts(args: argparse.Namespace) -> int:
    from streams.cli.render import format_report, format_result, to_json
    from streams.kafka.reader import follow

    settings = load_settings()
    topic, record, render = (
        (settings.topics.reports, "FinalReport", format_report)
        if args.reports
        else (settings.topics.results, "Result", format_result)
    )

    async def follow_topic() -> None:
        seen = 0
        async for value in follow(settings, topic, record, from_beginning=not args.latest, session_id=args.session):
            print(to_json(value) if args.json else render(value), flush=True)
            seen += 1
            if args.count and seen >= args.count:
                return

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(follow_topic())
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from streams.cli.analyze import analyze, with_stride
    from streams.cli.render import format_analysed_frame, to_json

    _set_env("INTEGRITY_YOLO_WEIGHTS", args.weights)
    settings = with_stride(load_settings(), args.stride)
    from streams.vision.objects import ObjectDetector

    ObjectDetector(settings.vision.yolo_weights, settings.vision.object_min_confidence).verify()
    for row in analyze([Path(p) for p in args.paths], settings, fps=args.fps):
        print(to_json(row) if args.json else format_analysed_frame(row), flush=True)
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    if args.labelled:
        return _build_labelled_set(Path(args.out or DEFAULT_LABELLED_DIR))
    from streams.samples.session import build_sample_session

    out = build_sample_session(Path(args.out or DEFAULT_SAMPLE_DIR))
    print(f"sample session written to {out}")
    return 0


def _build_labelled_set(out_dir: Path) -> int:
    from tqdm import tqdm

    from streams.samples.labelled import build_labelled_set

    with tqdm(desc="frames through vision", unit="frame", disable=None, file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        recording, labels = build_labelled_set(out_dir, load_settings().vision, on_progress=progress)
    print(f"labelled set written: {recording} (observations, no images) and {labels}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from streams.cli.demo import DemoOptions, run_demo

    options = DemoOptions(
        sample_dir=Path(args.sample_dir), fps=args.fps, session_id=args.session_id, json=args.json, gateway=args.gateway
    )
    with contextlib.suppress(KeyboardInterrupt):
        return run_demo(options)
    print("\ndemo stopped", file=sys.stderr)
    return 130


def _cmd_settings(args: argparse.Namespace) -> int:
    if args.markdown:
        print(markdown_table(), end="")
        return 0
    from streams.kafka.security import aiokafka_options

    settings = load_settings()  # refuses a value that does not fit its setting, naming it
    aiokafka_options(settings.broker)  # and TLS files that do not load
    for item in declared():
        value = os.environ.get(item.env)
        if value and item.secret:
            value = "***"
        current = f"{value}  (set)" if value is not None else f"{item.default_text}  (default)"
        print(f"{item.env:<48} {current}")
    return 0


def _cmd_schemas(args: argparse.Namespace) -> int:
    from schemas.published import PUBLISHED_DIR, loading_order, published_files, write_published

    if args.order:
        print("\n".join(loading_order()))
        return 0
    if args.write:
        for archived in write_published():
            print(f"filed the previous version into {archived}", file=sys.stderr)
        print(f"wrote {len(published_files())} schemas to {PUBLISHED_DIR}", file=sys.stderr)
        return 0
    stale = [
        name
        for name, text in published_files().items()
        if not (PUBLISHED_DIR / name).is_file() or (PUBLISHED_DIR / name).read_text() != text
    ]
    for name in stale:
        print(f"out of date: {PUBLISHED_DIR / name} (run: integrity schemas --write)", file=sys.stderr)
    return 1 if stale else 0


def _cmd_bench(args: argparse.Namespace) -> int:
    out = Path(args.out or f".integrity/bench/{args.bench}.json")
    if args.bench == "pipeline":
        from streams.bench.pipeline import main as bench_pipeline

        return bench_pipeline(args.sessions, args.fps, args.seconds, args.find_max, args.bound_ms, out)
    if args.bench == "vision":
        from streams.bench.vision import main as bench_vision

        return bench_vision(args.frames, args.stride, out)
    if args.bench == "risk":
        from streams.bench.risk import main as bench_risk

        return bench_risk(args.observations, args.sessions, out)
    if args.bench == "fuzz":
        from streams.bench.fuzz import main as bench_fuzz

        return bench_fuzz(args.records, args.seed, out)
    if args.bench == "flood":
        from streams.bench.flood import main as bench_flood

        return bench_flood(args.seconds, args.flood_fps, args.sessions, args.fps, out)
    if args.bench == "accuracy":
        from streams.offline.accuracy import main as bench_accuracy

        return bench_accuracy(out)
    if args.bench == "gateway":
        from streams.bench.gateway import main as bench_gateway

        return bench_gateway(args.sessions, args.fps, args.seconds, out)
    raise AssertionError(args.bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="integrity", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--bootstrap-servers", help=flag_help("KAFKA_BOOTSTRAP_SERVERS", "Kafka bootstrap servers"))
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("broker", help="run the embedded broker and create the topics")
    p.add_argument("--listen", default=EMBEDDED_BOOTSTRAP, help="host:port to listen on (default %(default)s)")
    p.set_defaults(func=_cmd_broker)

    p = sub.add_parser("topics", help="create the topics on the configured broker")
    p.set_defaults(func=_cmd_topics)

    p = sub.add_parser("worker", help="run a Faust worker")
    p.add_argument("--web-port", type=int, help=flag_help("INTEGRITY_WEB_PORT"))
    p.add_argument("--data-dir", help=flag_help("INTEGRITY_DATA_DIR"))
    p.add_argument("--loglevel", "-l", help=flag_help("INTEGRITY_LOG_LEVEL"))
    p.set_defaults(func=_cmd_worker)

    p = sub.add_parser("produce", help="replay a video file or image folder as one session")
    p.add_argument("path", help="a video file or a folder of images (sorted by name)")
    p.add_argument("--session-id", required=True)
    p.add_argument("--candidate-id", default="candidate")
    p.add_argument("--fps", type=float, default=5.0, help="frames per second, 0 = as fast as possible")
    p.add_argument("--loop", type=int, default=1, help="play the recording this many times")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--jpeg-quality", type=int, default=85)
    p.add_argument("--no-control", action="store_true", help="do not send session start/end records")
    p.add_argument("--policy", default="default", help="risk policy of the session (streams/risk/policies)")
    p.set_defaults(func=_cmd_produce)

    add_gateway_command(sub)
    add_capture_command(sub)
    add_review_command(sub)

    p = sub.add_parser("verdicts", help="follow the results topic")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--session", help="only this session id")
    p.add_argument("--latest", action="store_true", help="only results from now on (default: from the start)")
    p.add_argument("--count", type=int, default=0, help="stop after this many results (0 = follow forever)")
    p.add_argument("--reports", action="store_true", help="follow the final reports instead of the results")
    p.set_defaults(func=_cmd_verdicts)

    p = sub.add_parser("analyze", help="run the vision stage offline on images, folders or videos")
    p.add_argument("paths", nargs="+", help="image files, image folders or video files (one session, in order)")
    p.add_argument("--json", action="store_true", help="one JSON object per frame")
    p.add_argument("--fps", type=float, default=5.0, help="frame rate the inputs were captured at")
    p.add_argument("--stride", type=int, default=1, help="run object detection on every Nth frame (default 1)")
    p.add_argument("--weights", help=flag_help("INTEGRITY_YOLO_WEIGHTS", "YOLO weights"))
    p.set_defaults(func=_cmd_analyze)

    add_recording_commands(sub)
    add_evaluation_commands(sub)
    add_screenshot_command(sub)

    p = sub.add_parser("sample", help="build the sample recorded session (or, --labelled, the labelled set)")
    p.add_argument("--out", help=f"folder (default {DEFAULT_SAMPLE_DIR}, or {DEFAULT_LABELLED_DIR} with --labelled)")
    p.add_argument(
        "--labelled",
        action="store_true",
        help="build the labelled set instead: sessions with planted behaviours and their labels, run through "
        "vision and recorded as observations (for integrity evaluate and calibrate)",
    )
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("demo", help="broker + worker + sample replay + verdicts, on the embedded broker")
    p.add_argument("--sample-dir", default=str(DEFAULT_SAMPLE_DIR))
    p.add_argument("--fps", type=float, default=5.0)
    p.add_argument("--session-id", default="demo-session")
    p.add_argument("--json", action="store_true", help="print verdicts as JSON lines")
    p.add_argument(
        "--gateway",
        action="store_true",
        help="also run the gateway (its webcam page at /demo/) and stay up after the sample session until Ctrl-C",
    )
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("settings", help="every setting: its variable, and its value here (or its default)")
    p.add_argument("--markdown", action="store_true", help="the README's configuration table")
    p.set_defaults(func=_cmd_settings)

    p = sub.add_parser("schemas", help="check (or --write) the published self-contained schemas")
    p.add_argument("--write", action="store_true", help="write schemas/published/ from the source files")
    p.add_argument("--order", action="store_true", help="print the order in which to load the source files")
    p.set_defaults(func=_cmd_schemas)

    p = sub.add_parser("bench", help="benchmarks: printed figures and a JSON file")
    bench = p.add_subparsers(dest="bench", required=True)
    b = bench.add_parser("pipeline", help="N simulated candidates through the embedded broker and one worker")
    b.add_argument("--sessions", type=int, default=10)
    b.add_argument("--fps", type=float, default=1.0, help="frames per second per session, 0 = as fast as possible")
    b.add_argument("--seconds", type=float, default=30.0)
    b.add_argument("--find-max", action="store_true", help="raise --sessions until p95 latency passes --bound-ms")
    b.add_argument("--bound-ms", type=float, default=1000.0)
    b.add_argument("--out", help="JSON file (default .integrity/bench/pipeline.json)")
    b = bench.add_parser("vision", help="per-detector and per-frame time, for each YOLO backend and the naive setup")
    b.add_argument("--frames", type=int, default=100, help="frames per configuration (after 5 warm-up frames)")
    b.add_argument("--stride", type=int, default=3, help="YOLO stride of the amortized configurations")
    b.add_argument("--out", help="JSON file (default .integrity/bench/vision.json)")
    b = bench.add_parser("risk", help="observations/s through the risk core, its RocksDB store, and the agent")
    b.add_argument("--observations", type=int, default=20000)
    b.add_argument("--sessions", type=int, default=50)
    b.add_argument("--out", help="JSON file (default .integrity/bench/risk.json)")
    b = bench.add_parser("fuzz", help="bad and good records of many kinds: dead-lettered by reason, answered")
    b.add_argument("--records", type=int, default=2000)
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--out", help="JSON file (default .integrity/bench/fuzz.json)")
    b = bench.add_parser("flood", help="one session floods beside ordinary ones: worker memory, their latency")
    b.add_argument("--seconds", type=float, default=300.0)
    b.add_argument("--flood-fps", type=float, default=60.0, help="frames per second of the flooding session")
    b.add_argument("--sessions", type=int, default=2, help="ordinary sessions beside it")
    b.add_argument("--fps", type=float, default=5.0, help="frames per second of each ordinary session")
    b.add_argument("--out", help="JSON file (default .integrity/bench/flood.json)")
    b = bench.add_parser("accuracy", help="the vision stage on real photos and transformations with known truth")
    b.add_argument("--out", help="JSON file (default .integrity/bench/accuracy.json)")
    b = bench.add_parser("gateway", help="what the gateway adds to a frame's round trip, beside Kafka-native")
    b.add_argument("--sessions", type=int, nargs="+", default=[10, 50], help="concurrent sessions, one run each")
    b.add_argument(
        "--fps",
        type=float,
        default=0.6,
        help="frames per second of each session (50 x 0.6 stays under one worker's ceiling)",
    )
    b.add_argument("--seconds", type=float, default=20.0, help="how long each path sends, per run")
    b.add_argument("--out", help="JSON file (default .integrity/bench/gateway.json)")
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _set_env("KAFKA_BOOTSTRAP_SERVERS", args.bootstrap_servers)
    try:
        code: int = args.func(args)
    except SettingsError as exc:
        return _refuse(str(exc))
    except KafkaConnectionError as exc:
        servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", EMBEDDED_BOOTSTRAP)
        protocol = os.environ.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
        secured = (
            "" if protocol.upper() == "PLAINTEXT" else f" over {protocol} (are the KAFKA_SASL_* / KAFKA_SSL_* right?)"
        )
        return _refuse(
            f"cannot reach the Kafka broker at {servers}{secured} ({exc}). Is it running? Set KAFKA_BOOTSTRAP_SERVERS, "
            "or start the embedded one with `integrity broker`"
        )
    except WeightsError as exc:
        return _refuse(str(exc))
    return code


def _refuse(message: str) -> int:
    """A configuration the command cannot run with: one line on stderr, exit status 2."""
    print(f"integrity: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
