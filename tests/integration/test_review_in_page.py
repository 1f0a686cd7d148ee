"""Reviewing in the page and the report to hand over, on a real broker and worker with tokens: a reviewer
signs in with their own token, confirms a behaviour with a note and dismisses a range dragged on the
chart; each review shows at once, then as kept, in `/sessions/<id>/` and in `integrity evaluate --reviews`,
signed with the token's name. A change without the token, with the shared token (which names no one) or
from another site is refused. Any worker answers `/sessions/<id>/report`, a printable page with an SVG
timeline and no image, and `integrity report --pdf` prints it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from schemas.records import new_session_control, now_ms
from streams.child_process import free_port
from streams.cli.screenshot import HeadlessChromium, find_chromium
from streams.stack.local import LocalStack
from streams.stack.processes import WorkerProcess
from streams.web.access import COOKIE
from tests.helpers.frames import SHARED_WEIGHTS, timeline
from tests.helpers.kafka import Record, policies_with_quick, publish, reports_of

pytestmark = pytest.mark.integration

SHARED = "shared-7f3a9c1e5b"
ANA = "ana-tok-4e8d2b6a90"
SESSION = "page-review-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stack")
    worker_env = {
        "INTEGRITY_YOLO_WEIGHTS": SHARED_WEIGHTS,
        "INTEGRITY_RISK_POLICY_DIR": str(policies_with_quick(folder)),
        "INTEGRITY_RISK_END_GRACE_S": "3",
        "INTEGRITY_PARTITIONS": "4",
        "INTEGRITY_WEB_TOKEN": SHARED,
        "INTEGRITY_WEB_REVIEWERS": f"ana={ANA}",
    }
    with LocalStack(folder, worker_env=worker_env) as running:
        yield running


@pytest.fixture(scope="module")
def ended(stack):
    """A short session played to its end: two faces in the middle. Its final report."""
    settings = stack.settings
    frames = timeline(SESSION, [("one_face", 10), ("two_faces", 15), ("one_face", 10)])
    start = new_session_control(SESSION, "start", "cand-page")
    end = new_session_control(SESSION, "end", "cand-page", last_sequence=len(frames) - 1)
    records: list[Record] = [(settings.topics.control, SESSION, start)]
    records += [(settings.topics.frames, SESSION, frame) for frame in frames]
    publish(settings, [*records, (settings.topics.control, SESSION, end)])
    (report,) = reports_of(settings, SESSION, timeout_s=180)
    return report


class _Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the test looks at the redirect itself


def call(port: int, path: str, body: object | None = None, **headers: str) -> tuple[int, str]:
    """Status and text of a request (a redirect is answered as it is, not followed)."""
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
    try:
        with urllib.request.build_opener(_Stay).open(request, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def session_view(port: int) -> dict:
    status, text = call(port, f"/sessions/{SESSION}/", Authorization=f"Bearer {ANA}")
    assert status == 200, text
    return json.loads(text)


def wait_for_reviews(port: int, count: int, timeout_s: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        kept = session_view(port)["reviews"]
        if len(kept) >= count or time.monotonic() > deadline:
            return kept
        time.sleep(0.5)


def row(event_id: str) -> str:
    return f"document.querySelector('#events li[data-event=\"{event_id}\"]')"


def test_a_reviewer_confirms_an_event_and_dismisses_a_range_in_the_page(stack, ended, tmp_path):
    executable = find_chromium()
    if executable is None:
        pytest.skip("no chromium: apt-get install -y --no-install-recommends chromium (scripts/setup.sh does)")
    port = stack.worker.web_port
    url = f"http://127.0.0.1:{port}/dashboard/#session={SESSION}"
    event_id = next(key for key, b in session_view(port)["behaviours"].items() if b["type"] == "multiple_faces")

    async def scenario() -> None:
        async with HeadlessChromium(executable) as browser:
            await browser.open(url, {COOKIE: ANA})
            await browser.wait_for("document.body.dataset.reviewer === 'ana'", 60)
            assert "as ana" in await browser.evaluate("document.querySelector('#reviewer').textContent")
            await browser.wait_for(f"document.querySelector('#detail').dataset.session === '{SESSION}'", 120)
            await browser.wait_for(f"!!{row(event_id)}", 60)  # (a node comes back as {}: falsy)
            link = await browser.evaluate("document.querySelector('#report-link').getAttribute('href')")
            assert link == f"/sessions/{SESSION}/report"

            # Confirm the two-face stretch with a note: shown at once, then kept by the worker.
            await browser.evaluate(
                f"(() => {{ const note = {row(event_id)}.querySelector('input.note'); note.value = 'a second person';"
                " note.dispatchEvent(new Event('input')); })()"
            )
            await browser.evaluate(f"{row(event_id)}.querySelector('button[data-decision=confirmed]').click()")
            shown = await browser.evaluate(
                "[...document.querySelectorAll('#reviews li')].map((li) => li.dataset.state + ' ' + li.textContent)"
            )
            assert len(shown) == 1 and "confirmed" in shown[0] and "a second person" in shown[0], shown
            assert shown[0].split()[0] in {"sending", "sent", "kept"}  # before the worker kept it, or just as
            kept = "document.querySelector('#reviews li[data-state=\"kept\"]')"
            await browser.wait_for(f"!!{kept}", 60)
            text = await browser.evaluate(f"{kept}.textContent")
            assert "by ana" in text and "multiple faces" in text and "a second person" in text
            await browser.wait_for(f"{row(event_id)}.querySelector('.status').textContent === 'confirmed by ana'")
            assert await browser.evaluate(f"{row(event_id)}.querySelector('input.note').value") == ""

            # Drag across the chart: a range, dismissed as a whole.
            await browser.evaluate("document.querySelector('#chart').scrollIntoView()")
            box = await browser.evaluate(
                "(() => { const r = document.querySelector('#chart .u-over').getBoundingClientRect();"
                " return {x: r.x, y: r.y, w: r.width, h: r.height}; })()"
            )
            y = box["y"] + box["h"] / 2
            x0, x1 = box["x"] + box["w"] * 0.1, box["x"] + box["w"] * 0.3
            for kind, x, buttons in (("mousePressed", x0, 1), ("mouseMoved", x1, 1), ("mouseReleased", x1, 0)):
                await browser.call(
                    "Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", buttons=buttons, clickCount=1
                )
            shown_form = "document.querySelector('#range-form').offsetParent !== null"  # drawn, not just unhidden
            await browser.wait_for(shown_form, 10)
            await browser.evaluate("document.querySelector('#range-note').value = 'the camera, not a person'")
            await browser.evaluate("document.querySelector('#range-form button[data-decision=dismissed]').click()")
            await browser.wait_for("document.querySelectorAll('#reviews li[data-state=\"kept\"]').length === 2", 60)
            assert not await browser.evaluate(shown_form)
            await browser.screenshot(tmp_path / "reviewed.png")

    asyncio.run(asyncio.wait_for(scenario(), timeout=300))

    reviews = {r["decision"]: r for r in wait_for_reviews(port, 2)}
    confirmed, dismissed = reviews["confirmed"], reviews["dismissed"]
    assert confirmed["reviewer"] == "ana" and confirmed["note"] == "a second person"
    assert confirmed["event_id"] == event_id and confirmed["behaviour"] == "multiple_faces"
    assert confirmed["policy"] == ended["policy"]
    assert dismissed["reviewer"] == "ana" and dismissed["event_id"] is None and dismissed["behaviour"] == ""
    assert dismissed["ended_at_ms"] > dismissed["started_at_ms"] and dismissed["note"] == "the camera, not a person"

    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "evaluate", "--reviews", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=stack.worker.env,
    )
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    assert [ended["policy"], "multiple_faces", "1", "0", "1.00"] in [line[:5] for line in lines], done.stdout
    assert [ended["policy"], "(session)", "0", "1", "0.00"] in [line[:5] for line in lines], done.stdout


def test_a_change_without_a_reviewers_token_or_from_another_site_is_refused(stack, ended):
    port = stack.worker.web_port
    path = f"/sessions/{SESSION}/reviews"
    body = {"decision": "confirmed", "started_at_ms": now_ms() - 1000}
    page = {"Origin": f"http://127.0.0.1:{port}"}
    status, text = call(port, path, body, **page)
    assert status == 401 and "token" in json.loads(text)["error"]
    status, text = call(port, path, body, Authorization=f"Bearer {SHARED}")
    assert status == 403 and "names no one" in json.loads(text)["error"]
    status, text = call(port, path, body, Cookie=f"{COOKIE}={ANA}", Origin="https://elsewhere.example")
    assert status == 403 and "another site" in json.loads(text)["error"]
    status, text = call(port, path, body, Cookie=f"{COOKIE}={ANA}")
    assert status == 403 and "Origin" in json.loads(text)["error"]
    status, text = call(port, path, body | {"reviewer": "mallory"}, Authorization=f"Bearer {ANA}")
    assert status == 400 and "who signed in" in json.loads(text)["error"]
    status, text = call(port, "/dashboard/reviewer", Authorization=f"Bearer {SHARED}")
    assert status == 200 and json.loads(text)["reviewer"] is None
    assert all(r["reviewer"] == "ana" for r in session_view(port)["reviews"])


def test_any_worker_answers_the_report_and_the_command_prints_it(stack, ended, tmp_path):
    port = stack.worker.web_port
    # A script may review with a reviewer's token in its header (no cookie: no cross-site question).
    review = {"decision": "confirmed", "behaviour": "multiple_faces", "started_at_ms": now_ms() - 60_000, "note": "x<y"}
    status, text = call(port, f"/sessions/{SESSION}/reviews", review, Authorization=f"Bearer {ANA}")
    assert status == 201, text
    review_id = json.loads(text)["review"]["review_id"]
    assert json.loads(text)["review"]["reviewer"] == "ana"
    deadline = time.monotonic() + 60
    while review_id not in {r["review_id"] for r in session_view(port)["reviews"]}:
        assert time.monotonic() < deadline, "the review was not kept"
        time.sleep(0.5)

    second = WorkerProcess(stack.worker.env, free_port(), tmp_path / "w2", tmp_path / "w2.log").start()
    try:
        second.wait_ready(timeout_s=180)
        pages = {}
        for worker in (port, second.web_port):
            deadline = time.monotonic() + 120
            while True:  # the session's partition may move to the new worker and be recovered there
                status, page = call(worker, f"/sessions/{SESSION}/report", Authorization=f"Bearer {SHARED}")
                if (status == 200 and "x&lt;y" in page) or time.monotonic() > deadline:
                    break
                time.sleep(1)
            assert status == 200, page
            pages[worker] = page
        status, _ = call(port, f"/sessions/{SESSION}/report")
        assert status == 303  # a browser without the token is sent to the login form
        status, text = call(port, "/sessions/no-such-session/report", Authorization=f"Bearer {SHARED}")
        assert status == 404 and "no session" in json.loads(text)["error"]
    finally:
        second.stop()

    for page in pages.values():
        assert "<svg" in page and "<polyline" in page and "<img" not in page and "base64" not in page
        assert "<script" not in page
        assert "multiple faces" in page and ended["policy"] in page  # the reason, the policy with its version
        assert ">ana<" in page and "x&lt;y" in page  # the reviews (who, what), escaped
        assert "Capture quality" in page and "Reasons and their evidence" in page
        assert f"{ended['peak_risk_score']:.0f}" in page

    pdf, html_out = tmp_path / "out.pdf", tmp_path / "out.html"
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "report", SESSION, "--pdf", str(pdf), "--html", str(html_out),
         "--url", f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=180, env=stack.worker.env,
    )  # fmt: skip
    if find_chromium() is None:
        assert done.returncode == 2 and "no chromium" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert said["pdf"] == str(pdf) and said["pages"] >= 1
    assert pdf.read_bytes().startswith(b"%PDF")
    assert "<svg" in html_out.read_text()
    wrong = subprocess.run(
        [sys.executable, "-m", "streams.cli", "report", SESSION, "--html", str(tmp_path / "x.html"),
         "--url", f"http://127.0.0.1:{port}", "--token", "wrong"],
        capture_output=True, text=True, timeout=60, env=stack.worker.env,
    )  # fmt: skip
    assert wrong.returncode == 1 and "token" in wrong.stderr and not (tmp_path / "x.html").exists()
