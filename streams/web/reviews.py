"""Reviews made in the dashboard: ``POST /sessions/{id}/reviews`` publishes a reviewer's decision to the
reviews topic as the same Review record ``integrity review`` publishes (``schemas.records.new_review``),
signed with the name of the reviewer's token (``streams.web.access``), never with a name the request
gives; ``GET /dashboard/reviewer`` says who the page reviews as, or why it may not.

Any worker takes a review: the record goes to the session's partition by its key, and the reviews agent of
the worker owning it keeps it beside the session, as it does the command's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from faust.web import View

from schemas.records import Review, new_review, now_ms
from streams.agents.stage import delivered
from streams.app import app, settings
from streams.topics import reviews_topic
from streams.validation import review_refusal
from streams.web.access import cross_site_refusal, open_views, protected, reviewer_of_request

__all__ = ["FIELDS", "review_from_request"]

# What a request may say about its review; the reviewer is who signed in, never a field.
FIELDS = frozenset({"decision", "event_id", "behaviour", "started_at_ms", "ended_at_ms", "policy", "note", "review_id"})
_INTEGERS = ("started_at_ms", "ended_at_ms")
# The broker acknowledges in milliseconds; a worker without its broker answers 503 rather than hang a click.
PUBLISH_TIMEOUT_S = 10.0


def review_from_request(session_id: str, body: Any, reviewer: str) -> Review:
    """The Review a request's JSON body describes, by ``reviewer``; ValueError, in words, otherwise."""
    if not isinstance(body, Mapping):
        raise ValueError("send the review as a JSON object")
    if "reviewer" in body:
        raise ValueError("the reviewer is who signed in, not a field of the request")
    if unknown := sorted(set(body) - FIELDS):
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(FIELDS))}")
    for name in _INTEGERS:
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{name} is a whole number of ms")
    for name in FIELDS - set(_INTEGERS):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise ValueError(f"{name} is a string")
    return new_review(
        session_id,
        str(body.get("decision") or ""),
        reviewer,
        event_id=body.get("event_id") or None,
        behaviour=body.get("behaviour") or "",
        started_at_ms=body.get("started_at_ms"),
        ended_at_ms=body.get("ended_at_ms"),
        policy=body.get("policy") or "",
        note=body.get("note") or "",
        review_id=body.get("review_id") or None,
    )


@app.page("/sessions/{session_id}/reviews")
class SessionReviews(View):
    @protected("views")
    async def post(self, request: Any, session_id: str) -> Any:
        """Publish the reviewer's decision; 201 with the Review as published."""
        if why := cross_site_refusal(request.headers, open_views()):
            return self.json({"error": why}, status=403)
        reviewer = reviewer_of_request(request)
        if reviewer.name is None:
            return self.json({"error": f"you may not review here: {reviewer.why_not}"}, status=403)
        try:
            body = await request.json()
        except ValueError:
            return self.json({"error": "send the review as JSON"}, status=400)
        try:
            review = review_from_request(session_id, body, reviewer.name)
        except ValueError as exc:
            return self.json({"error": str(exc)}, status=400)
        # The reviews agent's own rules, said to the reviewer now rather than as a dead letter later.
        if why := review_refusal(review, now_ms(), settings.ingress):
            return self.json({"error": why}, status=400)
        try:
            await asyncio.wait_for(delivered(reviews_topic, session_id.encode(), review), PUBLISH_TIMEOUT_S)
        except Exception as exc:  # the broker did not take it: the page says so, the reviewer retries
            return self.json({"error": f"the review was not published: {exc!r}"}, status=503)
        return self.json({"review": review}, status=201)


@app.page("/dashboard/reviewer")
@protected("views")
async def dashboard_reviewer(web: Any, request: Any) -> Any:
    """Who the page reviews as (``reviewer``, ``how``), or null and ``why_not``."""
    reviewer = reviewer_of_request(request)
    return web.json({"reviewer": reviewer.name, "how": reviewer.how, "why_not": reviewer.why_not})
