"""``/login/``: a reviewer's browser exchanges a token (their own, ``INTEGRITY_WEB_REVIEWERS``, or the shared
``INTEGRITY_WEB_TOKEN``) for a cookie (``integrity_token``: HttpOnly, SameSite=Strict), then the dashboard
opens; reviews made there are signed with the name of a reviewer's token. Only where a token is configured
does it matter."""

from __future__ import annotations

import html
from typing import Any

from faust.web import View

from streams.app import app, settings
from streams.web.access import COOKIE, allowed, configured_reviewers

__all__: list[str] = []

_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Interview integrity: sign in</title>
<style>body{{font:16px system-ui,sans-serif;background:#f3f4f6;display:grid;place-items:center;height:90vh}}
form{{background:#fff;padding:2em;border-radius:8px;box-shadow:0 1px 4px #0002;min-width:22em}}
input{{font:inherit;width:100%;margin:.6em 0;padding:.4em;box-sizing:border-box}}
.error{{color:#b91c1c}}</style></head>
<body><form method="post" action="/login/">
<h1 style="font-size:1.2em">Interview integrity</h1>
<label for="token">Your reviewer token (or the shared INTEGRITY_WEB_TOKEN: it opens the views, but
reviews need your own)</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
<input type="hidden" name="next" value="{next}">
<p class="error">{error}</p>
<button type="submit">Sign in</button>
</form></body></html>
"""


def _next_page(value: Any) -> str:
    """Only a path of this worker: never an open redirect."""
    path = str(value or "/dashboard/")
    return path if path.startswith("/") and not path.startswith("//") else "/dashboard/"


@app.page("/login/")
class Login(View):
    async def get(self, request: Any) -> Any:
        return self.html(_FORM.format(next=html.escape(_next_page(request.query.get("next"))), error=""))

    async def post(self, request: Any) -> Any:
        form = await request.post()
        offered, next_page = str(form.get("token", "")), _next_page(form.get("next"))
        token = settings.web_token.reveal()
        if not allowed("views", {"Authorization": f"Bearer {offered}"}, {}, token, "", configured_reviewers()):
            page = _FORM.format(next=html.escape(next_page), error="That is not the token.")
            return self.html(page, status=401)
        cookie = f"{COOKIE}={offered}; HttpOnly; SameSite=Strict; Path=/"
        return self.html("", status=303, headers={"Location": next_page, "Set-Cookie": cookie})
