"""``integrity settings``: every setting with its variable and the value in force here (or its default);
``--markdown``: the configuration table of docs/CONFIGURATION.md. A value that does not fit its setting,
or TLS files that do not load, are refused in one line."""

from __future__ import annotations

import argparse
import os
from typing import Any

from streams.cli.common import settings_for
from streams.settings import declared, markdown_table

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("settings", help="every setting: its variable, and its value here (or its default)")
    p.add_argument("--markdown", action="store_true", help="the configuration table of docs/CONFIGURATION.md")
    p.set_defaults(func=_cmd_settings)


def _cmd_settings(args: argparse.Namespace) -> int:
    if args.markdown:
        print(markdown_table(), end="")
        return 0
    from streams.kafka.security import aiokafka_options

    settings = settings_for(args)  # refuses a value that does not fit its setting, naming it
    aiokafka_options(settings.broker)  # and TLS files that do not load
    for item in declared():
        value = os.environ.get(item.env)
        if value and item.secret:
            value = "***"
        current = f"{value}  (set)" if value is not None else f"{item.default_text}  (default)"
        print(f"{item.env:<48} {current}")
    return 0
