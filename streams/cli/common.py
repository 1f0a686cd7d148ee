"""What the command modules share: the settings a command runs with (the environment, then its flags),
the one-line refusal, argument types and progress on stderr."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from tqdm import tqdm

from streams.settings import Settings, load_settings

__all__ = ["Handler", "positive", "progress_bar", "refuse", "settings_for"]

Handler = Callable[[argparse.Namespace], int]


def settings_for(args: argparse.Namespace, **flags: object) -> Settings:
    """The settings in force for this command: the environment, then the global ``--bootstrap-servers``
    and the command's own flags, each given as the variable it overrides (``INTEGRITY_WEB_PORT=args.port``;
    None: the flag was not given). Nothing is written into ``os.environ``: the command passes the result on."""
    overrides = {"KAFKA_BOOTSTRAP_SERVERS": getattr(args, "bootstrap_servers", None), **flags}
    given = {name: str(value) for name, value in overrides.items() if value is not None}
    return load_settings({**os.environ, **given})


def refuse(message: str, command: str = "") -> int:
    """A configuration or input the command cannot run with: one line on stderr, exit status 2."""
    print(f"integrity{' ' + command if command else ''}: {message}", file=sys.stderr)
    return 2


def positive(text: str) -> float:
    """An argparse type: a number above zero (a speed, a rate, a duration)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def progress_bar(
    description: str, unit: str, total: int | None = None, *, quiet: bool = False, leave: bool = True
) -> tqdm:
    """A progress bar on stderr, shown only on a terminal (stdout carries the command's output only);
    ``leave=False``: wiped when done."""
    return tqdm(
        desc=description,
        total=total,
        unit=unit,
        file=sys.stderr,
        disable=quiet or not sys.stderr.isatty(),
        leave=leave,
    )
