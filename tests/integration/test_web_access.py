"""Workers with a web token: views refused without it, opened with it, also when one worker asks another
on the user's behalf; health and metrics open; the token never in the logs."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from schemas.records import new_session_control
from streams.child_process import free_port
from streams.stack.local import LocalStack
from streams.stack.processes import WorkerProcess
from tests.helpers.frames import SHARED_WEIGHTS, timeline
from tests.helpers.kafka import Record, publish, results_of
from tests.integration.test_crashes import sessions_on_each_partition

pytestmark = pytest.mark.integration

TOKEN = "tok-8c1f0e2d9a"


def status_of(port: int, path: str, **headers: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            assert "token" in json.load(exc)["error"]
        return exc.code


class _Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the test looks at the redirect itself


def _no_redirects(url: str, data: bytes | None = None):
    try:
        return urllib.request.build_opener(_Stay).open(url, data=data, timeout=10)
    except urllib.error.HTTPError as exc:
        return exc


def _login(port: int, token: str):
    form = urllib.parse.urlencode({"token": token, "next": "/dashboard/"}).encode()
    return _no_redirects(f"http://127.0.0.1:{port}/login/", data=form)


def test_views_need_the_token_and_probes_do_not(tmp_path):
    env = {"INTEGRITY_YOLO_WEIGHTS": SHARED_WEIGHTS, "INTEGRITY_WEB_TOKEN": TOKEN}
    with LocalStack(tmp_path, worker_env=env) as stack:
        port = stack.worker.web_port
        assert status_of(port, "/sessions/") == 401
        assert status_of(port, "/sessions/some-id/") == 401
        assert status_of(port, "/sessions/", Authorization="Bearer wrong") == 401
        assert status_of(port, "/sessions/", Authorization=f"Bearer {TOKEN}") == 200
        assert status_of(port, "/sessions/", Cookie=f"integrity_token={TOKEN}") == 200
        assert status_of(port, "/sessions/unknown/", Authorization=f"Bearer {TOKEN}") == 404
        assert status_of(port, "/dashboard/events") == 401
        # A browser is sent to the login form, and the form's cookie opens the dashboard.
        assert _no_redirects(f"http://127.0.0.1:{port}/dashboard/").headers["Location"] == "/login/?next=/dashboard/"
        assert status_of(port, "/login/") == 200
        assert _login(port, "wrong").status == 401
        signed_in = _login(port, TOKEN)
        assert signed_in.status == 303 and signed_in.headers["Location"] == "/dashboard/"
        cookie = signed_in.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert status_of(port, "/dashboard/", Cookie=cookie.split(";")[0]) == 200
        assert status_of(port, "/health/") == 200  # open by default: INTEGRITY_WEB_OPEN=health,metrics
        assert status_of(port, "/metrics") == 200

        second = WorkerProcess(stack.worker.env, free_port(), tmp_path / "w2", tmp_path / "w2.log").start()
        try:
            second.wait_ready(timeout_s=180)
            names = sessions_on_each_partition("tok", stack.settings.topics.partitions)
            records: list[Record] = []
            for name in names:
                records.append((stack.settings.topics.control, name, new_session_control(name, "start", "c")))
                records += [(stack.settings.topics.frames, name, f) for f in timeline(name, [("one_face", 3)])]
            publish(stack.settings, records)
            for name in names:
                results_of(stack.settings, name, 3)
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            for name in names:  # half of them live on the other worker: asked with the user's token
                assert status_of(port, f"/sessions/{name}/", **bearer) == 200, name
                assert status_of(port, f"/sessions/{name}/") == 401
        finally:
            second.stop()
    for log in (stack.worker.log_path, second.log_path):
        assert TOKEN not in log.read_text()
