"""Every command of ``integrity``, one module per command group, in the order ``--help`` lists them.

A new command is a module with ``register(sub)`` (its parser, its flags, ``set_defaults(func=...)``) named
here; docs/COMMANDS.md is generated from this parser and a test keeps it current."""

from __future__ import annotations

import argparse

from streams.cli import (
    analyze,
    bench,
    broker,
    capture,
    configuration,
    dead_letters,
    demo,
    evaluation,
    gateway,
    policy,
    produce,
    recording,
    report,
    reviews,
    sample,
    schemas,
    screenshot,
    tune,
    verdicts,
    worker,
)
from streams.settings import flag_help

__all__ = ["COMMAND_GROUPS", "build_parser"]

COMMAND_GROUPS = (
    broker,  # broker, topics
    worker,
    produce,
    gateway,  # gateway, gateway hash-key, gateway postman
    capture,
    reviews,  # review
    verdicts,
    dead_letters,  # dead-letters list, show, replay
    analyze,
    tune,
    recording,  # record, replay
    evaluation,  # evaluate, calibrate
    policy,  # policy publish, list
    screenshot,
    report,
    sample,
    demo,
    configuration,  # settings
    schemas,
    bench,
)

DESCRIPTION = (
    "interview-integrity: a Kafka stream processor that watches interview webcam frames and says, live and "
    "per session, whether the interview looks clean"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="integrity", description=DESCRIPTION)
    parser.add_argument("--bootstrap-servers", help=flag_help("KAFKA_BOOTSTRAP_SERVERS", "Kafka bootstrap servers"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser
