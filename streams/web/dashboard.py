"""The reviewers' dashboard: ``/dashboard/`` (a page), ``/dashboard/static/{name}`` (its script, style and
the vendored uPlot), ``/dashboard/events`` (server-sent events: a snapshot of every worker's sessions
about once a second; each worker answers ``/dashboard/snapshot?scope=local`` for its own). The page draws
a session's risk and attention from its timeline (``/sessions/{id}/``, kept by ``streams.risk.history``)
followed by the snapshots it sees. No frame image is ever served.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web as aiohttp_web

from streams.agents.risk import engine
from streams.app import app
from streams.risk.state import is_ended
from streams.topics import reviews, sessions
from streams.web.access import forwarded_credentials, protected
from streams.web.peers import gather_from_others, session_row

__all__ = ["STATIC_DIR", "cluster_snapshot", "session_snapshot", "snapshot"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Name in the URL -> file and its content type. A fixed list: nothing else under the folder is served.
_STATIC = {
    "dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
    "uPlot.iife.min.js": ("vendor/uplot/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
    "uPlot.min.css": ("vendor/uplot/uPlot.min.css", "text/css; charset=utf-8"),
}
EVENT_INTERVAL_S = 1.0
# Behaviour intervals a snapshot carries: those still open and those seen within this long.
RECENT_BEHAVIOURS_MS = 60_000
# A stream ends after this long; the browser's EventSource reconnects by itself (after ``retry`` ms).
# Keeps a forgotten tab from holding a connection through a worker's shutdown or forever.
STREAM_LIFETIME_S = 300.0


def session_snapshot(state: Mapping[str, Any]) -> dict[str, Any]:
    """One session as the dashboard shows it: the list's row, plus what its chart and panel need."""
    row = session_row(state)
    report = state.get("final_report")
    policy = engine.policies.get(state.get("policy"), state.get("policy_version"))  # the version it started with
    if report:
        attention = report.get("attention")
        at_ms = report.get("ended_at_ms")
    else:
        attention = round(100.0 * float(state.get("attention", 1.0)), 2)
        at_ms = state.get("last_captured_at_ms")
    # The behaviours of the last minute (the page has the earlier ones from /sessions/{id}/ when it
    # opens a session): a snapshot of every session goes out every second. An interval is over at its
    # end, or (a condition) at the "until" its last frame gave: not seen since.
    recent_from = (at_ms or 0) - RECENT_BEHAVIOURS_MS
    intervals = [
        {
            "id": event_id,
            "type": interval["type"],
            "start": interval["start"],
            "end": interval["end"] or interval["until"],
        }
        for event_id, interval in (state.get("behaviours") or {}).items()
        if interval["end"] is None or interval["seen"] >= recent_from
    ]
    return row | {
        "risk_score": round(float(row["risk_score"] or 0.0), 2),
        "attention": attention,
        # Capture time of the newest frame scored (event time, as the intervals are).
        "at_ms": at_ms,
        # The policy whose verdict a review is about, name@version (what a review made here records).
        "policy_id": report["policy"] if report else policy.id,
        "review_at": policy.review_at,
        "flagged_at": policy.flagged_at,
        "intervals": sorted(intervals, key=lambda i: i["start"]),
        "final_report": report,
        # Reviewers' decisions, shown beside the behaviours they are about (the reviews table is
        # partitioned as the sessions one: this worker has them).
        "reviews": reviews.get(state["session_id"]) or [],
    }


def snapshot(others: list[dict[str, Any]] | None = None, unreachable: list[str] | None = None) -> dict[str, Any]:
    """Every session of this worker's partitions, and ``others`` (other workers' snapshots of theirs),
    riskiest first."""
    rows = [session_snapshot(state) for state in sessions.values() if state]
    rows = list({row["session_id"]: row for row in [*(others or []), *rows]}.values())
    rows.sort(key=lambda r: (-r["risk_score"], r["session_id"]))
    return {
        "sent_at_ms": int(time.time() * 1000),
        "ended": sum(1 for r in rows if is_ended(r)),
        "sessions": rows,
        "unreachable": unreachable or [],
    }


async def cluster_snapshot(credentials: Mapping[str, str]) -> dict[str, Any]:
    """``snapshot()`` with every other worker's sessions (asked on the user's behalf)."""
    others, unreachable = await gather_from_others("/dashboard/snapshot", {"scope": "local"}, credentials, 2.0)
    return snapshot(others, unreachable)


@app.page("/dashboard/snapshot")
@protected("views")
async def dashboard_snapshot(web, request):
    """One snapshot as JSON: every worker's sessions (``?scope=local``: this worker's only)."""
    if request.query.get("scope") == "local":
        return web.json(snapshot())
    return web.json(await cluster_snapshot(forwarded_credentials(request.headers)))


@app.page("/dashboard/")
@protected("views", page=True)
async def dashboard(web, request):
    """The dashboard page."""
    return web.html((STATIC_DIR / "dashboard.html").read_text())


@app.page("/dashboard/static/{name}")
@protected("views")
async def dashboard_static(web, request, name: str):
    """The page's script and style, and the vendored uPlot."""
    if name not in _STATIC:
        return web.json({"error": f"no static file {name!r}"}, status=404)
    path, content_type = _STATIC[name]
    return web.bytes((STATIC_DIR / path).read_bytes(), headers={"Content-Type": content_type})


@app.page("/dashboard/events")
@protected("views")
async def dashboard_events(web, request):
    """Server-sent events: ``snapshot()`` as JSON, about once a second."""
    response = aiohttp_web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    credentials = forwarded_credentials(request.headers)
    await response.prepare(request)
    await response.write(b"retry: 1000\n\n")
    deadline = time.monotonic() + STREAM_LIFETIME_S
    try:
        while not app.should_stop and time.monotonic() < deadline:
            data = json.dumps(await cluster_snapshot(credentials), separators=(",", ":"))
            await response.write(f"event: snapshot\ndata: {data}\n\n".encode())
            await asyncio.sleep(EVENT_INTERVAL_S)
    except ConnectionResetError:
        pass  # the page went away
    return response
