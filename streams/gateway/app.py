"""The gateway's HTTP API (FastAPI): sessions, frames, Results and reports, health, and the WebSocket
stream, each a router (``routes/``), over the service both doors share (``service.Gateway``). OpenAPI at
``/openapi.json`` and ``/docs``. Every refusal is JSON ``{"error", "request_id"}`` (``errors``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from streams.gateway.demo_page import add_demo_routes
from streams.gateway.errors import add_error_handling
from streams.gateway.routes import health, seed, sessions, stream
from streams.gateway.service import Gateway
from streams.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings) -> FastAPI:
    gateway = Gateway(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    app = FastAPI(
        title="Interview integrity gateway",
        version="1",
        description="Frames in, Results and final reports out, over HTTP and WebSocket; the analysis runs in "
        "the stream's workers.",
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    origins = [o.strip() for o in settings.gateway.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After", "Location"],
        )
    add_error_handling(app)
    for routes in (sessions, health, seed, stream):
        app.include_router(routes.router)
    add_demo_routes(app, settings)
    return app
