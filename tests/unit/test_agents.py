"""The agents' dead-letter branches, fast: Faust's ``agent.test_context()`` over an in-memory channel and
the ``memory://`` store, no broker. What the agents send to other topics is captured. The real-broker
tests (tests/integration) cover the same paths end to end, with RocksDB and Avro on the wire."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, cast
from unittest.mock import AsyncMock

import pytest

from schemas.records import new_session_control, now_ms
from streams.kafka.partitioning import partition_of
from streams.risk.lifecycle import ExpiryRequests
from streams.settings import load_settings
from streams.worker import progress
from streams.worker.dead_letters import dead_letter
from streams.worker.serializers import Undecodable
from tests.helpers.frames import START_MS, frame_record, observation_record


@pytest.fixture(scope="module")
def agents(tmp_path_factory) -> Iterator[dict[str, ModuleType]]:
    # The app reads its settings on import: a data folder of its own, no weights (objects unavailable).
    with pytest.MonkeyPatch.context() as env:
        env.setenv("INTEGRITY_DATA_DIR", str(tmp_path_factory.mktemp("agents")))
        env.setenv("INTEGRITY_YOLO_WEIGHTS", "")
        app = importlib.import_module("streams.app").app
        app.conf.store = "memory://"
        yield {name: importlib.import_module(f"streams.agents.{name}") for name in ("stage", "detection", "risk")}


class _Acknowledged:
    """What a captured send returns: a delivery that is already acknowledged."""

    def __await__(self):
        return iter(())


@pytest.fixture(autouse=True)
def _sessions_start_now(monkeypatch) -> None:
    """Frames captured now: in a long test run, a start taken at import would be refused as far behind
    the broker's clock (INTEGRITY_MAX_CLOCK_SKEW_S) by the time these tests run."""
    monkeypatch.setattr(sys.modules[__name__], "START_MS", now_ms())


@pytest.fixture
def sent(agents, monkeypatch) -> dict[str, AsyncMock]:
    """Every topic send of the agents, by topic, captured instead of produced."""
    mocks = {}
    topics = {
        "dead_letter": agents["stage"].dead_letter_topic,
        "events": agents["detection"].events_topic,
        "results": agents["risk"].results_topic,
        "reports": agents["risk"].reports_topic,
    }
    for name, topic in topics.items():
        mocks[name] = AsyncMock(return_value=_Acknowledged())
        monkeypatch.setattr(topic, "send", mocks[name])
    return mocks


