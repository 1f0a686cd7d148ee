"""reviews -> the reviews table: each session's reviewer decisions, kept beside its events for the views
and the dashboard (``integrity calibrate`` and ``evaluate --reviews`` read the topic itself)."""

from __future__ import annotations

import logging

from faust.types import EventT, StreamT

from schemas.records import Review
from streams.agents.stage import Refused, Stage, process
from streams.app import app, settings
from streams.topics import reviews, reviews_topic
from streams.validation import review_refusal
from streams.worker.metrics import count_review
from streams.worker.turns import session_turn

log = logging.getLogger(__name__)

REVIEWS = Stage("reviews", record="Review", errors="reviews", ingress=True)
# Reviews kept per session, newest; a session reviewed more than this is a review process gone wrong.
KEPT = 200


async def keep_review(event: EventT, review: Review) -> None:
    session_id = review["session_id"]
    if event.key != session_id.encode():
        raise Refused(f"review key {event.key!r} is not its session id")
    if reason := review_refusal(review, int(event.message.timestamp * 1000), settings.ingress):
        raise Refused(reason)
    async with session_turn(session_id):
        kept: list[dict] = list(reviews.get(session_id) or [])
        # The same review sent again (a redelivery, a retried click) replaces itself, never doubles.
        kept = [r for r in kept if r["review_id"] != review["review_id"]] + [dict(review)]
        reviews[session_id] = kept[-KEPT:]
    count_review(review)


@app.agent(reviews_topic)
async def keep_reviews(stream: StreamT) -> None:
    await process(stream, REVIEWS, keep_review)
