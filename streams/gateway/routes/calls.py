"""What every HTTP route needs: the calling platform (from its API key), the gateway behind the app, a
frame read from a request, and the answers shared by the resource paths and the seed's."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
import base64
import binascii
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse

from streams.gateway.access import key_from_headers
from streams.gateway.models import FrameJson, SessionEnd, SessionStart, SessionStarted
from streams.gateway.service import Gateway, Refusal, Sent

__all__ = ["Platform", "answered", "end", "frame_of", "gateway_of", "send", "start"]


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def _platform(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> str:
    """The calling platform, from its API key (401 without a known one)."""
    name: str = gateway_of(request).platform(key_from_headers(authorization, x_api_key))
    request.state.platform = name
    return name


Platform = Annotated[str, Depends(_platform)]


async def _read_body(request: Request) -> bytes:
    """The body, refused as soon as it grows past what a frame (as base64 in JSON, at most) can be."""
    limit = gateway_of(request).settings.ingress.max_frame_bytes * 4 // 3 + 4096
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
    """(session, image, sequence, capture time) of an image body (``?sequence=``, ``?captured_at_ms=``)
    or of the seed's JSON (``frame`` as base64)."""
    body = await _read_body(request)
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


async def send(request: Request, name: str, session_id: str | None, wait: bool | None) -> JSONResponse:
    """A frame of ``request`` sent for ``name``; its Result, or 202 with where it will be."""
    gateway = gateway_of(request)
    session, image, sequence, captured = await frame_of(request, session_id)
    wait_now = gateway.settings.gateway.wait_for_result if wait is None else wait
    sent = await gateway.send_frame(name, session, image, sequence=sequence, captured_at_ms=captured, wait=wait_now)
    return answered(sent)


def answered(sent: Sent) -> JSONResponse:
    if sent.result is not None:
        return JSONResponse(dict(sent.result))
    where = f"/sessions/{sent.session_id}/result"
    body = {"session_id": sent.session_id, "sequence": sent.sequence, "status": "pending", "result": where}
    return JSONResponse(body, status_code=202, headers={"Location": where})


async def start(gateway: Gateway, body: SessionStart, name: str) -> JSONResponse:
    session = await gateway.start_session(
        name, session_id=body.session_id, candidate_id=body.candidate_id, policy=body.policy, metadata=body.metadata
    )
    frames = f"/sessions/{session.session_id}/frames"
    started = SessionStarted(
        session_id=session.session_id, candidate_id=session.candidate_id, policy=session.policy, frames=frames
    )
    return JSONResponse(started.model_dump(), status_code=201, headers={"Location": f"/sessions/{session.session_id}"})


async def end(gateway: Gateway, session_id: str, body: SessionEnd, name: str, wait: bool) -> JSONResponse:
    report = await gateway.end_session(name, session_id, last_sequence=body.last_sequence, wait=wait)
    if report is not None:
        return JSONResponse(dict(report))
    where = f"/sessions/{session_id}/report"
    return JSONResponse({"session_id": session_id, "status": "ending", "report": where}, 202, {"Location": where})