async def _until(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """``put`` returns once the agent took the record, not once it finished with it."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the agent did not finish in time"
        await asyncio.sleep(0.02)


def home(key: bytes) -> int:
    """The partition a record with ``key`` belongs on; the agents forward records put elsewhere."""
    return partition_of(key, load_settings().topics.partitions)


def _reasons(mock: AsyncMock) -> list[str]:
    return [call.kwargs["value"]["reason"] for call in mock.await_args_list]


def test_frames_that_cannot_be_analysed_become_dead_letters_and_the_stream_goes_on(agents, sent):
    async def run() -> None:
        async with agents["detection"].analyse_frames.test_context() as agent:
            await agent.put(Undecodable("not an Avro single-object record", b"xx"), key=b"s1", partition=home(b"s1"))
            await agent.put(None, key=b"s1", partition=home(b"s1"))
            await agent.put(
                frame_record("s1", 0, START_MS, "one_face"), key=b"someone-else", partition=home(b"someone-else")
            )
            await agent.put(
                frame_record("s1", 1, START_MS, "one_face", image=b"\xff\xd8 not a jpeg"),
                key=b"s1",
                partition=home(b"s1"),
            )
            await agent.put(frame_record("s1", 2, START_MS, "one_face"), key=b"s1", partition=home(b"s1"))
            await _until(lambda: sent["events"].await_count == 1)

    asyncio.run(run())
    assert _reasons(sent["dead_letter"]) == [
        "bad Frame record: not an Avro single-object record",
        "no Frame record: the value is null (a tombstone)",
        "frame key b'someone-else' is not its session id",
        "bad image: JPEG data could not be decoded (13 bytes): no readable header",
    ]
    assert {call.kwargs["value"]["stage"] for call in sent["dead_letter"].await_args_list} == {"detection"}
    observation = sent["events"].await_args.kwargs["value"]
    assert observation["frame_sequence"] == 2 and len(observation["faces"]) == 1


def test_an_unexpected_vision_error_costs_one_frame(agents, sent, monkeypatch):
    pipeline = agents["detection"].pipeline
    real = pipeline.observe_in_session

    def observe_in_session(frame, last_check):
        if frame["sequence"] == 0:
            raise RuntimeError("boom")
        return real(frame, last_check)

    monkeypatch.setattr(pipeline, "observe_in_session", observe_in_session)

    async def run() -> None:
        async with agents["detection"].analyse_frames.test_context() as agent:
            await agent.put(frame_record("s2", 0, START_MS, "one_face"), key=b"s2", partition=home(b"s2"))
            await agent.put(frame_record("s2", 1, START_MS + 200, "one_face"), key=b"s2", partition=home(b"s2"))
            await _until(lambda: sent["events"].await_count == 1)

    asyncio.run(run())
    assert _reasons(sent["dead_letter"]) == ["vision error: RuntimeError: boom"]


def test_late_and_broken_observations_become_dead_letters(agents, sent):
    start = 1_800_000_000_000

    async def run() -> None:
        async with agents["risk"].assess_observations.test_context() as agent:
            await agent.put(observation_record("s3", 0, start + 60_000), key=b"s3", partition=home(b"s3"))
            await agent.put(
                observation_record("s3", 1, start), key=b"s3", partition=home(b"s3")
            )  # 60 s behind: beyond the 30 s bound
            await agent.put(Undecodable("corrupt Observation body", b"\xc3\x01"), key=b"s3", partition=home(b"s3"))
            await agent.put(None, key=b"s3", partition=home(b"s3"))
            await agent.put(observation_record("s3", 2, start + 60_200), key=b"s3", partition=home(b"s3"))
            await _until(lambda: sent["results"].await_count == 2)

    asyncio.run(run())
    reasons = _reasons(sent["dead_letter"])
    assert reasons[0].startswith("late observation: frame #1 captured 60000 ms before")
    assert reasons[1:] == [
        "bad Observation record: corrupt Observation body",
        "no Observation record: the value is null (a tombstone)",
    ]
    assert [call.kwargs["value"]["frame_sequence"] for call in sent["results"].await_args_list] == [0, 2]


def test_a_control_record_that_cannot_be_read_is_dead_lettered(agents, sent):
    async def run() -> None:
        async with agents["risk"].control_sessions.test_context() as agent:
            await agent.put(None, key=b"s4", partition=home(b"s4"))
            await agent.put(
                Undecodable("schema fingerprint 00 is not SessionControl's", b"\xc3\x01"),
                key=b"s4",
                partition=home(b"s4"),
            )
            await _until(lambda: sent["dead_letter"].await_count == 2)

    asyncio.run(run())
    assert _reasons(sent["dead_letter"]) == [
        "no SessionControl record: the value is null (a tombstone)",
        "bad SessionControl record: schema fingerprint 00 is not SessionControl's",
    ]
    assert {call.kwargs["value"]["stage"] for call in sent["dead_letter"].await_args_list} == {"control"}


def test_an_idle_session_is_asked_to_expire_once_until_its_state_changes(agents):
    requests = ExpiryRequests()
    assert requests.due({"s5": (1_000, None)}) == ["s5"]
    assert requests.due({"s5": (1_000, None)}) == []  # still there (a ghost the expire cannot reach): not again
    assert requests.due({}) == []  # gone
    assert requests.due({"s5": (2_000, None)}) == ["s5"]  # a new frame came, and it went idle again


def test_frames_that_break_the_contract_are_refused_at_the_edge(agents, sent):
    def frame(sequence: int, **changes):
        return frame_record("s6", sequence, START_MS + 200 * max(sequence, 0), "one_face") | changes

    async def run() -> None:
        async with agents["detection"].analyse_frames.test_context() as agent:
            await agent.put(frame(0, session_id=""), key=b"", partition=home(b""))
            await agent.put(frame(-5), key=b"s6", partition=home(b"s6"))
            await agent.put(frame(1, captured_at_ms=0), key=b"s6", partition=home(b"s6"))
            await agent.put(frame(2, captured_at_ms=4_102_444_800_000), key=b"s6", partition=home(b"s6"))
            await agent.put(frame(3, width=1280), key=b"s6", partition=home(b"s6"))
            await agent.put(frame(4, candidate_id="x" * 500), key=b"s6", partition=home(b"s6"))
            await agent.put(frame(5), key=b"s6", partition=home(b"s6"))
            await _until(lambda: sent["events"].await_count == 1)

    asyncio.run(run())
    reasons = _reasons(sent["dead_letter"])
    assert reasons[0] == "session id is empty"
    assert reasons[1] == "sequence -5 is negative"
    assert reasons[2].startswith("captured_at_ms is ") and "behind the broker's timestamp" in reasons[2]
    assert "ahead of the broker's timestamp" in reasons[3]
    assert reasons[4] == "bad image: the image is 640x480, the frame declares 1280x480"
    assert reasons[5] == "candidate id is 500 characters long, over the 128 allowed"
    assert sent["events"].await_args.kwargs["value"]["frame_sequence"] == 5


def test_control_records_that_cannot_apply_are_refused(agents, sent):
    async def run() -> None:
        async with agents["risk"].control_sessions.test_context() as agent:
            start = new_session_control("s7", "start", "c", policy="lenient")
            await agent.put(start, key=b"s7", partition=home(b"s7"))
            await agent.put(new_session_control("s7", "end", "c"), key=b"s7", partition=home(b"s7"))
            await _until(lambda: sent["dead_letter"].await_count == 2)

    asyncio.run(run())
    assert _reasons(sent["dead_letter"]) == [
        "unknown policy 'lenient' (known: default, exam, interview, open-book, strict)",
        "end of session 's7', which has not started or has already ended",
    ]


def test_one_forged_frame_costs_itself_never_the_session(agents, sent):
    def frame(sequence: int, captured_at_ms: int | None = None):
        captured = START_MS + 200 * sequence if captured_at_ms is None else captured_at_ms
        return frame_record("s8", sequence, captured, "one_face")

    async def run() -> None:
        async with agents["detection"].analyse_frames.test_context() as agent:
            for sequence in range(5):
                await agent.put(frame(sequence), key=b"s8", partition=home(b"s8"))
            await agent.put(frame(10_000_000, captured_at_ms=START_MS + 1_000), key=b"s8", partition=home(b"s8"))
            await agent.put(frame(5, captured_at_ms=START_MS + 300_000), key=b"s8", partition=home(b"s8"))
            for sequence in range(5, 10):
                await agent.put(frame(sequence), key=b"s8", partition=home(b"s8"))
            await _until(lambda: sent["events"].await_count == 10)

    asyncio.run(run())
    reasons = _reasons(sent["dead_letter"])
    assert len(reasons) == 2
    assert reasons[0].startswith("sequence 10000000 jumps")
    assert reasons[1].startswith("captured_at_ms runs") and "further ahead of the session's newest frame" in reasons[1]
    # Every genuine frame after them was analysed as a new frame, not taken for a redelivery.
    observations = [call.kwargs["value"] for call in sent["events"].await_args_list]
    assert [o["frame_sequence"] for o in observations] == list(range(10))


def test_readiness_names_each_obstacle(agents):
    health = importlib.import_module("streams.web.health")
    ok = health.BrokerProbe(ok=True, detail="reachable")
    down = health.BrokerProbe(ok=False, detail="unreachable: KafkaConnectionError: no")
    ready = health.readiness(
        tables_ready=True, vision_warm=True, broker=ok, lags={"integrity.frames[0]": 1.5}, max_lag_s=30
    )
    assert ready.ready and ready.reasons == []
    behind = health.readiness(
        tables_ready=False,
        vision_warm=False,
        broker=down,
        lags={"integrity.frames[0]": 240.0, "integrity.events[0]": 2.0},
        max_lag_s=30,
        rebalancing=True,
    )
    assert not behind.ready
    assert behind.reasons == [
        "the consumer group is rebalancing (partitions moving between workers)",
        "tables recovering from their changelogs",
        "vision models warming up",
        "broker unreachable: KafkaConnectionError: no",
        "1 input partition(s) behind by more than 30 s (worst integrity.frames[0]: 240.0 s)",
    ]


def test_a_redelivered_frame_is_answered_once(agents, sent):
    redelivered = progress.redelivered
    before = dict(redelivered)

    async def run() -> None:
        async with agents["detection"].analyse_frames.test_context() as agent:
            for sequence in (0, 1, 1, 2, 0):
                record = frame_record("s9", sequence, START_MS + 200 * sequence, "one_face")
                await agent.put(record, key=b"s9", partition=home(b"s9"))
            await _until(lambda: redelivered["detection"] - before.get("detection", 0) == 2)

    asyncio.run(run())
    assert [call.kwargs["value"]["frame_sequence"] for call in sent["events"].await_args_list] == [0, 1, 2]
    assert _reasons(sent["dead_letter"]) == []


def test_a_redelivered_observation_gets_no_second_result(agents, sent):
    redelivered = progress.redelivered
    before = dict(redelivered)

    async def run() -> None:
        async with agents["risk"].assess_observations.test_context() as agent:
            for sequence in (0, 1, 0, 2, 1):
                record = observation_record("s10", sequence, START_MS + 200 * sequence)
                await agent.put(record, key=b"s10", partition=home(b"s10"))
            await _until(lambda: redelivered["risk"] - before.get("risk", 0) == 2)

    asyncio.run(run())
    assert [call.kwargs["value"]["frame_sequence"] for call in sent["results"].await_args_list] == [0, 1, 2]
    assert agents["risk"].sessions["s10"]["frames"] == 3


def test_a_flooding_session_costs_its_excess_frames_not_the_worker(agents, sent):
    async def run() -> None:
        async with agents["detection"].analyse_frames.test_context() as agent:
            for sequence in range(40):  # 40 frames 5 ms apart: 200 fps
                record = frame_record("s11", sequence, START_MS + 5 * sequence, "one_face")
                await agent.put(record, key=b"s11", partition=home(b"s11"))
            await _until(lambda: sent["events"].await_count + sent["dead_letter"].await_count == 40)

    asyncio.run(run())
    assert [call.kwargs["value"]["frame_sequence"] for call in sent["events"].await_args_list] == list(range(32))
    letters = [call.kwargs["value"] for call in sent["dead_letter"].await_args_list]
    assert len(letters) == 8 and all("faster than 15 per second" in letter["reason"] for letter in letters)
    # The excess frames' images are not copied into dead letters; their size and digest are.
    record: dict[str, Any] = {
        "topic": "t",
        "partition": 0,
        "offset": 1,
        "key": b"s11",
        "stage": "detection",
        "reason": "r",
    }
    kept = dead_letter(**record, value=b"jpeg" * 100, max_payload_bytes=0)
    assert kept["payload"] == b"" and kept["payload_size"] == 400 and len(cast(str, kept["payload_sha256"])) == 64


def test_an_end_applied_while_a_frame_is_scored_is_not_overwritten(agents, sent):
    async def slow_ack(**_: object) -> _Acknowledged:
        await asyncio.sleep(0.05)  # the broker's acknowledgement takes a while: other agents run
        return _Acknowledged()

    sent["results"].side_effect = slow_ack
    end = new_session_control("s12", "end", "c", last_sequence=3, at_ms=START_MS + 1_000)

    async def run() -> None:
        async with (
            agents["risk"].assess_observations.test_context() as scoring,
            agents["risk"].control_sessions.test_context() as controlling,
        ):
            await scoring.put(observation_record("s12", 0, START_MS), key=b"s12", partition=home(b"s12"))
            await asyncio.sleep(0.01)  # frame 0 awaits its acknowledgement...
            await controlling.put(end, key=b"s12", partition=home(b"s12"))  # ...when the end comes
            for sequence in (1, 2, 3):
                record = observation_record("s12", sequence, START_MS + 200 * sequence)
                await scoring.put(record, key=b"s12", partition=home(b"s12"))
            await _until(lambda: sent["reports"].await_count == 1, timeout_s=5)

    asyncio.run(run())
    assert sent["reports"].await_args.kwargs["value"]["frames"] == 4


def test_a_start_sets_the_screen_and_a_rebaseline_learns_the_neutral_gaze_again(agents, sent):
    behaviour = agents["risk"].behaviour
    seen: dict[str, dict] = {}

    async def run() -> None:
        control = agents["risk"].control_sessions.test_context()
        detection = agents["detection"].analyse_frames.test_context()
        async with control as agent, detection as frames:
            screen = {"screen_diagonal_in": "27", "screen_distance_cm": "70"}
            start = new_session_control("s20", "start", "c", metadata=screen)
            await agent.put(start, key=b"s20", partition=home(b"s20"))
            await _until(lambda: behaviour.get("s20") is not None)
            for sequence in range(3):  # clear frames: the baseline learns from them
                frame = frame_record("s20", sequence, START_MS + 200 * sequence, "one_face")
                await frames.put(frame, key=b"s20", partition=home(b"s20"))
            await _until(lambda: len(behaviour["s20"]["baseline"]["samples"]) == 3)
            seen["started"] = dict(behaviour["s20"]["baseline"])
            rebaseline = new_session_control("s20", "rebaseline", "c")
            await agent.put(rebaseline, key=b"s20", partition=home(b"s20"))
            await _until(lambda: not behaviour["s20"]["baseline"]["samples"])
            seen["again"] = dict(behaviour["s20"]["baseline"])
            bad = new_session_control("s20", "rebaseline", "c", metadata={"screen_distance_cm": "2"})
            unknown = new_session_control("s21", "rebaseline", "c")
            await agent.put(bad, key=b"s20", partition=home(b"s20"))
            await agent.put(unknown, key=b"s21", partition=home(b"s21"))
            await _until(lambda: sent["dead_letter"].await_count == 2)

    asyncio.run(run())
    assert seen["started"]["screen"] == {"diagonal_in": 27.0, "distance_cm": 70.0, "aspect": [16.0, 9.0]}
    assert seen["started"]["since_ms"] == START_MS
    assert seen["again"]["status"] == "collecting" and seen["again"]["since_ms"] is None
    assert seen["again"]["screen"] == seen["started"]["screen"]  # the session's screen is kept
    assert _reasons(sent["dead_letter"]) == [
        "metadata screen_distance_cm 2 is outside 20..300",
        "rebaseline of session 's21', which has not started or has already ended",
    ]


def test_reviews_are_kept_per_session_once_each_and_bad_ones_dead_lettered(agents, sent):
    reviews_agent = importlib.import_module("streams.agents.reviews")
    table = reviews_agent.reviews

    def review(review_id: str, decision: str, **changes) -> dict:
        record = {
            "session_id": "s30",
            "review_id": review_id,
            "decision": decision,
            "event_id": f"s30:face_absent:{START_MS}",
            "behaviour": "face_absent",
            "started_at_ms": START_MS,
            "ended_at_ms": START_MS + 4000,
            "policy": "default@2",
            "reviewer": "rev-1",
            "note": "",
            "at_ms": now_ms(),
        }
        return record | changes

    async def run() -> None:
        async with reviews_agent.keep_reviews.test_context() as agent:
            for record in (
                review("r1", "confirmed"),
                review("r2", "dismissed", behaviour="talking"),
                review("r1", "dismissed", note="looked again"),  # the same review, changed
                review("r3", "confirmed", reviewer=""),
            ):
                await agent.put(record, key=b"s30", partition=home(b"s30"))
            await _until(lambda: sent["dead_letter"].await_count == 1)
            await _until(lambda: len(table.get("s30") or []) == 2 and table["s30"][-1]["review_id"] == "r1")

    asyncio.run(run())
    kept = table.get("s30")
    assert [(r["review_id"], r["decision"]) for r in kept] == [("r2", "dismissed"), ("r1", "dismissed")]
    assert _reasons(sent["dead_letter"]) == ["reviewer is empty"]


def test_an_observation_whose_result_was_not_sent_is_answered_again_alike(agents, sent):
    # The Result of frame 1 fails to reach the broker: the record is not acknowledged, so it comes
    # again; its sequence is answered, and the Result kept in the state is sent again, identical.
    redelivered = progress.redelivered
    before = dict(redelivered)

    def send(*args: Any, **kwargs: Any) -> Any:
        if kwargs["value"]["frame_sequence"] == 1 and sent["results"].call_count == 2:
            failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            failed.set_exception(OSError("the broker went away"))
            return failed
        return _Acknowledged()

    sent["results"].side_effect = send

    async def run() -> None:
        async with agents["risk"].assess_observations.test_context() as agent:
            for sequence in (0, 1, 2, 1):
                record = observation_record("s-unsent", sequence, START_MS + 200 * sequence)
                await agent.put(record, key=b"s-unsent", partition=home(b"s-unsent"))
            await _until(lambda: redelivered["risk"] - before.get("risk", 0) == 1)

    asyncio.run(run())
    results = [call.kwargs["value"] for call in sent["results"].await_args_list]
    assert [result["frame_sequence"] for result in results] == [0, 1, 2, 1]
    assert results[3] == results[1]
    assert agents["risk"].sessions["s-unsent"]["frames"] == 3
