"""``integrity screenshot``: the dashboard in headless Chromium, written to a PNG.

Chromium is driven over its DevTools protocol (a websocket, spoken with aiohttp): the dashboard keeps an
event stream open, so Chromium's ``--screenshot``/``--virtual-time-budget`` shortcut never sees the page
settle. ``HeadlessChromium`` is what the dashboard's integration test drives too.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from streams.child_process import stop_child
from streams.cli.common import refuse, settings_for

__all__ = ["CHROMIUM_NAMES", "HeadlessChromium", "capture", "find_chromium", "register"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DEFAULT_OUT = Path(".integrity/dashboard.png")
WINDOW = (1280, 800)


def find_chromium() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


class HeadlessChromium:
    """One headless Chromium process with one page, driven over the DevTools protocol."""

    def __init__(
        self,
        executable: str,
        window: tuple[int, int] = WINDOW,
        start_timeout_s: float = 30.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.executable = executable
        self.extra_args = tuple(extra_args)  # after ours: a fake camera for the gateway's demo page, say
        self.window = window
        self.start_timeout_s = start_timeout_s
        self._ids = itertools.count(1)
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._client: aiohttp.ClientSession | None = None
        self._socket: aiohttp.ClientWebSocketResponse | None = None

    async def __aenter__(self) -> HeadlessChromium:
        self._profile = tempfile.TemporaryDirectory(prefix="integrity-chromium-")
        profile = Path(self._profile.name)
        width, height = self.window
        self._process = subprocess.Popen(
            [
                self.executable,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--hide-scrollbars",
                f"--window-size={width},{height}",
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                *self.extra_args,
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its renderers and helpers in one group, stopped together
        )
        try:
            port = await self._devtools_port(profile / "DevToolsActivePort")
            self._client = aiohttp.ClientSession()
            async with self._client.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json()
            page = next(t for t in targets if t.get("type") == "page")
            self._socket = await self._client.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
            # The new headless mode takes its window's frame off --window-size: set the page's size itself.
            await self.call(
                "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
            )
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._client is not None:
            await self._client.close()
        if self._process is not None:
            stop_child(self._process, timeout_s=10, group=True)
        if self._profile is not None:
            self._profile.cleanup()

    async def _devtools_port(self, announced: Path) -> int:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited at start (status {self._process.returncode})")
            if announced.is_file() and (lines := announced.read_text().split()):
                return int(lines[0])
            await asyncio.sleep(0.1)
        raise TimeoutError(f"chromium did not open its DevTools port in {self.start_timeout_s:g}s")

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command and its result (events in between are dropped)."""
        assert self._socket is not None
        ident = next(self._ids)
        await self._socket.send_json({"id": ident, "method": method, "params": params})
        while True:
            message = await self._socket.receive_json(timeout=30)
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    async def open(self, url: str, cookies: dict[str, str] | None = None) -> None:
        for name, value in (cookies or {}).items():
            await self.call("Network.setCookie", name=name, value=value, url=url)
        await self.call("Page.navigate", url=url)

    async def evaluate(self, expression: str) -> Any:
        """A JavaScript expression's value in the page (JSON-able values only)."""
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout_s: float = 30.0) -> Any:
        """Poll ``expression`` until it is truthy; its value. TimeoutError naming it otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                value = await self.evaluate(expression)
            except RuntimeError:
                value = None  # the page is still loading
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expression!r} still false after {timeout_s:g}s")
            await asyncio.sleep(0.25)

    async def screenshot(self, path: Path) -> Path:
        shot = await self.call("Page.captureScreenshot", format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


# The page has drawn two snapshots (so its chart has a line, not a single point) and its chart if any.
DRAWN = "Number(document.body.dataset.snapshots || 0) >= 2"


async def capture(executable: str, url: str, out: Path, token: str = "", timeout_s: float = 30.0) -> Path:
    """The dashboard at ``url`` once it has drawn live data, as a PNG at ``out``."""
    from streams.web.access import COOKIE

    async with HeadlessChromium(executable) as browser:
        await browser.open(url, {COOKIE: token} if token else None)
        await browser.wait_for(DRAWN, timeout_s)
        await asyncio.sleep(0.3)  # one more frame: the chart's canvas is drawn on the next animation frame
        return await browser.screenshot(out)


def _cmd_screenshot(args: argparse.Namespace) -> int:
    executable = find_chromium()
    if executable is None:
        return refuse(
            "no chromium found (looked for " + ", ".join(CHROMIUM_NAMES) + "); install it, e.g. "
            "apt-get install -y --no-install-recommends chromium"
        )
    settings = settings_for(args)
    url = args.url or f"http://127.0.0.1:{settings.web_port}/dashboard/"
    try:
        out = asyncio.run(capture(executable, url, Path(args.out), settings.web_token.reveal(), args.timeout))
    except (TimeoutError, RuntimeError, aiohttp.ClientError) as exc:
        print(f"integrity: no screenshot of {url}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"screenshot": str(out), "url": url}))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("screenshot", help="the worker's dashboard in headless chromium, as a PNG")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="PNG file (default %(default)s)")
    p.add_argument("--url", help="dashboard URL (default http://127.0.0.1:$INTEGRITY_WEB_PORT/dashboard/)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for live data (default 30)")
    p.set_defaults(func=_cmd_screenshot)
