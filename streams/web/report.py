"""``GET /sessions/{id}/report``: a session's report to hand over, one printable HTML page (A4) from any
worker. The worker asked gets the session's view as ``/sessions/{id}/`` does (from the worker owning it)
and draws the page itself (``streams.web.report_page``): the timeline as an inline SVG, the reasons with
their evidence and times, capture quality, the reviews, the policy and the final report's figures. No
script, no frame image. ``integrity report`` prints it to PDF."""

from __future__ import annotations

from typing import Any

from schemas.records import Reason, now_ms
from streams.agents.risk import engine
from streams.app import app, settings
from streams.web.access import protected
from streams.web.peers import session_row
from streams.web.report_page import report_html
from streams.web.views import session_view

__all__: list[str] = []

# The page runs nothing and loads nothing: its style and its SVG are inline.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "Cache-Control": "no-store",
}


@app.page("/sessions/{session_id}/report")
@protected("views", page=True)
async def session_report(web: Any, request: Any, session_id: str) -> Any:
    """The session's printable report (HTML), or its view's error as JSON."""
    status, view = await session_view(session_id, request)
    if status != 200:
        return web.json(view, status=status)
    reasons: list[Reason] = [] if view.get("forgotten") else session_row(view)["reasons"]
    report = view.get("final_report") or {}
    # The version that judged it, as this worker's book has it (its newest when the book lacks that one:
    # the page says so): the thresholds drawn and the weights listed.
    name, version = view.get("policy"), view.get("policy_version")
    judged_by = report.get("policy") or (f"{name}@{version}" if name and version is not None else name)
    policy = engine.policies.get(judged_by) if judged_by else None
    page = report_html(view, reasons, policy, now_ms(), worker=f"{settings.web_host}:{settings.web_port}")
    return web.html(page, headers=dict(_HEADERS))
