"""Who may open the worker's web views: everyone when no token is configured (``INTEGRITY_WEB_TOKEN``),
otherwise requests carrying it, as ``Authorization: Bearer <token>`` or the dashboard's login cookie.
``/health`` and ``/metrics`` can stay open for probes and scrapers (``INTEGRITY_WEB_OPEN``).

The token is compared in constant time and never logged. A refusal is a JSON 401 with the reason.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from streams.app import settings

__all__ = ["COOKIE", "Area", "allowed", "forwarded_credentials", "protected"]

Area = Literal["views", "health", "metrics"]
COOKIE = "integrity_token"


def allowed(area: Area, headers: Mapping[str, str], cookies: Mapping[str, str], token: str, open_areas: str) -> bool:
    """Whether a request with these headers and cookies may open ``area``."""
    if not token or area in {part.strip() for part in open_areas.split(",")}:
        return True
    offered = ""
    authorization = headers.get("Authorization", "")
    if authorization.startswith("Bearer "):
        offered = authorization[len("Bearer ") :].strip()
    elif COOKIE in cookies:
        offered = cookies[COOKIE]
    return bool(offered) and hmac.compare_digest(offered.encode(), token.encode())


def forwarded_credentials(headers: Mapping[str, str]) -> dict[str, str]:
    """What a worker passes on when it asks another worker on a user's behalf."""
    return {name: headers[name] for name in ("Authorization", "Cookie") if name in headers}


Handler = Callable[..., Awaitable[Any]]


def protected(area: Area, *, page: bool = False) -> Callable[[Handler], Handler]:
    """A Faust page handler, refusing requests that may not open ``area`` with a 401; a ``page`` sends a
    browser to the login form instead."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(web: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            token = settings.web_token.reveal()
            if not allowed(area, request.headers, request.cookies, token, settings.web_open):
                if page:
                    return web.html("", status=303, headers={"Location": f"/login/?next={request.path}"})
                refusal = {"error": "this view needs the token: send 'Authorization: Bearer <token>'"}
                return web.json(refusal, status=401, headers={"WWW-Authenticate": 'Bearer realm="integrity"'})
            return await handler(web, request, *args, **kwargs)

        return guarded

    return wrap
