"""The gateway's demo page as a person uses it: ``integrity gateway`` (with an API key) in front of a real
worker on the embedded broker, ``/demo/`` in headless Chromium with its fake camera (a synthetic pattern,
no face), Start, live Results on the page, the frames on the frames topic, Stop, the final report; and a
wrong key refused in words."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import cast

import pytest
from PIL import Image

from streams.cli.screenshot import HeadlessChromium, find_chromium
from streams.gateway.access import hash_key
from streams.stack.processes import GatewayProcess
from tests.helpers.kafka import collect, reports_of

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        find_chromium() is None,
        reason="no chromium: apt-get install -y --no-install-recommends chromium (scripts/setup.sh does)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / ".integrity" / "demo-page.png"
KEY = "demo-page-secret-key-1"
# Chromium's own camera (a moving test pattern) and permission prompt answered yes, and video that plays
# without a click.
FAKE_CAMERA = (
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
)
VERDICTS = json.loads((ROOT / "schemas" / "integrity.Verdict.avsc").read_text())["symbols"]


@pytest.fixture(scope="module")
def gateway(stack, worker, tmp_path_factory):
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    with GatewayProcess(stack.worker.env, log, INTEGRITY_GATEWAY_API_KEYS=f"demo:{hash_key(KEY)}") as running:
        yield running


def text(element: str) -> str:
    return f"document.querySelector('#{element}').textContent"


# What the page says, for a failure's message.
PAGE_SAYS = (
    "JSON.stringify({state: document.querySelector('#state').textContent, "
    "error: document.querySelector('#error').textContent, sent: document.querySelector('#frames-sent').textContent, "
    "results: document.querySelector('#results').textContent, skipped: "
    "document.querySelector('#frames-skipped').textContent, video: document.querySelector('#preview').videoWidth})"
)


async def shown(browser: HeadlessChromium, expression: str, timeout_s: float = 30.0) -> object:
    """``browser.wait_for``, with what the page says when it times out."""
    try:
        return await browser.wait_for(expression, timeout_s)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; the page says {await browser.evaluate(PAGE_SAYS)}") from None


async def start_with_key(browser: HeadlessChromium, url: str, key: str) -> None:
    # Navigating returns before the new page replaces the old: mark the old one so it is not mistaken for it.
    await browser.evaluate("window.stale = true")
    await browser.open(url)
    # The gateway has keys: the page asks for one.
    await shown(
        browser,
        "!window.stale && document.readyState === 'complete' && !document.querySelector('#api-key-field').hidden",
    )
    await browser.evaluate(f"document.querySelector('#api-key').value = {json.dumps(key)}")
    await browser.evaluate("document.querySelector('#start').click()")


def test_the_demo_page_sends_the_camera_and_shows_results_then_the_report(gateway, settings):
    executable = find_chromium()
    assert executable is not None

    async def scenario() -> None:
        async with HeadlessChromium(executable, extra_args=FAKE_CAMERA) as browser:
            await browser.open(f"{gateway.url}/demo")  # the redirect to /demo/
            await shown(browser, "location.pathname === '/demo/' && document.readyState === 'complete'")
            await start_with_key(browser, f"{gateway.url}/demo/", KEY)

            await shown(browser, f"Number({text('results')}) >= 3", 120)
            verdict = await shown(browser, "document.querySelector('#verdict').dataset.verdict")
            assert verdict in VERDICTS
            assert await browser.evaluate(text("verdict")) == verdict
            assert await browser.evaluate("document.querySelector('#state').dataset.state") == "live"
            assert await browser.evaluate(f"Number({text('frames-sent')})") >= 3
            assert (await browser.evaluate(text("risk"))).isdigit()
            # The fake camera's pattern has no face in it.
            assert await browser.evaluate(text("faces")) == "0"

            # The page's frames are on the frames topic, as JPEGs no larger than 640x480.
            session = await browser.evaluate(text("session"))
            frames = await asyncio.to_thread(
                collect, settings, settings.topics.frames, "Frame", lambda f: f["session_id"] == session, 3, 60
            )
            assert [f["sequence"] for f in frames] == [0, 1, 2]
            assert all(f["encoding"] == "JPEG" and f["image"][:2] == b"\xff\xd8" for f in frames)
            assert all(0 < f["width"] <= 640 and 0 < f["height"] <= 480 for f in frames)

            await asyncio.sleep(0.5)  # the preview's next animation frame
            shot = await browser.screenshot(SCREENSHOT)
            with Image.open(shot) as image:
                assert image.size[0] >= 1000
                colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
            assert len(colours) > 50, f"a near-blank screenshot: {len(colours)} colours"

            # Stop: the session ends and its final report shows.
            await browser.evaluate("document.querySelector('#stop').click()")
            await shown(browser, "!document.querySelector('#report').hidden", 90)
            await shown(browser, "document.querySelector('#state').dataset.state === 'ended'", 30)
            shown_frames = int(await browser.evaluate(text("report-frames")))
            assert shown_frames >= 3
            assert await browser.evaluate("document.querySelector('#report-verdict').dataset.verdict") in VERDICTS
            assert await browser.evaluate("document.querySelector('#preview').srcObject") is None  # camera off
            await browser.screenshot(SCREENSHOT.with_name("demo-page-report.png"))

            report = (await asyncio.to_thread(reports_of, settings, session))[0]
            assert report["frames"] == shown_frames and report["reason"] == "ended"
            assert await browser.evaluate(text("report-risk")) == f"{report['final_risk_score']:.0f}"

    asyncio.run(asyncio.wait_for(scenario(), timeout=300))


def test_a_missing_or_wrong_key_is_refused_in_words(gateway):
    executable = find_chromium()
    assert executable is not None

    async def scenario() -> None:
        async with HeadlessChromium(executable, extra_args=FAKE_CAMERA) as browser:
            await start_with_key(browser, f"{gateway.url}/demo/", "")
            error = cast(str, await shown(browser, f"!document.querySelector('#error').hidden && {text('error')}"))
            assert "needs an API key" in error

            await start_with_key(browser, f"{gateway.url}/demo/", "not-the-key")
            await shown(browser, "document.querySelector('#state').dataset.state === 'refused'", 60)
            error = await browser.evaluate(text("error"))
            assert "refused" in error and "API key" in error, error
            assert await browser.evaluate(text("frames-sent")) == "0"
            assert await browser.evaluate("document.querySelector('#start').disabled") is False  # try again
            assert await browser.evaluate("document.querySelector('#preview').srcObject") is None  # camera off

    asyncio.run(asyncio.wait_for(scenario(), timeout=120))
    assert "not-the-key" not in gateway.log()
