"""``integrity verdicts``: the results topic (or, ``--reports``, the final reports) followed, one line or
one JSON object per record."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

from streams.cli.common import settings_for

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("verdicts", help="follow the results topic")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--session", help="only this session id")
    p.add_argument("--latest", action="store_true", help="only results from now on (default: from the start)")
    p.add_argument("--count", type=int, default=0, help="stop after this many results (0 = follow forever)")
    p.add_argument("--reports", action="store_true", help="follow the final reports instead of the results")
    p.set_defaults(func=_cmd_verdicts)


def _cmd_verdicts(args: argparse.Namespace) -> int:
    from streams.cli.render import format_report, format_result, to_json
    from streams.kafka.reader import follow

    settings = settings_for(args)
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
