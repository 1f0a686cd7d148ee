"""The gateway's request and response bodies (pydantic), and how the API documents its refusals and
frame bodies. Every refusal is JSON ``{"error", "request_id"}``."""

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "ErrorBody",
    "FrameAccepted",
    "FrameJson",
    "SessionEnd",
    "SessionStart",
    "SessionStarted",
    "frame_body_doc",
    "refusals",
]


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


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of the refusals an operation may answer with."""
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


def frame_body_doc() -> dict[str, Any]:
    """The OpenAPI request body of a frame: an image, or the seed's JSON."""
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
