"""The Python clients (producers.client) against a real worker on the embedded broker: the gateway's
HTTP API (blocking and asyncio), its WebSocket stream, and the direct Kafka client. Start, frames,
Results, end, report; the gateway's refusals as GatewayError."""

from __future__ import annotations

import asyncio

import pytest

from producers.client import AsyncGatewayClient, GatewayClient, GatewayError
from streams.client import KafkaSessionClient
from streams.gateway.access import hash_key
from streams.stack.processes import GatewayProcess
from tests.helpers.frames import scene_jpeg

pytestmark = pytest.mark.integration

KEY = "acme-python-key-1"
MAX_FRAME_BYTES = 400_000
TIMEOUT_S = 180  # a whole scenario, on a loaded two-core machine


@pytest.fixture(scope="module")
def gateway(stack, worker, tmp_path_factory):
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    # 4 frames/s with a burst of 8 at the gateway: the 429 test reaches it in a second.
    limits = {"INTEGRITY_SESSION_MAX_FPS": "4", "INTEGRITY_SESSION_BURST_FRAMES": "8"}
    env = {**stack.worker.env, **limits, "INTEGRITY_MAX_FRAME_BYTES": str(MAX_FRAME_BYTES)}
    with GatewayProcess(env, log, INTEGRITY_GATEWAY_API_KEYS=f"acme:{hash_key(KEY)}") as running:
        yield running


def jpeg() -> bytes:
    return scene_jpeg("one_face")


def run(scenario) -> object:
    return asyncio.run(asyncio.wait_for(scenario, TIMEOUT_S))


def test_blocking_client_start_frames_end(gateway):
    with GatewayClient(gateway.url, api_key=KEY) as client:
        assert client.health()["ready"] is True
        started = client.start_session(candidate_id="cand-py-sync", metadata={"round": "1"})
        session = started["session_id"]
        assert started["candidate_id"] == "cand-py-sync" and started["policy"] == "default"

        answers = [client.send_frame(session, jpeg()) for _ in range(3)]
        assert [a.pending for a in answers] == [False] * 3
        assert [a.sequence for a in answers] == [0, 1, 2]
        assert [a.result["frame_sequence"] for a in answers if a.result] == [0, 1, 2]
        assert {a.result["session_id"] for a in answers if a.result} == {session}
        assert client.latest_result(session)["frame_sequence"] == 2

        report = client.end_session(session)
        assert report is not None and report["session_id"] == session and report["frames"] == 3
        assert client.report(session) == report


def test_async_client_start_frames_end(gateway):
    async def scenario() -> None:
        async with AsyncGatewayClient(gateway.url, api_key=KEY) as client:
            assert (await client.health())["ready"] is True
            started = await client.start_session(candidate_id="cand-py-async", session_id="py-async-1")
            assert started["session_id"] == "py-async-1"
            answers = [await client.send_frame("py-async-1", jpeg()) for _ in range(3)]
            assert [a.result["frame_sequence"] for a in answers if a.result] == [0, 1, 2]
            assert answers[0].result is not None and answers[0].result["candidate_id"] == "cand-py-async"
            report = await client.end_session("py-async-1")
            assert report is not None and report["frames"] == 3
            assert (await client.report("py-async-1"))["frames"] == 3

    run(scenario())


def test_websocket_stream(gateway):
    async def scenario() -> None:
        async with (
            AsyncGatewayClient(gateway.url, api_key=KEY) as client,
            client.stream(candidate_id="cand-py-ws", session_id="py-ws-1") as stream,
        ):
            assert (stream.session_id, stream.policy) == ("py-ws-1", "default")
            for _ in range(3):
                await stream.send_frame(jpeg())
            read = []
            async for result in stream.results():
                read.append(result)
                if len(read) == 2:
                    break
            report = await stream.end()
            assert report is not None and report["session_id"] == "py-ws-1" and report["frames"] == 3
            # The Result not read before the end was collected by it (and the session's final Result,
            # its last word with frame_sequence -1, when the gateway sent it before the report).
            frames = sorted(r["frame_sequence"] for r in read + stream.received if not r["final"])
            assert frames == [0, 1, 2] and stream.errors == []
            assert [r async for r in stream.results()] == []  # over: the report came

    run(scenario())


