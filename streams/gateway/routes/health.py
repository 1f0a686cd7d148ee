"""``GET /health``: ready when the gateway reaches the broker and follows the results."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from streams.gateway.routes.calls import gateway_of

__all__ = ["router"]

router = APIRouter()


@router.get("/health", responses={503: {"description": "not ready, and why"}})
async def health(request: Request) -> JSONResponse:
    """Ready when the gateway reaches the broker and follows the results."""
    gateway = gateway_of(request)
    follower = gateway.follower
    reasons = [r for r in (follower.failure, None if follower.ready.is_set() else "starting") if r]
    body = {
        "ready": not reasons,
        "not_ready_because": reasons,
        "api_keys": "open" if gateway.keys.open else "required",
    }
    return JSONResponse(body, status_code=503 if reasons else 200)
