"""``integrity review``: a reviewer's decision about one event of a session (or a time range of it),
published to the reviews topic as a Review record; the workers keep it beside the session's events."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from schemas import codec_for
from schemas.records import Review, new_review
from streams.cli.common import refuse, settings_for

__all__ = ["register", "review_record"]


def review_record(args: argparse.Namespace) -> Review:
    """The Review the arguments describe (``schemas.records.new_review``, as the dashboard's reviews);
    ValueError, in words, when they do not describe one."""
    if not args.event and args.start_ms is None:
        raise ValueError("give --event ID, or the range with --start-ms (and --end-ms)")
    return new_review(
        args.session_id,
        args.decision,
        args.reviewer,
        event_id=args.event,
        behaviour=args.behaviour or "",
        started_at_ms=args.start_ms,
        ended_at_ms=args.end_ms,
        policy=args.policy or "",
        note=args.note or "",
        review_id=args.review_id,
    )


def _cmd_review(args: argparse.Namespace) -> int:
    from streams.kafka.clients import session_publisher

    try:
        review = review_record(args)
    except ValueError as exc:
        return refuse(str(exc), "review")
    settings = settings_for(args)

    async def publish() -> None:
        async with session_publisher(settings) as publisher:
            value = codec_for("Review").encode(review)
            await publisher.send_raw(settings.topics.reviews, review["session_id"], value)

    asyncio.run(publish())
    print(review["review_id"])
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "review",
        help="publish a reviewer's decision about a session's event or time range (confirmed or dismissed)",
    )
    p.add_argument("session_id", metavar="SESSION")
    p.add_argument("--decision", required=True, choices=("confirmed", "dismissed"), help="what the reviewer decided")
    p.add_argument("--reviewer", required=True, help="who decided")
    p.add_argument("--event", metavar="EVENT_ID", help="the reviewed event's id (from a Result or /sessions/ID/)")
    p.add_argument("--behaviour", help="the behaviour reviewed (taken from --event when it is given)")
    p.add_argument(
        "--start-ms", type=int, help="start of the reviewed range, capture time in ms (with --event: its start)"
    )
    p.add_argument("--end-ms", type=int, help="end of the reviewed range (default: its start)")
    p.add_argument("--policy", help="name@version of the policy whose verdict was reviewed")
    p.add_argument("--note", help="why")
    p.add_argument("--review-id", help="the review's id (default: a new one); the same id again replaces it")
    p.set_defaults(func=_cmd_review)
