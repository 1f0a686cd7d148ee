"""``integrity dead-letters``: the dead-letter topic read back (``streams.kafka.dead_letters``). ``list`` counts
dead letters by source topic, stage and kind of reason; ``show ID`` says everything about one but its bytes;
``replay`` publishes refused records again to the topics they came from, each dead letter once.

stdout carries the listing, the dead letter or one line per replayed dead letter and a summary; warnings go
to stderr. No image byte is ever printed: payloads appear as sizes and SHA-256 digests."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

from streams.cli.common import refuse, settings_for

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("dead-letters", help="list, show and replay the refused records of the dead-letter topic")
    inner = p.add_subparsers(dest="dead_letters_command", required=True, metavar="ACTION")

    listing = inner.add_parser(
        "list", help="dead letters counted by source topic, stage and kind of reason, with their first and last time"
    )
    _selection_flags(listing)
    listing.add_argument("--each", action="store_true", help="one line per dead letter (its id, time, source, reason)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=_cmd_list)

    show = inner.add_parser(
        "show", help="one dead letter: reason, source, key, headers, sizes, digests, times (never the image bytes)"
    )
    show.add_argument("id", metavar="ID", help="TOPIC-PARTITION-OFFSET as `list --each` prints it, or PARTITION-OFFSET")
    show.add_argument("--json", action="store_true", help="one JSON object")
    show.set_defaults(func=_cmd_show)

    replay = inner.add_parser(
        "replay",
        help="publish refused records again, key and bytes as they were, to their source topics; each dead letter "
        "once (a second replay of it does nothing)",
    )
    replay.add_argument("ids", nargs="*", metavar="ID", help="dead letters to replay (TOPIC-PARTITION-OFFSET)")
    _selection_flags(replay)
    replay.add_argument("--all", action="store_true", help="every dead letter (a selection is required otherwise)")
    replay.add_argument("--dry-run", action="store_true", help="say what would be replayed; publish nothing")
    replay.set_defaults(func=_cmd_replay)


def _selection_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", metavar="T", help="dead letters written at or after T (ISO-8601 or epoch ms)")
    p.add_argument("--until", metavar="T", help="dead letters written at or before T (ISO-8601 or epoch ms)")
    p.add_argument("--reason", metavar="TEXT", help="dead letters whose reason contains TEXT (any case)")
    p.add_argument("--source", metavar="TOPIC", help="dead letters of records refused on TOPIC")


def _selection(args: argparse.Namespace, topic: str) -> Any:
    """The flags' Selection; ValueError, in words, when they do not describe one."""
    from streams.kafka.dead_letters import DeadLetterId, Selection
    from streams.recording.record import FilterError, parse_time

    try:
        since = parse_time(args.since) if args.since is not None else None
        until = parse_time(args.until) if args.until is not None else None
    except FilterError as exc:
        raise ValueError(str(exc)) from None
    if since is not None and until is not None and since > until:
        raise ValueError(f"--since ({args.since}) is after --until ({args.until})")
    ids = frozenset(DeadLetterId.parse(text, topic) for text in getattr(args, "ids", []))
    return Selection(ids, since, until, args.reason, args.source)


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _read(settings: Any, selection: Any, *, keep_payload: bool) -> tuple[list[Any], dict[str, Any]]:
    from streams.kafka.dead_letters import read_dead_letters, read_replays

    async def both() -> tuple[tuple[list[Any], int], dict[str, Any]]:
        return await read_dead_letters(settings, selection, keep_payload=keep_payload), await read_replays(settings)

    (letters, undecodable), replays = asyncio.run(both())
    if undecodable:
        print(
            f"integrity dead-letters: {undecodable} record(s) of the topic are not DeadLetters: skipped",
            file=sys.stderr,
        )
    return letters, replays


