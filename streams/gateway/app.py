"""The gateway's HTTP API (FastAPI): sessions, frames, Results and reports, health, and the WebSocket
stream. OpenAPI at ``/openapi.json`` and ``/docs``. Every refusal is JSON ``{"error", "request_id"}``.

The seed's paths (``POST /start-session``, ``/analyze-frame``, ``/end-session``) are kept beside the
resource paths, with the seed's JSON bodies (a frame as base64).
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at runtime, and
# postponed ones naming local values (a Query's description) would not resolve.
import base64
import binascii
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from streams.gateway.access import key_from_headers
from streams.gateway.demo_page import add_demo_routes
from streams.gateway.service import Gateway, Refusal, Sent, retry_after_header
from streams.gateway.websocket import stream
from streams.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger("integrity.gateway")


class ErrorBody(BaseModel):
    error: str = Field(description="why the request was refused, in words")
    request_id: str = Field(description="also in the X-Request-ID header and the gateway's log")


class SessionStart(BaseModel):
    session_id: str | None = Field(None, description="your id for the session (default: one is made)")
    candidate_id: str = ""
    policy: str | None = Field(None, description="risk policy (default: the workers' default)")
    metadata: dict[str, str] = Field(default_factory=dict)


class SessionStarted(BaseModel):
    session_id: str
    candidate_id: str
    policy: str
    frames: str = Field(description="where to POST its frames")


class FrameJson(BaseModel):
    """The seed's frame: an image as base64 (a data: URL's prefix is accepted)."""

    frame: str = Field(description="JPEG, PNG or WebP image, base64")
    session_id: str | None = Field(None, description="the seed's /analyze-frame only")
    sequence: int | None = Field(None, description="the frame's number in the session (default: the gateway's count)")
    captured_at_ms: int | None = Field(None, description="capture time, ms since the epoch (default: now)")


class FrameAccepted(BaseModel):
    session_id: str
    sequence: int
    status: str = Field(description="`pending`: sent, its Result not (yet) in; see `result`")
    result: str = Field(description="where the session's latest Result is")


class SessionEnd(BaseModel):
    session_id: str | None = Field(None, description="the seed's /end-session only")
    last_sequence: int | None = Field(None, description="its last frame (default: the last this gateway sent)")


def _refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    words = {
        400: "a malformed request",
        401: "no or unknown API key",
        404: "no such session for this key",
        409: "the session cannot take this (ended, not started here, id taken)",
        413: "the frame is over INTEGRITY_MAX_FRAME_BYTES",
        415: "the body is not a JPEG, PNG or WebP image",
        422: "the record would break the contract (ids, metadata, clock, policy)",
        429: "above the session's frame rate: retry after Retry-After seconds",
    }
    return {status: {"model": ErrorBody, "description": words[status]} for status in statuses}


def _frame_body_doc() -> dict[str, Any]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "image/jpeg": binary,
                "image/png": binary,
                "image/webp": binary,
                "application/json": {"schema": FrameJson.model_json_schema()},
            },
        }
    }


def _platform(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> str:
    """The calling platform, from its API key (401 without a known one)."""
    name: str = request.app.state.gateway.platform(key_from_headers(authorization, x_api_key))
    request.state.platform = name
    return name


Platform = Annotated[str, Depends(_platform)]


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

    @app.middleware("http")
    async def request_id(request: Request, call_next: Any) -> Any:
        rid = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        request.state.request_id = rid
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        platform = getattr(request.state, "platform", "-")
        elapsed = (time.perf_counter() - started) * 1000
        log.info(
            "%s %s %s %d %.1fms platform=%s",
            rid,
            request.method,
            request.url.path,
            response.status_code,
            elapsed,
            platform,
        )
        return response

    def error(request: Request, status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
        rid = getattr(request.state, "request_id", "")
        return JSONResponse({"error": reason, "request_id": rid}, status_code=status, headers=headers)

    @app.exception_handler(Refusal)
    async def refused(request: Request, refusal: Refusal) -> JSONResponse:
        headers = {"Retry-After": retry_after_header(refusal.retry_after_s)} if refusal.retry_after_s else None
        return error(request, refusal.status, refusal.reason, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error(request, 422, f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(request, exc.status_code, str(exc.detail))

    async def read_body(request: Request) -> bytes:
        """The body, refused as soon as it grows past what a frame (as base64 in JSON, at most) can be."""
        limit = settings.ingress.max_frame_bytes * 4 // 3 + 4096
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise Refusal(413, f"the body is {declared} bytes, over the {limit} a frame may take")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise Refusal(413, f"the body is over the {limit} bytes a frame may take")
        return bytes(body)

    async def frame_of(request: Request, session_id: str | None) -> tuple[str, bytes, int | None, int | None]:
        body = await read_body(request)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            if session_id is None:
                raise Refusal(400, 'send the seed\'s JSON body: {"session_id", "frame": base64}')
            sequence = request.query_params.get("sequence")
            captured = request.query_params.get("captured_at_ms")
            try:
                return session_id, body, int(sequence) if sequence else None, int(captured) if captured else None
            except ValueError:
                raise Refusal(400, "sequence and captured_at_ms are integers") from None
        try:
            parsed = FrameJson.model_validate_json(body)
        except ValueError as exc:
            raise Refusal(400, f"not a frame's JSON: {str(exc).splitlines()[0]}") from None
        data = parsed.frame.split(",", 1)[1] if parsed.frame.startswith("data:") else parsed.frame
        try:
            image = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise Refusal(400, "frame is not valid base64") from None
        session = session_id or parsed.session_id
        if not session:
            raise Refusal(400, "session_id is required")
        return session, image, parsed.sequence, parsed.captured_at_ms

    def answered(sent: Sent) -> JSONResponse:
        if sent.result is not None:
            return JSONResponse(dict(sent.result))
        where = f"/sessions/{sent.session_id}/result"
        body = {"session_id": sent.session_id, "sequence": sent.sequence, "status": "pending", "result": where}
        return JSONResponse(body, status_code=202, headers={"Location": where})

    async def start(body: SessionStart, name: str) -> JSONResponse:
        session = await gateway.start_session(
            name, session_id=body.session_id, candidate_id=body.candidate_id, policy=body.policy, metadata=body.metadata
        )
        frames = f"/sessions/{session.session_id}/frames"
        started = SessionStarted(
            session_id=session.session_id, candidate_id=session.candidate_id, policy=session.policy, frames=frames
        )
        return JSONResponse(
            started.model_dump(), status_code=201, headers={"Location": f"/sessions/{session.session_id}"}
        )

    async def end(session_id: str, body: SessionEnd, name: str, wait: bool) -> JSONResponse:
        report = await gateway.end_session(name, session_id, last_sequence=body.last_sequence, wait=wait)
        if report is not None:
            return JSONResponse(dict(report))
        where = f"/sessions/{session_id}/report"
        return JSONResponse({"session_id": session_id, "status": "ending", "report": where}, 202, {"Location": where})

    wait_doc = "wait for the Result (false: answer 202 at once)"

    @app.post("/sessions", status_code=201, response_model=SessionStarted, responses=_refusals(401, 409, 422))
    async def start_session(body: SessionStart, name: Platform) -> JSONResponse:
        """Start a session: its candidate, policy and metadata go to the workers before any frame."""
        return await start(body, name)

    @app.post(
        "/sessions/{session_id}/frames",
        responses={
            200: {"description": "the frame's Result (integrity.Result)"},
            202: {"model": FrameAccepted, "description": "sent; its Result did not come within the timeout"},
            **_refusals(400, 401, 404, 409, 413, 415, 422, 429),
        },
        openapi_extra=_frame_body_doc(),
    )
    async def send_frame(
        session_id: str,
        request: Request,
        name: Platform,
        wait: Annotated[bool | None, Query(description=wait_doc)] = None,
    ) -> JSONResponse:
        """Send one frame (an image body, or the seed's JSON); by default, answer with its Result."""
        session, image, sequence, captured = await frame_of(request, session_id)
        wait_now = settings.gateway.wait_for_result if wait is None else wait
        sent = await gateway.send_frame(name, session, image, sequence=sequence, captured_at_ms=captured, wait=wait_now)
        return answered(sent)

    @app.post(
        "/sessions/{session_id}/end",
        responses={
            200: {"description": "the session's final report (integrity.FinalReport)"},
            202: {"description": "ending; the report did not come within the timeout: see `report`"},
            **_refusals(401, 404, 422),
        },
    )
    async def end_session(
        session_id: str,
        name: Platform,
        body: SessionEnd | None = None,
        wait: Annotated[bool, Query(description="wait for the final report")] = True,
    ) -> JSONResponse:
        """End a session after its last frame; by default, answer with its final report."""
        return await end(session_id, body or SessionEnd.model_validate({}), name, wait)

    @app.get(
        "/sessions/{session_id}/result", responses={200: {"description": "integrity.Result"}, **_refusals(401, 404)}
    )
    async def latest_result(session_id: str, name: Platform) -> JSONResponse:
        """The session's latest Result (since this gateway started)."""
        return JSONResponse(dict(gateway.latest_result(name, session_id)))

    @app.get(
        "/sessions/{session_id}/report",
        responses={200: {"description": "integrity.FinalReport"}, **_refusals(401, 404)},
    )
    async def final_report(session_id: str, name: Platform) -> JSONResponse:
        """The session's final report, once it has ended."""
        return JSONResponse(dict(gateway.report(name, session_id)))

    @app.get("/health", responses={503: {"description": "not ready, and why"}})
    async def health() -> JSONResponse:
        """Ready when the gateway reaches the broker and follows the results."""
        follower = gateway.follower
        reasons = [r for r in (follower.failure, None if follower.ready.is_set() else "starting") if r]
        body = {
            "ready": not reasons,
            "not_ready_because": reasons,
            "api_keys": "open" if gateway.keys.open else "required",
        }
        return JSONResponse(body, status_code=503 if reasons else 200)

    # The seed's API, same handlers.
    @app.post("/start-session", status_code=201, response_model=SessionStarted, responses=_refusals(401, 409, 422))
    async def seed_start(body: SessionStart, name: Platform) -> JSONResponse:
        """The seed's start (as ``POST /sessions``)."""
        return await start(body, name)

    @app.post(
        "/analyze-frame",
        responses={202: {"model": FrameAccepted}, **_refusals(400, 401, 404, 409, 413, 415, 422, 429)},
        openapi_extra=_frame_body_doc(),
    )
    async def seed_frame(
        request: Request, name: Platform, wait: Annotated[bool | None, Query()] = None
    ) -> JSONResponse:
        """The seed's frame: JSON with ``session_id`` and ``frame`` (base64); answers with its Result."""
        session, image, sequence, captured = await frame_of(request, None)
        wait_now = settings.gateway.wait_for_result if wait is None else wait
        sent = await gateway.send_frame(name, session, image, sequence=sequence, captured_at_ms=captured, wait=wait_now)
        return answered(sent)

    @app.post("/end-session", responses=_refusals(400, 401, 404, 422))
    async def seed_end(body: SessionEnd, name: Platform, wait: bool = True) -> JSONResponse:
        """The seed's end: JSON with ``session_id``; answers with the final report."""
        if not body.session_id:
            raise Refusal(400, "session_id is required")
        return await end(body.session_id, body, name, wait)

    @app.websocket("/ws/stream")
    async def websocket_stream(websocket: WebSocket) -> None:
        await stream(websocket, gateway)

    add_demo_routes(app, settings)
    return app
