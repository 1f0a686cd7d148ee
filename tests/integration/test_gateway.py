"""The gateway as a platform uses it: a real worker on the embedded broker, ``integrity gateway`` in its own
process, an HTTP client (httpx) and a WebSocket client (websockets). Start, frames, Results, end, report;
and every refusal a platform can meet, as JSON with a reason or a clear close code."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from schemas.records import new_session_control
from streams.gateway.access import hash_key
from streams.kafka.follower import OWNER_KEY
from streams.stack.processes import GatewayProcess
from tests.helpers.frames import scene_jpeg
from tests.helpers.kafka import publish, reports_of

pytestmark = pytest.mark.integration

KEY = "acme-secret-key-1"
OTHER_KEY = "globex-secret-key-2"
MAX_FRAME_BYTES = 400_000


@pytest.fixture(scope="module")
def gateway(stack, worker, tmp_path_factory):
    keys = f"acme:{hash_key(KEY)},globex:{hash_key(OTHER_KEY)}"
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    limits = {"INTEGRITY_SESSION_MAX_FPS": "4", "INTEGRITY_SESSION_BURST_FRAMES": "8"}
    env = {**stack.worker.env, **limits, "INTEGRITY_MAX_FRAME_BYTES": str(MAX_FRAME_BYTES)}
    origins = {"INTEGRITY_GATEWAY_CORS_ORIGINS": "https://platform.example"}
    with GatewayProcess(env, log, port=None, INTEGRITY_GATEWAY_API_KEYS=keys, **origins) as running:
        yield running


def client(gateway: GatewayProcess, key: str | None = KEY) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=gateway.url, headers=headers, timeout=30)


def jpeg(scene: str = "one_face") -> bytes:
    return scene_jpeg(scene)


def test_start_frames_end_over_http(gateway, settings):
    with client(gateway) as http:
        started = http.post("/sessions", json={"candidate_id": "cand-http", "metadata": {"round": "1"}})
        assert started.status_code == 201, started.text
        session = started.json()["session_id"]
        assert started.headers["location"] == f"/sessions/{session}"

        results = []
        for scene in ["one_face"] * 3 + ["two_faces"] * 3:
            sent = http.post(f"/sessions/{session}/frames", content=jpeg(scene), headers={"Content-Type": "image/jpeg"})
            assert sent.status_code == 200, sent.text  # waited for its Result
            results.append(sent.json())
        assert [r["frame_sequence"] for r in results] == list(range(6))
        assert {r["session_id"] for r in results} == {session}
        assert [r["face_count"] for r in results] == [1, 1, 1, 2, 2, 2]
        assert results[0]["candidate_id"] == "cand-http"
        assert "X-Request-ID".lower() in sent.headers

        latest = http.get(f"/sessions/{session}/result").json()
        assert latest["frame_sequence"] == 5

        ended = http.post(f"/sessions/{session}/end")
        assert ended.status_code == 200, ended.text
        report = ended.json()
        assert report["session_id"] == session and report["frames"] == 6 and report["reason"] == "ended"
        assert http.get(f"/sessions/{session}/report").json() == report
        # The report on the topic is the one the platform got.
        assert reports_of(settings, session)[0]["final_risk_score"] == report["final_risk_score"]


def test_the_seeds_json_api(gateway):
    with client(gateway) as http:
        session = http.post("/start-session", json={"session_id": "gw-seed-1", "candidate_id": "c"}).json()[
            "session_id"
        ]
        assert session == "gw-seed-1"
        frame = "data:image/jpeg;base64," + base64.b64encode(jpeg()).decode()
        answer = http.post("/analyze-frame", json={"session_id": session, "frame": frame})
        assert answer.status_code == 200 and answer.json()["frame_sequence"] == 0
        # Fire and forget: 202 at once, with where its Result will be.
        later = http.post("/analyze-frame", params={"wait": "false"}, json={"session_id": session, "frame": frame})
        assert later.status_code == 202 and later.json()["sequence"] == 1
        assert later.headers["location"] == f"/sessions/{session}/result"
        report = http.post("/end-session", json={"session_id": session})
        assert report.status_code == 200 and report.json()["frames"] == 2


def test_refusals_are_json_with_a_reason(gateway):
    with client(gateway) as http, client(gateway, None) as anonymous, client(gateway, OTHER_KEY) as globex:
        session = http.post("/sessions", json={"candidate_id": "c"}).json()["session_id"]
        frames = f"/sessions/{session}/frames"

        def refused(response: httpx.Response, status: int, words: str) -> None:
            assert response.status_code == status, response.text
            body = response.json()
            assert words in body["error"] and body["request_id"] == response.headers["x-request-id"]

        refused(anonymous.post(frames, content=jpeg()), 401, "API key")
        refused(client(gateway, "wrong").post(frames, content=jpeg()), 401, "API key")
        refused(globex.post(frames, content=jpeg()), 404, "no session")  # another platform's session
        refused(globex.get(f"/sessions/{session}/report"), 404, "no session")
        refused(http.post(frames, content=b"x" * (MAX_FRAME_BYTES + 1)), 413, "over the")
        refused(http.post(frames, content=b"GIF89a not a webcam frame"), 415, "not a frame")
        refused(http.post(frames, json={"frame": "%%% not base64"}), 400, "base64")
        refused(http.post("/sessions/never-started/frames", content=jpeg()), 404, "no session")
        refused(http.post("/sessions", json={"policy": "no-such-policy"}), 422, "unknown policy")
        refused(http.post("/sessions", json={"session_id": "x" * 1000}), 422, "characters long")
        refused(http.get(f"/sessions/{session}/report"), 404, "no final report")

        # Above the session's rate (4/s, a burst of 8): 429 with Retry-After, the frames before it taken.
        answers = [http.post(frames, params={"wait": "false"}, content=jpeg()) for _ in range(12)]
        codes = [a.status_code for a in answers]
        assert codes[:8] == [202] * 8 and 429 in codes, codes
        limited = next(a for a in answers if a.status_code == 429)
        assert int(limited.headers["retry-after"]) >= 1 and "frames/s" in limited.json()["error"]
        http.post(f"/sessions/{session}/end", params={"wait": "false"})

    log = gateway.log()
    assert KEY not in log and OTHER_KEY not in log  # keys are never logged
    assert " 429 " in log and "platform=acme" in log  # each request logged with its status and platform


def test_a_session_started_by_another_gateway_instance(gateway, settings):
    # Another instance started it for acme: this one learns whose it is from the control topic, and
    # takes its frames when they carry their sequence (it cannot know the count).
    start = new_session_control("gw-elsewhere", "start", "c", metadata={OWNER_KEY: "acme"}, source="gateway")
    publish(settings, [(settings.topics.control, "gw-elsewhere", start)])
    with client(gateway) as http, client(gateway, OTHER_KEY) as globex:
        frames = "/sessions/gw-elsewhere/frames"
        deadline = time.monotonic() + 30
        while (answer := http.post(frames, content=jpeg())).status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert answer.status_code == 409 and "send each frame's `sequence`" in answer.json()["error"]
        assert globex.post(frames, content=jpeg()).status_code == 404
        sent = http.post(frames, params={"sequence": 7}, content=jpeg())
        assert sent.status_code == 200 and sent.json()["frame_sequence"] == 7
        assert http.post("/sessions/gw-elsewhere/end").json()["frames"] == 1


def test_browsers_of_configured_origins_only(gateway):
    def preflight(origin: str) -> httpx.Response:
        headers = {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        }
        return httpx.options(f"{gateway.url}/sessions", headers=headers)

    allowed = preflight("https://platform.example")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://platform.example"
    assert "access-control-allow-origin" not in preflight("https://elsewhere.example").headers


def test_openapi_documents_the_refusals(gateway):
    schema = httpx.get(f"{gateway.url}/openapi.json").json()
    frames = schema["paths"]["/sessions/{session_id}/frames"]["post"]
    assert {"200", "202", "401", "413", "415", "429"} <= set(frames["responses"])
    assert "image/jpeg" in frames["requestBody"]["content"]
    assert {"/sessions", "/analyze-frame", "/start-session", "/end-session", "/health"} <= set(schema["paths"])
    assert httpx.get(f"{gateway.url}/docs").status_code == 200


def ws_url(gateway: GatewayProcess) -> str:
    return gateway.url.replace("http://", "ws://") + "/ws/stream"


def test_a_websocket_session(gateway, settings):
    with connect(ws_url(gateway), open_timeout=10) as ws:
        ws.send(json.dumps({"candidate_id": "cand-ws", "api_key": KEY, "session_id": "gw-ws-1"}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "started", "session_id": "gw-ws-1", "policy": "default"}
        for scene in ["one_face"] * 4 + ["two_faces"] * 2:
            ws.send(jpeg(scene))
        results = [json.loads(ws.recv(timeout=60)) for _ in range(6)]
        assert [r["type"] for r in results] == ["result"] * 6
        assert sorted(r["frame_sequence"] for r in results) == list(range(6))
        ws.send(json.dumps({"type": "end"}))
        # The session's final Result, then its report (held for it: they come from different topics).
        final = json.loads(ws.recv(timeout=60))
        assert final["type"] == "result" and final["final"] is True
        report = json.loads(ws.recv(timeout=60))
        assert report["type"] == "report" and report["frames"] == 6 and report["session_id"] == "gw-ws-1"
        assert report["verdict"] == final["verdict"]
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


def close_code(gateway: GatewayProcess, hello: dict | str, then: Sequence[bytes | str] = ()) -> tuple[int, str]:
    with connect(ws_url(gateway), open_timeout=10, max_size=None) as ws:
        ws.send(hello if isinstance(hello, str) else json.dumps(hello))
        try:
            for message in then:
                ws.send(message)
                time.sleep(0.01)
            while True:
                ws.recv(timeout=30)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code, closed.rcvd.reason
    raise AssertionError("not closed")


def test_websocket_refusals_close_with_a_clear_code(gateway):
    assert close_code(gateway, {"api_key": "wrong"})[0] == 1008
    assert close_code(gateway, "not json at all")[0] == 1003
    code, reason = close_code(gateway, {"api_key": KEY}, ["hello?"])
    assert code == 1003 and "end" in reason
    code, reason = close_code(gateway, {"api_key": KEY}, [b"\xff\xd8" + b"x" * (MAX_FRAME_BYTES + 10)])
    assert code == 1009
    code, reason = close_code(gateway, {"api_key": KEY}, [jpeg()] * 20)  # a flood: over 4/s with a burst of 8
    assert code == 1008 and "frames/s" in reason


def test_a_client_that_goes_away_still_gets_its_session_ended(gateway, settings):
    ws = connect(ws_url(gateway), open_timeout=10)
    ws.send(json.dumps({"api_key": KEY, "session_id": "gw-ws-gone"}))
    json.loads(ws.recv(timeout=10))
    for _ in range(3):
        ws.send(jpeg())
    json.loads(ws.recv(timeout=60))  # the first Result: the frames are in
    ws.socket.close()  # no close handshake: the network went away
    report = reports_of(settings, "gw-ws-gone", timeout_s=90)[0]
    assert report["frames"] == 3
    assert httpx.get(f"{gateway.url}/health").json()["ready"] is True
