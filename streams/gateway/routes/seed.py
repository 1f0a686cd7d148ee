"""The seed's API, kept beside the resource paths with its JSON bodies (a frame as base64):
``POST /start-session``, ``/analyze-frame``, ``/end-session``; the same handlers."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at runtime.
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from streams.gateway.models import FrameAccepted, SessionEnd, SessionStart, SessionStarted, frame_body_doc, refusals
from streams.gateway.routes.calls import Platform, end, gateway_of, send, start
from streams.gateway.service import Refusal

__all__ = ["router"]

router = APIRouter()


@router.post("/start-session", status_code=201, response_model=SessionStarted, responses=refusals(401, 409, 422))
async def seed_start(request: Request, body: SessionStart, name: Platform) -> JSONResponse:
    """The seed's start (as ``POST /sessions``)."""
    return await start(gateway_of(request), body, name)


@router.post(
    "/analyze-frame",
    responses={202: {"model": FrameAccepted}, **refusals(400, 401, 404, 409, 413, 415, 422, 429)},
    openapi_extra=frame_body_doc(),
)
async def seed_frame(request: Request, name: Platform, wait: Annotated[bool | None, Query()] = None) -> JSONResponse:
    """The seed's frame: JSON with ``session_id`` and ``frame`` (base64); answers with its Result."""
    return await send(request, name, None, wait)


@router.post("/end-session", responses=refusals(400, 401, 404, 422))
async def seed_end(request: Request, body: SessionEnd, name: Platform, wait: bool = True) -> JSONResponse:
    """The seed's end: JSON with ``session_id``; answers with the final report."""
    if not body.session_id:
        raise Refusal(400, "session_id is required")
    return await end(gateway_of(request), body.session_id, body, name, wait)