def test_refusals_raise_gateway_errors(gateway):
    with GatewayClient(gateway.url, api_key="wrong") as stranger:
        with pytest.raises(GatewayError) as refused:
            stranger.start_session(candidate_id="c")
        assert refused.value.status == 401 and "API key" in refused.value.error and refused.value.request_id

    with GatewayClient(gateway.url, api_key=KEY) as client:
        session = client.start_session(candidate_id="c")["session_id"]
        with pytest.raises(GatewayError) as refused:
            client.send_frame(session, b"\xff\xd8" + b"x" * MAX_FRAME_BYTES)
        assert refused.value.status == 413 and "over the" in refused.value.error
        with pytest.raises(GatewayError) as refused:
            client.report("py-never-started")
        assert refused.value.status == 404
        client.end_session(session, wait=False)

    async def over_the_websocket() -> None:
        async with AsyncGatewayClient(gateway.url, api_key="wrong") as stranger:
            with pytest.raises(GatewayError) as closed:
                async with stranger.stream(candidate_id="c"):
                    pass
            assert closed.value.close_code == 1008 and "API key" in closed.value.error
        async with AsyncGatewayClient(gateway.url, api_key=KEY) as client, client.stream(candidate_id="c") as stream:
            await stream.send_frame(b"\xff\xd8" + b"x" * MAX_FRAME_BYTES)
            with pytest.raises(GatewayError) as closed:
                async for _ in stream.results():
                    pass
            assert closed.value.close_code == 1009 and closed.value.status == 1009

    run(over_the_websocket())


def test_frame_rate_refusals_and_retry(gateway):
    with GatewayClient(gateway.url, api_key=KEY) as client:
        session = client.start_session(candidate_id="c")["session_id"]
        with pytest.raises(GatewayError) as limited:  # above 4/s with a burst of 8
            for _ in range(12):
                assert client.send_frame(session, jpeg(), wait=False).pending
        assert limited.value.status == 429 and limited.value.retry_after_s and limited.value.retry_after_s >= 1
        client.end_session(session, wait=False)

    with GatewayClient(gateway.url, api_key=KEY, retry_on_429=True) as patient:
        session = patient.start_session(candidate_id="c")["session_id"]
        answers = [patient.send_frame(session, jpeg(), wait=False) for _ in range(10)]
        assert [a.sequence for a in answers] == list(range(10)) and all(a.pending for a in answers)
        assert patient.end_session(session, wait=False) is None


def test_kafka_client(settings):
    async def scenario() -> None:
        async with KafkaSessionClient(settings) as kafka:
            started = await kafka.start_session(candidate_id="cand-py-kafka", metadata={"round": "2"})
            session = started["session_id"]
            with pytest.raises(ValueError):
                await kafka.send_frame(session, b"GIF89a not a frame")
            assert [await kafka.send_frame(session, jpeg()) for _ in range(3)] == [0, 1, 2]
            followed = []
            async for result in kafka.results(session):
                followed.append(result)
                if len(followed) == 3:
                    break
            assert [r["frame_sequence"] for r in followed] == [0, 1, 2]
            assert {r["candidate_id"] for r in followed} == {"cand-py-kafka"}
            ended = await kafka.end_session(session)
            assert ended["last_sequence"] == 2
            report = await kafka.report(session, timeout_s=90)
            assert report["session_id"] == session and report["frames"] == 3
            # The rest: the session's final Result (its last word), then the report ends them.
            rest = [r async for r in kafka.results(session)]
            assert [(r["final"], r["frame_sequence"]) for r in rest] == [(True, -1)]

    run(scenario())
