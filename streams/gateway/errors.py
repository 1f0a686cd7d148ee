"""Every request gets an id (``X-Request-ID``, given or made) and one log line; every refusal, whatever
raised it, is answered as JSON ``{"error", "request_id"}``."""

import logging
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from streams.gateway.service import Refusal, retry_after_header

__all__ = ["add_error_handling"]

log = logging.getLogger("integrity.gateway")


def _error(request: Request, status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    rid = getattr(request.state, "request_id", "")
    return JSONResponse({"error": reason, "request_id": rid}, status_code=status, headers=headers)


def add_error_handling(app: FastAPI) -> None:
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

    @app.exception_handler(Refusal)
    async def refused(request: Request, refusal: Refusal) -> JSONResponse:
        headers = {"Retry-After": retry_after_header(refusal.retry_after_s)} if refusal.retry_after_s else None
        return _error(request, refusal.status, refusal.reason, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return _error(request, 422, f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(request, exc.status_code, str(exc.detail))
