"""The resource API: ``POST /sessions``, ``POST /sessions/{id}/frames``, ``POST /sessions/{id}/end``,
``GET /sessions/{id}/result`` and ``GET /sessions/{id}/report``."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at runtime, and
# postponed ones naming local values (a Query's description) would not resolve.
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from streams.gateway.models import FrameAccepted, SessionEnd, SessionStart, SessionStarted, frame_body_doc, refusals
from streams.gateway.routes.calls import Platform, end, gateway_of, send, start

__all__ = ["router"]

router = APIRouter()

_WAIT_DOC = "wait for the Result (false: answer 202 at once)"


@router.post("/sessions", status_code=201, response_model=SessionStarted, responses=refusals(401, 409, 422))
async def start_session(request: Request, body: SessionStart, name: Platform) -> JSONResponse:
    """Start a session: its candidate, policy and metadata go to the workers before any frame."""
    return await start(gateway_of(request), body, name)


@router.post(
    "/sessions/{session_id}/frames",
    responses={
        200: {"description": "the frame's Result (integrity.Result)"},
        202: {"model": FrameAccepted, "description": "sent; its Result did not come within the timeout"},
        **refusals(400, 401, 404, 409, 413, 415, 422, 429),
    },
    openapi_extra=frame_body_doc(),
)
async def send_frame(
    session_id: str,
    request: Request,
    name: Platform,
    wait: Annotated[bool | None, Query(description=_WAIT_DOC)] = None,
) -> JSONResponse:
    """Send one frame (an image body, or the seed's JSON); by default, answer with its Result."""
    return await send(request, name, session_id, wait)


@router.post(
    "/sessions/{session_id}/end",
    responses={
        200: {"description": "the session's final report (integrity.FinalReport)"},
        202: {"description": "ending; the report did not come within the timeout: see `report`"},
        **refusals(401, 404, 422),
    },
)
async def end_session(
    session_id: str,
    request: Request,
    name: Platform,
    body: SessionEnd | None = None,
    wait: Annotated[bool, Query(description="wait for the final report")] = True,
) -> JSONResponse:
    """End a session after its last frame; by default, answer with its final report."""
    return await end(gateway_of(request), session_id, body or SessionEnd.model_validate({}), name, wait)


@router.get("/sessions/{session_id}/result", responses={200: {"description": "integrity.Result"}, **refusals(401, 404)})
async def latest_result(session_id: str, request: Request, name: Platform) -> JSONResponse:
    """The session's latest Result (since this gateway started)."""
    return JSONResponse(dict(gateway_of(request).latest_result(name, session_id)))


@router.get(
    "/sessions/{session_id}/report",
    responses={200: {"description": "integrity.FinalReport"}, **refusals(401, 404)},
)
async def final_report(session_id: str, request: Request, name: Platform) -> JSONResponse:
    """The session's final report, once it has ended."""
    return JSONResponse(dict(gateway_of(request).report(name, session_id)))
