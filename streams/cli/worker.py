"""``integrity worker``: Faust workers (the detection, risk and reviews agents and the web views), after
the topics exist with the partitions configured and the weights load. One process (``--processes 1``)
is the same as ``faust -A streams.app worker`` with the flags applied; more are supervised children
(``streams.worker.supervisor``), one per CPU by default."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import replace
from typing import Any

from streams.cli.common import refuse, settings_for
from streams.settings import Settings, SettingsError, configure, flag_help, web_exposure, yolo_input_size

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="run a Faust worker")
    p.add_argument("--web-port", type=int, help=flag_help("INTEGRITY_WEB_PORT"))
    p.add_argument("--web-bind", metavar="ADDRESS", help=flag_help("INTEGRITY_WEB_BIND"))
    p.add_argument("--data-dir", help=flag_help("INTEGRITY_DATA_DIR"))
    p.add_argument("--loglevel", "-l", help=flag_help("INTEGRITY_LOG_LEVEL"))
    p.add_argument("--processes", "-n", type=int, help=flag_help("INTEGRITY_PROCESSES"))
    p.set_defaults(func=_cmd_worker)


def _cmd_worker(args: argparse.Namespace) -> int:
    from streams.cli.tune import resolve_weights
    from streams.kafka.admin import ensure_topics, partition_mismatches
    from streams.machine import cpus_available
    from streams.vision.objects import ObjectDetector
    from streams.worker.supervisor import Supervisor

    settings = settings_for(
        args,
        INTEGRITY_WEB_PORT=args.web_port,
        INTEGRITY_WEB_BIND=args.web_bind,
        INTEGRITY_DATA_DIR=args.data_dir,
        INTEGRITY_LOG_LEVEL=args.loglevel,
        INTEGRITY_PROCESSES=args.processes,
    )
    # First of all: views that would listen beyond this machine without a token are refused here
    # (each process warns itself, once listening, when INTEGRITY_WEB_INSECURE lets them: streams.app).
    try:
        web_exposure(settings)
    except SettingsError as exc:
        return refuse(str(exc), "worker")
    count = settings.processes or cpus_available()
    # Each process's inference gets its share of the CPUs, and every process runs the weights chosen here
    # (timed once per CPU kind when there are candidates): both reach the children by their environment.
    threads = settings.vision.inference_threads or max(1, cpus_available() // count)
    settings, chosen = resolve_weights(settings, threads)
    os.environ.update(
        INTEGRITY_INFERENCE_THREADS=str(threads),
        INTEGRITY_YOLO_WEIGHTS=settings.vision.yolo_weights,
        INTEGRITY_YOLO_CHOICE=chosen,
    )
    settings = replace(settings, vision=replace(settings.vision, inference_threads=threads, yolo_choice=chosen))
    # Before anything starts: a worker whose weights cannot load must say so, not hang unready.
    ObjectDetector(
        settings.vision.yolo_weights,
        settings.vision.object_min_confidence,
        yolo_input_size(settings.vision.yolo_input),
    ).verify()
    asyncio.run(ensure_topics(settings))
    mismatched = asyncio.run(partition_mismatches(settings))
    if mismatched:
        return refuse(
            f"INTEGRITY_PARTITIONS={settings.topics.partitions} but {', '.join(mismatched)} partitions. Partition "
            "counts are fixed once topics exist: run with the topics' count, or move to a new topic generation "
            "(docs/SCALING.md)",
            "worker",
        )
    if count > settings.topics.partitions:
        print(
            f"integrity worker: {count} processes for {settings.topics.partitions} partitions: "
            f"{count - settings.topics.partitions} will idle (docs/SCALING.md)",
            file=sys.stderr,
            flush=True,
        )
    if count > 1:
        return Supervisor(settings, count).run()
    return _run_one(settings)


def _run_one(settings: Settings) -> int:
    from streams.kafka.embedded_fixup import EmbeddedBrokerFixup

    fixup = EmbeddedBrokerFixup(settings.broker)
    if asyncio.run(fixup.prepare_worker(settings.data_dir)):
        print(
            f"the embedded broker restarted since this worker last ran: cleared {settings.data_dir} "
            "(its tables rebuild from the changelogs)",
            file=sys.stderr,
            flush=True,
        )
    configure(settings)  # the app reads its settings on import: these, flags applied
    from streams.app import app

    level = settings.log_level.lower()
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
