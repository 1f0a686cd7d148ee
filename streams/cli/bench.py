"""``integrity bench``: benchmarks that size a machine and check the product's speed and reliability
targets. Each prints its figures (and the machine it ran on) and writes them to a JSON file; none is a
timed test."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from streams.cli.common import settings_for

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("bench", help="benchmarks: printed figures and a JSON file")
    bench = p.add_subparsers(dest="bench", required=True)
    b = bench.add_parser(
        "pipeline", help="N simulated candidates through the embedded broker and one worker of 1 or more processes"
    )
    b.add_argument("--sessions", type=int, default=10, help="concurrent sessions (default %(default)s)")
    b.add_argument(
        "--processes",
        type=_positive,
        nargs="+",
        default=[1],
        help="worker processes (integrity worker --processes), one fresh run of the same load each (default 1)",
    )
    b.add_argument("--fps", type=float, default=1.0, help="frames per second per session, 0 = as fast as possible")
    b.add_argument("--seconds", type=float, default=30.0, help="how long the load runs (default %(default)s)")
    b.add_argument(
        "--find-max",
        action="store_true",
        help="raise --sessions until p95 latency passes --bound-ms, for each of --processes",
    )
    b.add_argument(
        "--bound-ms", type=float, default=1000.0, help="the p95 bound of --find-max, ms (default %(default)s)"
    )
    _out(b)
    b = bench.add_parser("vision", help="per-detector and per-frame time, for each YOLO backend and the naive setup")
    b.add_argument("--frames", type=int, default=100, help="frames per configuration (after 5 warm-up frames)")
    b.add_argument(
        "--fps",
        type=float,
        default=5.0,
        help="capture rate of the frames, for the objects' schedule (default %(default)s)",
    )
    _out(b)
    b = bench.add_parser("risk", help="observations/s through the risk core, its RocksDB store, and the agent")
    b.add_argument("--observations", type=int, default=20000, help="observations scored per path (default %(default)s)")
    b.add_argument("--sessions", type=int, default=50, help="sessions they belong to (default %(default)s)")
    _out(b)
    b = bench.add_parser("fuzz", help="bad and good records of many kinds: dead-lettered by reason, answered")
    b.add_argument("--records", type=int, default=2000, help="records sent, bad and good (default %(default)s)")
    b.add_argument("--seed", type=int, default=1, help="random seed: the same seed sends the same records")
    _out(b)
    b = bench.add_parser("flood", help="one session floods beside ordinary ones: worker memory, their latency")
    b.add_argument("--seconds", type=float, default=300.0, help="how long the flood runs (default %(default)s)")
    b.add_argument("--flood-fps", type=float, default=60.0, help="frames per second of the flooding session")
    b.add_argument("--sessions", type=int, default=2, help="ordinary sessions beside it")
    b.add_argument("--fps", type=float, default=5.0, help="frames per second of each ordinary session")
    _out(b)
    b = bench.add_parser("gateway", help="what the gateway adds to a frame's round trip, beside Kafka-native")
    b.add_argument("--sessions", type=int, nargs="+", default=[10, 50], help="concurrent sessions, one run each")
    b.add_argument(
        "--fps",
        type=float,
        default=0.6,
        help="frames per second of each session (50 x 0.6 stays under one worker's ceiling)",
    )
    b.add_argument("--seconds", type=float, default=20.0, help="how long each path sends, per run")
    _out(b)
    b = bench.add_parser("accuracy", help="deprecated (goes in 0.3): integrity evaluate --accuracy --json FILE")
    _out(b)
    p.set_defaults(func=_cmd_bench)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: 1 or more")
    return value


def _out(parser: argparse.ArgumentParser) -> None:
    name = parser.prog.split()[-1]
    parser.add_argument("--out", help=f"JSON file (default .integrity/bench/{name}.json)")


def _cmd_bench(args: argparse.Namespace) -> int:
    out = Path(args.out or f".integrity/bench/{args.bench}.json")
    if args.bench != "accuracy":  # the deprecated alias prints what integrity evaluate prints
        from streams.bench.output import print_cpu

        print_cpu()
    if args.bench == "pipeline":
        from streams.bench.pipeline import main as bench_pipeline

        return bench_pipeline(
            args.sessions, args.fps, args.seconds, args.find_max, args.bound_ms, out, processes=args.processes
        )
    if args.bench == "vision":
        from streams.bench.vision import main as bench_vision

        return bench_vision(args.frames, args.fps, out, settings_for(args))
    if args.bench == "risk":
        from streams.bench.risk import main as bench_risk

        return bench_risk(args.observations, args.sessions, out)
    if args.bench == "fuzz":
        from streams.bench.fuzz import main as bench_fuzz

        return bench_fuzz(args.records, args.seed, out)
    if args.bench == "flood":
        from streams.bench.flood import main as bench_flood

        return bench_flood(args.seconds, args.flood_fps, args.sessions, args.fps, out)
    if args.bench == "gateway":
        from streams.bench.gateway import main as bench_gateway

        return bench_gateway(args.sessions, args.fps, args.seconds, out)
    if args.bench == "accuracy":
        from streams.cli.evaluation import run_accuracy

        print("integrity bench accuracy is deprecated: integrity evaluate --accuracy --json FILE", file=sys.stderr)
        return run_accuracy(
            argparse.Namespace(out="-", json=out, weights=None, bootstrap_servers=args.bootstrap_servers)
        )
    raise AssertionError(args.bench)
