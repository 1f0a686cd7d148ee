"""The gateway's demo page (``/demo/``) without a broker: its routes, what it is told, and that the client
module it serves is the one source of the JavaScript client (``clients/js/`` links to it)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from streams.gateway.access import hash_key
from streams.gateway.app import create_app
from streams.gateway.demo_page import STATIC_DIR
from streams.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "js" / "integrity-gateway.js"
PAGE_FILES = ("demo.html", "demo.js", "demo.css")


class PageClient:
    """GETs from the gateway's app in this process. Its lifespan (the broker, the results follower) never
    starts: the page needs neither."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.app = create_app(load_settings(env or {}))

    def get(self, path: str) -> httpx.Response:
        async def fetch() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
                response = await http.get(path)
                await response.aread()
                return response

        return asyncio.run(fetch())


def test_the_js_client_has_one_source_which_the_package_serves() -> None:
    # clients/js/ (its tests, its example, its package.json) links to the file the wheel ships.
    assert CLIENT.is_symlink() and CLIENT.resolve() == (STATIC_DIR / "integrity-gateway.js").resolve()


def test_the_page_its_redirect_and_its_files() -> None:
    http = PageClient()
    moved = http.get("/demo")
    assert moved.status_code == 307 and moved.headers["location"] == "demo/"

    page = http.get("/demo/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-api-keys="open"' in page.text and 'data-max-fps="15"' in page.text
    assert "${" not in page.text  # every placeholder filled
    assert 'src="static/demo.js"' in page.text and 'href="static/demo.css"' in page.text
    for element in ("state", "verdict", "risk", "faces", "frames-sent", "results", "reasons", "report", "error"):
        assert f'id="{element}"' in page.text, element
    # Frames go to this origin only.
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy

    for name in ("demo.js", "demo.css", "integrity-gateway.js"):
        served = http.get(f"/demo/static/{name}")
        assert served.status_code == 200 and served.content == (STATIC_DIR / name).read_bytes(), name
    for name in ("demo.js", "integrity-gateway.js"):  # a module script needs a JavaScript type
        assert "javascript" in http.get(f"/demo/static/{name}").headers["content-type"]
    assert http.get("/demo/static/nothing.js").status_code == 404


def test_the_page_asks_for_a_key_only_when_the_gateway_has_keys() -> None:
    env = {"INTEGRITY_GATEWAY_API_KEYS": f"acme:{hash_key('k')}", "INTEGRITY_SESSION_MAX_FPS": "4"}
    page = PageClient(env).get("/demo/")
    assert page.status_code == 200  # the page itself needs no key
    assert 'data-api-keys="required"' in page.text and 'data-max-fps="4"' in page.text


def test_the_demo_routes_stay_out_of_the_api_schema() -> None:
    paths = create_app(load_settings({})).openapi()["paths"]
    assert not [path for path in paths if path.startswith("/demo")]


@pytest.mark.parametrize("name", PAGE_FILES)
def test_the_page_loads_nothing_from_elsewhere(name: str) -> None:
    text = (STATIC_DIR / name).read_text(encoding="utf-8")
    assert not re.search(r"https?://|\bwss?://|(src|href)=\"//", text), name
