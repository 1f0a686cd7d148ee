"""``integrity policy``: risk policies without restarts (``streams.kafka.policies``). ``publish FILE`` checks a
policy file as the workers load one and publishes it to the policies topic, which every worker and gateway
follows; ``list`` says what the topic holds.

stdout carries the published policy's name@version and where it went, or the listing; a policy refused says
why on stderr, exit status 2."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.cli.common import refuse, settings_for

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "policy", help="publish a risk policy to the running workers (no restart), and list the published ones"
    )
    inner = p.add_subparsers(dest="policy_command", required=True, metavar="ACTION")

    publish = inner.add_parser(
        "publish",
        help="check a policy file (YAML or JSON) as the workers load one and publish it: new sessions that name "
        "it get this version; sessions already started keep theirs",
    )
    publish.add_argument("file", type=Path, metavar="FILE", help="the policy file (e.g. what `calibrate` wrote)")
    publish.set_defaults(func=_cmd_publish)

    listing = inner.add_parser(
        "list", help="the policies topic: each record's name, version and publication time, and whether workers take it"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=_cmd_list)


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _cmd_publish(args: argparse.Namespace) -> int:
    from streams.kafka.policies import publish_policy
    from streams.risk.policy import InvalidPolicy

    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return refuse(f"cannot read {args.file}: {exc}", "policy publish")
    settings = settings_for(args)
    try:
        published = asyncio.run(publish_policy(settings, text))
    except InvalidPolicy as exc:
        return refuse(f"{args.file}: {exc}", "policy publish")
    if published.where is None:
        print(f"{published.policy.id} (already published, the same document: nothing sent)")
    else:
        print(f"{published.policy.id} published to {published.where}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from streams.cli.render import to_json
    from streams.kafka.policies import read_policies

    settings = settings_for(args)
    records = asyncio.run(read_policies(settings))
    if not records:
        print(f"integrity policy list: no policy published on {settings.topics.policies}", file=sys.stderr)
        return 0
    if args.json:
        for record in records:
            row = {
                "name": record.policy.name if record.policy else None,
                "version": record.policy.version if record.policy else None,
                "key": record.key,
                "published_at_ms": record.published_ms,
                "offset": record.offset,
                "status": record.status,
                "reason": record.reason,
                "repeated": record.repeated and record.policy is not None,
            }
            print(to_json(row))
        return 0
    names = [record.policy.name if record.policy else record.key or "-" for record in records]
    width = max(len("name"), *(len(name) for name in names))
    print(f"{'name':<{width}}  {'version':>7}  {'published':<20}  {'offset':>6}  status")
    for name, record in zip(names, records, strict=True):
        version = str(record.policy.version) if record.policy else "-"
        status = f"refused: {record.reason}" if record.reason else record.status
        status += " (the same document again: no change)" if record.repeated and record.policy else ""
        print(f"{name:<{width}}  {version:>7}  {_time(record.published_ms):<20}  {record.offset:>6}  {status}")
    return 0
