"""The JavaScript client (clients/js) as a Node backend runs it, against a real worker on the embedded
broker and a real gateway: its example session over HTTP and over the WebSocket, and a refused key."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from streams.gateway.access import hash_key
from streams.stack.processes import GatewayProcess
from tests.helpers.frames import scene_jpeg
from tests.helpers.kafka import reports_of

pytestmark = pytest.mark.integration

KEY = "acme-js-key-1"
CLIENT = Path(__file__).resolve().parents[2] / "clients" / "js"


@pytest.fixture(scope="module")
def gateway(stack, worker, tmp_path_factory):
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    with GatewayProcess(stack.worker.env, log, INTEGRITY_GATEWAY_API_KEYS=f"acme:{hash_key(KEY)}") as running:
        yield running


def test_the_example_session_over_http_and_websocket(node, gateway, settings, tmp_path):
    image = tmp_path / "frame.jpg"
    image.write_bytes(scene_jpeg("one_face"))
    # Node 20's WebSocket is behind a flag (22 has it by default); the client takes the global one.
    command = [node, "--experimental-websocket", "examples/session.mjs", gateway.url, KEY, str(image), "3"]
    done = subprocess.run(command, cwd=CLIENT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)

    http, ws = out["http"], out["ws"]
    assert http["verdicts"] != ["pending"] * 3 and set(http["verdicts"]) <= {"inconclusive", "clear", "pending"}
    assert http["report"]["frames"] == 3 and ws["report"]["frames"] == 3
    assert ws["pushed"][:3] == [0, 1, 2] and ws["pushed"][-1] == -1  # the final Result, then the report
    for session in (http["session"], ws["session"]):
        assert reports_of(settings, session)[0]["frames"] == 3  # what the worker reported on the topic
    assert out["refused"]["status"] == 401 and out["refused"]["requestId"]
    assert "key" in out["refused"]["error"].lower()


def test_the_unit_tests_of_the_module(node):
    # The module's own tests (fakes of fetch and WebSocket) run with Node's test runner.
    done = subprocess.run([node, "--test", "test/"], cwd=CLIENT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout and "# pass 0" not in done.stdout
