"""A worker with a web token: views refused without it, opened with it; health and metrics open; the
token never in the log."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from streams.kafka.local_stack import LocalStack
from tests.helpers.frames import SHARED_WEIGHTS

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
        assert status_of(port, "/health/") == 200  # open by default: INTEGRITY_WEB_OPEN=health,metrics
        assert status_of(port, "/metrics") == 200
    assert TOKEN not in stack.worker.log_path.read_text()
