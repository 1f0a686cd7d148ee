"""The dashboard as a reviewer sees it: a real worker on the embedded broker, the page in headless
Chromium (driven over DevTools), sessions appearing, updating without a reload, and ending."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request

import pytest
from PIL import Image

from schemas import codec_for
from schemas.records import new_session_control, now_ms
from streams.cli.screenshot import HeadlessChromium, find_chromium
from tests.helpers.frames import timeline
from tests.helpers.kafka import publish

pytestmark = pytest.mark.integration

SESSION = "dash-1"


def first_snapshot(port: int) -> dict:
    """The first snapshot the event stream sends."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/dashboard/events", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        for raw in response:
            line = raw.decode().strip()
            if line.startswith("data: "):
                return json.loads(line[len("data: ") :])
    raise AssertionError("the event stream ended without a snapshot")


def li(session: str) -> str:
    return f"document.querySelector('#sessions li[data-session=\"{session}\"]')"


def test_dashboard_shows_sessions_live(settings, stack, tmp_path):
    executable = find_chromium()
    if executable is None:
        pytest.skip("no chromium: apt-get install -y --no-install-recommends chromium (scripts/setup.sh does)")
    port = stack.worker.web_port
    url = f"http://127.0.0.1:{port}/dashboard/"
    start_ms = now_ms()
    first = timeline(SESSION, [("one_face", 10), ("two_faces", 15)], start_ms=start_ms)
    more = timeline(SESSION, [("two_faces", 10)], first_sequence=len(first), start_ms=start_ms)
    total = len(first) + len(more)
    start = new_session_control(SESSION, "start", f"cand-{SESSION}")
    end = new_session_control(SESSION, "end", f"cand-{SESSION}", last_sequence=total - 1)

    with urllib.request.urlopen(url, timeout=10) as response:
        page = response.read().decode()
    assert "/dashboard/static/uPlot.iife.min.js" in page and "/dashboard/static/dashboard.js" in page
    for name in ("dashboard.js", "dashboard.css", "uPlot.iife.min.js", "uPlot.min.css"):
        with urllib.request.urlopen(f"{url}static/{name}", timeout=10) as response:
            assert response.status == 200 and response.read()

    async def scenario() -> None:
        await asyncio.to_thread(
            publish,
            settings,
            [(settings.topics.control, SESSION, start), *[(settings.topics.frames, SESSION, f) for f in first]],
        )
        async with HeadlessChromium(executable) as browser:
            await browser.open(url)
            # Listed, selected (the riskiest is selected by default), its chart drawn.
            await browser.wait_for(
                f"{li(SESSION)} && {li(SESSION)}.querySelector('.frames').textContent === '{len(first)}'", timeout_s=120
            )
            await browser.wait_for(f"document.querySelector('#detail').dataset.session === '{SESSION}'")
            assert await browser.evaluate("!document.querySelector('#detail').hidden")
            assert await browser.evaluate("document.querySelectorAll('#chart canvas').length") >= 1
            verdict = await browser.evaluate("document.querySelector('#detail-verdict').textContent")
            assert verdict in {"clear", "review", "flagged", "inconclusive"}
            assert await browser.evaluate(f"{li(SESSION)}.querySelector('.verdict').textContent") == verdict
            # The two-face stretch is a behaviour interval in the evidence book: a band on the chart.
            await browser.wait_for("document.querySelectorAll('#reasons li:not(.empty)').length >= 1", 60)

            # More frames arrive: the page updates from the event stream, without a reload.
            await browser.evaluate("window.notReloaded = true")
            await asyncio.to_thread(publish, settings, [(settings.topics.frames, SESSION, f) for f in more])
            await browser.wait_for(f"{li(SESSION)}.querySelector('.frames').textContent === '{total}'", 120)
            assert await browser.evaluate("window.notReloaded === true")
            points = await browser.evaluate("document.querySelector('#chart canvas').width")
            assert points > 0

            shot = await browser.screenshot(tmp_path / "dashboard.png")
            with Image.open(shot) as image:
                assert image.size[0] >= 1000
                colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
            assert len(colours) > 50, f"a near-blank screenshot: {len(colours)} colours"

            # What a user types gives the same view.
            cli = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "streams.cli", "screenshot", "--url", url, "--out", str(tmp_path / "cli.png")],
                capture_output=True,
                text=True,
                timeout=90,
            )
            assert cli.returncode == 0, cli.stderr
            assert json.loads(cli.stdout)["screenshot"] == str(tmp_path / "cli.png")
            with Image.open(tmp_path / "cli.png") as image:
                assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 50

            # The session ends: its final report shows.
            await asyncio.to_thread(publish, settings, [(settings.topics.control, SESSION, end)])
            await browser.wait_for("!document.querySelector('#report-box').hidden", 120)
            status = await browser.evaluate(f"{li(SESSION)}.querySelector('.meta').textContent")
            assert "ended" in status

            # A reviewer confirms the two-face stretch: the review shows beside the session, live.
            review = {
                "session_id": SESSION,
                "review_id": "dash-review-1",
                "decision": "confirmed",
                "event_id": None,
                "behaviour": "multiple_faces",
                "started_at_ms": first[10]["captured_at_ms"],
                "ended_at_ms": first[-1]["captured_at_ms"],
                "policy": "default@2",
                "reviewer": "rev-dash",
                "note": "a second person behind",
                "at_ms": now_ms(),
            }
            raw = codec_for("Review").encode(review)
            await asyncio.to_thread(publish, settings, [(settings.topics.reviews, SESSION, raw)])
            shown = "document.querySelector('#reviews li[data-review=\"dash-review-1\"]')"
            await browser.wait_for(f"{shown} && !document.querySelector('#reviews-box').hidden", 60)
            assert await browser.evaluate(f"{shown}.querySelector('.decision').textContent") == "confirmed"
            assert "rev-dash" in await browser.evaluate(f"{shown}.textContent")
            await browser.screenshot(tmp_path / "dashboard-reviewed.png")

            # A reviewer arriving after the end sees the whole session: its timeline from its first
            # frame and its behaviours, from the session's view (the page's own snapshots begin now).
            await browser.open(url)
            await browser.wait_for("window.notReloaded === undefined && typeof history.get === 'function'")
            past = f"history.get('{SESSION}')"
            await browser.wait_for(f"{past} && {past}.loaded === true", 60)
            first_point_ms = await browser.evaluate(f"Math.round({past}.t[0] * 1000)")
            assert first_point_ms == first[0]["captured_at_ms"]
            assert await browser.evaluate(f"{past}.t.length") >= 10
            kinds = await browser.evaluate(f"[...{past}.intervals.values()].map((i) => i.type)")
            assert "multiple_faces" in kinds

    asyncio.run(asyncio.wait_for(scenario(), timeout=400))

    snapshot = first_snapshot(port)
    row = next(s for s in snapshot["sessions"] if s["session_id"] == SESSION)
    assert row["status"] == "ended" and row["frames"] == total and row["final_report"]["frames"] == total
    assert {"risk_score", "attention", "verdict", "reasons", "policy", "last_seen_ms", "intervals"} <= set(row)
    assert "image" not in json.dumps(snapshot)  # no frame data ever leaves through the dashboard


def test_screenshot_without_chromium_says_so(tmp_path):
    env = os.environ | {"PATH": str(tmp_path)}  # nothing to find there
    command = [sys.executable, "-m", "streams.cli", "screenshot", "--out", str(tmp_path / "x.png")]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "no chromium" in done.stderr
    assert not (tmp_path / "x.png").exists()
