"""``/demo/``: a page that sends this computer's webcam to the gateway over ``WS /ws/stream`` and shows the
session's Results as they come, then its final report. A way to see the whole path (camera, gateway, frames
topic, workers, results topic, back) from a browser, with no build step and nothing loaded from elsewhere.

``/demo/static/`` serves the page's script and style, and ``integrity-gateway.js``: the JavaScript client
the page is written with. ``static/integrity-gateway.js`` is the client's one source, shipped in the wheel;
``clients/js/`` (its tests, example and package.json) links to it.

The page needs no API key to load; it asks for one (sent in the WebSocket's hello) only when the gateway
has keys configured. Its Content-Security-Policy lets it talk to its own origin only: frames go to this
gateway and nowhere else, and the page stores none.
"""

from __future__ import annotations

import html
from pathlib import Path
from string import Template

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

from streams.gateway.access import KeyBook
from streams.settings import Settings

__all__ = ["STATIC_DIR", "add_demo_routes"]

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Only this origin: scripts, styles, the WebSocket ('self' covers ws:/wss: of the same host in CSP 3), and
# the camera's preview (a MediaStream, blob: for the JPEGs drawn from it).
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob: mediastream:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "Permissions-Policy": "camera=(self), microphone=()",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def add_demo_routes(app: FastAPI, settings: Settings) -> None:
    """``GET /demo`` (a redirect), ``GET /demo/`` (the page) and ``/demo/static/`` (its files)."""
    keys = "open" if KeyBook(settings.gateway.api_keys).open else "required"  # as /health's `api_keys` says
    page = Template((STATIC_DIR / "demo.html").read_text(encoding="utf-8")).substitute(
        api_keys=html.escape(keys),
        max_fps=html.escape(f"{settings.ingress.session_max_fps:g}"),
    )

    @app.get("/demo", include_in_schema=False)
    async def demo_redirect() -> RedirectResponse:
        # Relative, so the page is found behind a proxy that serves the gateway under a path prefix.
        return RedirectResponse("demo/", status_code=307)

    @app.get("/demo/", include_in_schema=False)
    async def demo() -> HTMLResponse:
        return HTMLResponse(page, headers=_HEADERS)

    app.mount("/demo/static", StaticFiles(directory=STATIC_DIR), name="demo-static")
