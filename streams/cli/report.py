"""``integrity report``: a session's report to hand over (``/sessions/{id}/report`` of a running worker),
saved as the HTML page and/or printed to PDF by headless Chromium (found and started as ``integrity
screenshot`` does). The page is fetched once, with the token, and Chromium prints that very page: it needs
nothing from the network (its style and its SVG timeline are inline)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from streams.cli.common import refuse, settings_for
from streams.cli.screenshot import CHROMIUM_NAMES, HeadlessChromium, find_chromium

__all__ = ["fetch_report", "pages_in", "print_pdf", "register"]

# The page is drawn once fetched: no script, no stream to wait for.
LOADED = "document.readyState === 'complete'"
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


async def fetch_report(url: str, token: str = "", timeout_s: float = 30.0) -> str:
    """The report page at ``url``; RuntimeError saying why not (no token, no such session, no worker)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with (
        aiohttp.ClientSession(timeout=timeout, headers=headers) as client,
        client.get(url, allow_redirects=False) as response,
    ):
        if response.status in (303, 401):
            raise RuntimeError("the worker wants its token: give --token or set INTEGRITY_WEB_TOKEN")
        if response.status != 200 or not response.content_type.startswith("text/html"):
            try:
                why = (await response.json()).get("error", "")
            except (aiohttp.ContentTypeError, json.JSONDecodeError):
                why = (await response.text())[:200]
            raise RuntimeError(f"{url} answered {response.status}: {why}")
        return await response.text()


async def print_pdf(executable: str, page: str, out: Path, timeout_s: float = 30.0) -> int:
    """``page`` (HTML) printed to ``out`` as PDF by headless Chromium, with the page's own size (A4); the
    number of pages."""
    with tempfile.TemporaryDirectory(prefix="integrity-report-") as folder:
        source = Path(folder) / "report.html"
        source.write_text(page)
        async with HeadlessChromium(executable) as browser:
            await browser.open(source.as_uri())
            await browser.wait_for(LOADED, timeout_s)
            printed = await browser.call("Page.printToPDF", printBackground=True, preferCSSPageSize=True)
    data = base64.b64decode(printed["data"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return pages_in(data)


def pages_in(pdf: bytes) -> int:
    """Pages of a PDF as Chromium writes one: its page objects (``/Type /Page``, not ``/Pages``), counted."""
    return len(_PAGE.findall(pdf))


def _cmd_report(args: argparse.Namespace) -> int:
    if not (args.pdf or args.html):
        return refuse("give --pdf FILE, --html FILE or both", "report")
    executable = find_chromium()
    if args.pdf and executable is None:
        return refuse(
            "no chromium found to print the PDF (looked for " + ", ".join(CHROMIUM_NAMES) + "); install it, "
            "e.g. apt-get install -y --no-install-recommends chromium, or save the page with --html",
            "report",
        )
    settings = settings_for(args)
    base = (args.url or f"http://127.0.0.1:{settings.web_port}").rstrip("/")
    url = f"{base}/sessions/{quote(args.session_id, safe='')}/report"
    token = args.token if args.token is not None else settings.web_token.reveal()
    try:
        page = asyncio.run(fetch_report(url, token, args.timeout))
    except (RuntimeError, TimeoutError, aiohttp.ClientError) as exc:
        print(f"integrity report: no report of {args.session_id}: {exc}", file=sys.stderr)
        return 1
    written: dict[str, Any] = {"session_id": args.session_id, "url": url}
    if args.html:
        Path(args.html).parent.mkdir(parents=True, exist_ok=True)
        Path(args.html).write_text(page)
        written["html"] = str(args.html)
    if args.pdf:
        assert executable is not None
        try:
            written["pages"] = asyncio.run(print_pdf(executable, page, Path(args.pdf), args.timeout))
        except (TimeoutError, RuntimeError, aiohttp.ClientError) as exc:
            print(f"integrity report: chromium did not print {url}: {exc}", file=sys.stderr)
            return 1
        written["pdf"] = str(args.pdf)
    print(json.dumps(written))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="a session's printable report from a running worker, as PDF (headless chromium) and/or HTML",
        description="Fetch /sessions/SESSION/report from a worker (any worker answers for any session) and save "
        "it: --pdf prints it to PDF with headless chromium (A4), --html saves the page. See docs/REVIEWING.md.",
    )
    p.add_argument("session_id", metavar="SESSION")
    p.add_argument("--pdf", metavar="FILE", help="write the report as PDF (needs chromium)")
    p.add_argument("--html", metavar="FILE", help="write the report's HTML page")
    p.add_argument("--url", help="the worker's web address (default http://127.0.0.1:$INTEGRITY_WEB_PORT)")
    p.add_argument(
        "--token",
        help="a token the worker takes (default INTEGRITY_WEB_TOKEN; prefer the variable: a flag shows in ps)",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="seconds for the worker and chromium (default 30)")
    p.set_defaults(func=_cmd_report)
