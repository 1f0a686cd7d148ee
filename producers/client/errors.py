"""What the clients raise when the gateway refuses something: one exception for both doors (HTTP and
WebSocket), so a platform handles a refusal the same way whichever it uses."""

from __future__ import annotations

__all__ = ["GatewayError"]


class GatewayError(Exception):
    """A refusal by the gateway.

    ``status``: the HTTP status (401, 404, 409, 413, 415, 422, 429...), or for a WebSocket the gateway
    closed, its close code (1003, 1008, 1009, 1011, 1013; also in ``close_code``). ``error``: the
    gateway's reason, in words. ``request_id``: the gateway's X-Request-ID, to find the request in its
    log. ``retry_after_s``: from Retry-After (a 429 has one).
    """

    def __init__(
        self,
        status: int,
        error: str,
        request_id: str | None = None,
        retry_after_s: float | None = None,
        *,
        close_code: int | None = None,
    ) -> None:
        super().__init__(f"{status}: {error}" + (f" (request {request_id})" if request_id else ""))
        self.status = status
        self.error = error
        self.request_id = request_id
        self.retry_after_s = retry_after_s
        self.close_code = close_code

    def __repr__(self) -> str:
        return (
            f"GatewayError(status={self.status!r}, error={self.error!r}, request_id={self.request_id!r}, "
            f"retry_after_s={self.retry_after_s!r}, close_code={self.close_code!r})"
        )