def _cmd_list(args: argparse.Namespace) -> int:
    from streams.cli.render import to_json
    from streams.kafka.dead_letters import grouped

    settings = settings_for(args)
    try:
        selection = _selection(args, settings.topics.dead_letter)
    except ValueError as exc:
        return refuse(str(exc), "dead-letters list")
    letters, replays = _read(settings, selection, keep_payload=False)
    if not letters:
        print(f"integrity dead-letters: no dead letter matched on {settings.topics.dead_letter}", file=sys.stderr)
        return 0
    if args.each:
        for letter in letters:
            record, replay = letter.record, replays.get(str(letter.id))
            row = {
                "id": str(letter.id),
                "failed_at_ms": record["failed_at_ms"],
                "source": f"{record['source_topic']}[{record['source_partition']}]@{record['source_offset']}",
                "stage": record["stage"],
                "payload_size": record["payload_size"],
                "replayed_to": replay.to if replay else None,
                "reason": record["reason"],
            }
            if args.json:
                print(to_json(row))
                continue
            size = "-" if row["payload_size"] is None else f"{row['payload_size']} B"
            done = f"  replayed to {replay.to}" if replay else ""
            when = _time(row["failed_at_ms"])
            print(f"{row['id']}  {when}  {row['source']}  {row['stage']}  {size}  {row['reason']}{done}")
        return 0
    groups = grouped(letters, replays)
    if args.json:
        for group in groups:
            print(to_json(group.as_dict()))
        return 0
    print(f"{'count':>7} {'replayed':>8}  {'first':<20}  {'last':<20}  source / stage: kind of reason (latest)")
    for group in groups:
        print(
            f"{group.count:>7} {group.replayed:>8}  {_time(group.first_ms):<20}  {_time(group.last_ms):<20}  "
            f"{group.source_topic} / {group.stage}: {group.reason} ({group.latest})"
        )
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from streams.kafka.dead_letters import DeadLetterId, described, find, read_replays

    settings = settings_for(args)
    try:
        wanted = DeadLetterId.parse(args.id, settings.topics.dead_letter)
    except ValueError as exc:
        return refuse(str(exc), "dead-letters show")
    letter = asyncio.run(find(settings, wanted))
    if letter is None:
        print(f"integrity dead-letters: no dead letter at {wanted}", file=sys.stderr)
        return 1
    about = described(letter, settings, asyncio.run(read_replays(settings)).get(str(letter.id)))
    if args.json:
        print(json.dumps(about, sort_keys=True))
        return 0
    for name, value in _lines(about):
        print(f"{name:<12} {value}")
    return 0


def _lines(about: dict[str, Any]) -> list[tuple[str, str]]:
    """``show``'s fields for a person, one per line."""
    source, payload = about["source"], about["payload"]
    if payload["size"] is None:
        kept = "none (the refused record had no value)"
    elif payload["kept"] == payload["size"]:
        kept = f"{payload['size']} bytes, all kept (sha256 {payload['sha256']})"
    else:
        kept = f"{payload['size']} bytes (sha256 {payload['sha256']}), {payload['kept']} kept"
    replayed = about["replayed"]
    lines = [
        ("dead letter", about["id"]),
        ("stage", about["stage"]),
        ("reason", about["reason"]),
        ("failed at", f"{_time(about['failed_at_ms'])} (worker clock; on the topic {_time(about['timestamp_ms'])})"),
        ("source", f"{source['topic']}[{source['partition']}]@{source['offset']}"),
        ("key", json.dumps(about["key"])),
        ("headers", json.dumps(about["headers"]) if about["headers"] else "none"),
        ("size", f"{about['dead_letter_bytes']} bytes on the dead-letter topic"),
        ("payload", kept),
    ]
    if about["record"] is not None:
        lines.append(("record", f"{about['record']['type']} {json.dumps(about['record']['value'], sort_keys=True)}"))
    lines.append(
        (
            "replay",
            f"replayed {_time(replayed['at_ms'])} to {replayed['to']}"
            if replayed
            else ("not yet" if about["replayable"] else f"impossible: {about['not_replayable_because']}"),
        )
    )
    return lines


def _cmd_replay(args: argparse.Namespace) -> int:
    from streams.kafka.dead_letters import replay

    settings = settings_for(args)
    try:
        selection = _selection(args, settings.topics.dead_letter)
    except ValueError as exc:
        return refuse(str(exc), "dead-letters replay")
    if not selection.narrowed and not args.all:
        return refuse(
            "say what to replay: IDs, --since/--until, --reason, --source, or --all for every dead letter",
            "dead-letters replay",
        )
    if selection.narrowed and args.all:
        return refuse("--all replays every dead letter: give it alone", "dead-letters replay")
    letters, replays = _read(settings, selection, keep_payload=True)
    missing = sorted(str(wanted) for wanted in selection.ids - {letter.id for letter in letters})
    if missing:
        print(f"integrity dead-letters: no dead letter at {', '.join(missing)}", file=sys.stderr)
    if not letters:
        print("integrity dead-letters: no dead letter matched: nothing replayed", file=sys.stderr)
        return 1
    summary = asyncio.run(replay(settings, letters, replays, dry_run=args.dry_run))
    for outcome in summary.outcomes:
        print(f"{outcome.verdict} {outcome.id} {outcome.detail}".rstrip())
    counts = ", ".join(
        f"{summary.count(verdict)} {verdict}"
        for verdict in ("would replay" if args.dry_run else "replayed", "already replayed", "not replayable")
    )
    print(
        f"{len(summary.outcomes)} dead letter(s): {counts}" + (" (dry run: nothing published)" if args.dry_run else "")
    )
    return 1 if missing else 0
