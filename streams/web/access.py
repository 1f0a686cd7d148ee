"""Who may open the worker's web views, and who signs a review made in the dashboard.

Everyone may open the views when no token is configured; otherwise requests carrying one: the shared
``INTEGRITY_WEB_TOKEN`` or a reviewer's own (``INTEGRITY_WEB_REVIEWERS``), as ``Authorization: Bearer
<token>`` or the dashboard's login cookie. ``/health`` and ``/metrics`` can stay open for probes and
scrapers (``INTEGRITY_WEB_OPEN``).

A review is signed with the name of the reviewer's token, never with a name the request gives: the shared
token names no one, so it records no review. With no token at all (views on loopback), a request from this
machine reviews as the worker's OS user.

Tokens are compared in constant time and never logged. A refusal is a JSON 401 (no token) or 403 (a token
that may not do this) with the reason.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from streams.app import settings
from streams.settings import is_loopback, web_reviewers

__all__ = [
    "COOKIE",
    "Area",
    "Reviewer",
    "allowed",
    "configured_reviewers",
    "cross_site_refusal",
    "forwarded_credentials",
    "open_views",
    "protected",
    "reviewer_named",
    "reviewer_of",
    "reviewer_of_request",
]

Area = Literal["views", "health", "metrics"]
COOKIE = "integrity_token"
_NO_REVIEWERS: Mapping[str, str] = {}


def _offered(headers: Mapping[str, str], cookies: Mapping[str, str]) -> tuple[str, bool]:
    """The token a request offers, and whether in its Authorization header (which a browser never adds on
    its own, unlike a cookie)."""
    authorization = headers.get("Authorization", "")
    if authorization.startswith("Bearer "):
        return authorization[len("Bearer ") :].strip(), True
    return cookies.get(COOKIE, ""), False


def _matches(offered: str, expected: str) -> bool:
    if expected.startswith("sha256:"):
        digest = hashlib.sha256(offered.encode()).hexdigest()
        return hmac.compare_digest(digest, expected[len("sha256:") :].lower())
    return hmac.compare_digest(offered.encode(), expected.encode())


def reviewer_named(offered: str, reviewers: Mapping[str, str]) -> str | None:
    """The reviewer whose token ``offered`` is, or None. Every entry is compared: how long it takes does not
    say which one matched."""
    found = None
    for name, expected in reviewers.items():
        if _matches(offered, expected):
            found = name
    return found if offered else None


def allowed(
    area: Area,
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    token: str,
    open_areas: str,
    reviewers: Mapping[str, str] = _NO_REVIEWERS,
) -> bool:
    """Whether a request with these headers and cookies may open ``area``."""
    if not (token or reviewers) or area in {part.strip() for part in open_areas.split(",")}:
        return True
    offered, _ = _offered(headers, cookies)
    if not offered:
        return False
    shared = bool(token) and hmac.compare_digest(offered.encode(), token.encode())
    return reviewer_named(offered, reviewers) is not None or shared


@dataclass(frozen=True)
class Reviewer:
    """Who a request reviews as: ``name``, found ``how``; or None and ``why_not`` (said in the page)."""

    name: str | None
    how: str = ""
    why_not: str = ""


def reviewer_of(
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    remote: str | None,
    token: str,
    reviewers: Mapping[str, str],
    local_name: str,
) -> Reviewer:
    """Who signs a review made by this request (``remote``: the address it came from)."""
    if not (token or reviewers):
        if remote and is_loopback(remote):
            return Reviewer(local_name, how="the worker's user: no token is configured")
        return Reviewer(None, why_not="no token is configured and this request is not from the worker's machine")
    offered, _ = _offered(headers, cookies)
    if (name := reviewer_named(offered, reviewers)) is not None:
        return Reviewer(name, how="your reviewer token")
    return Reviewer(
        None,
        why_not="reviews are signed by a reviewer's own token (INTEGRITY_WEB_REVIEWERS); "
        "the shared INTEGRITY_WEB_TOKEN names no one",
    )


def cross_site_refusal(headers: Mapping[str, str], open_views: bool) -> str | None:
    """Why a state-changing request is refused as a cross-site one, or None.

    A browser sends the login cookie along with any site's form or script; it sends ``Origin`` with every
    POST, so a request using the cookie must come from a page of this worker (``Origin`` naming the host it
    asked). With the token in an ``Authorization`` header it is not a browser's doing (another site's script
    cannot set that header here: the worker answers no CORS preflight). Open views (no token) also need a
    loopback host name: a DNS-rebound name of another site's would match its own origin.
    """
    _, by_header = _offered(headers, {})
    if by_header and not open_views:
        return None
    host = headers.get("Host", "")
    origin = headers.get("Origin", "")
    if not origin:
        return "a change from a browser carries an Origin header: this request has none"
    if urlsplit(origin).netloc.lower() != host.lower():
        return f"a change from another site ({origin}) is refused"
    if open_views and not is_loopback(urlsplit(f"//{host}").hostname or ""):
        return f"with no token configured, changes come from this machine only (host {host!r})"
    return None


def forwarded_credentials(headers: Mapping[str, str]) -> dict[str, str]:
    """What a worker passes on when it asks another worker on a user's behalf."""
    return {name: headers[name] for name in ("Authorization", "Cookie") if name in headers}


@functools.cache
def configured_reviewers() -> Mapping[str, str]:
    """The worker's reviewers: name -> token (or its digest)."""
    return web_reviewers(settings)  # checked when the settings were loaded


@functools.cache
def _local_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's user with no passwd entry
        return "local"


def open_views() -> bool:
    """Whether the views need no token (none configured)."""
    return not (settings.web_token or configured_reviewers())


def reviewer_of_request(request: Any) -> Reviewer:
    """``reviewer_of`` a Faust (aiohttp) request, with the worker's configuration."""
    token = settings.web_token.reveal()
    return reviewer_of(request.headers, request.cookies, request.remote, token, configured_reviewers(), _local_name())


Handler = Callable[..., Awaitable[Any]]


def protected(area: Area, *, page: bool = False) -> Callable[[Handler], Handler]:
    """A Faust page handler, refusing requests that may not open ``area`` with a 401; a ``page`` sends a
    browser to the login form instead."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(web: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            token = settings.web_token.reveal()
            if not allowed(area, request.headers, request.cookies, token, settings.web_open, configured_reviewers()):
                if page:
                    return web.html("", status=303, headers={"Location": f"/login/?next={request.path}"})
                refusal = {"error": "this view needs the token: send 'Authorization: Bearer <token>'"}
                return web.json(refusal, status=401, headers={"WWW-Authenticate": 'Bearer realm="integrity"'})
            return await handler(web, request, *args, **kwargs)

        return guarded

    return wrap
