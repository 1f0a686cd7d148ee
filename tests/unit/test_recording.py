"""``integrity record`` and ``integrity replay`` without a broker: the order a recording is written in,
the filters, and what a replay publishes (a stand-in publisher takes the records)."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime
from typing import ClassVar, cast

import pytest

from schemas import codec_for
from schemas.records import Frame, Observation, Recorded, SessionControl, new_frame, new_session_control
from streams.cli.main import main
from streams.recording import replay as replay_module
from streams.recording.format import RecordingWriter, kind_of
from streams.recording.record import FilterError, order_key, parse_time, record_filter
from streams.recording.replay import ReplayOptions, due_s, moved, replay
from streams.settings import IngressSettings, load_settings
from streams.validation import control_refusal, frame_refusal, note_received, session_refusal
from tests.helpers.frames import observation_record

T0 = 1_780_000_000_000  # a broker time of the recorded session


def _recorded(value, timestamp_ms: int, topic: str = "t", offset: int = 0) -> Recorded:
    return {
        "topic": topic,
        "partition": 0,
        "offset": offset,
        "timestamp_ms": timestamp_ms,
        "session_id": value["session_id"],
        "value": value,
    }


def _frame(session: str, sequence: int, captured_at_ms: int):
    return new_frame(session, sequence, b"\xff\xd8jpeg", width=640, height=480, captured_at_ms=captured_at_ms)


def _control(session: str, action, at_ms: int, **fields):
    return new_session_control(session, action, "cand", at_ms=at_ms, **fields)


# -- the order of a recording ------------------------------------------------------------------------


def test_records_are_ordered_by_broker_time_and_ties_put_start_first_end_last():
    s = "s1"
    expected = [
        _recorded(_control(s, "start", T0), T0, "control"),
        _recorded(_frame(s, 0, T0), T0, "frames"),
        _recorded(observation_record(s, 0, T0), T0, "events"),
        _recorded(_frame(s, 1, T0 + 200), T0, "frames"),
        _recorded(observation_record(s, 1, T0 + 200), T0, "events"),
        _recorded(_control(s, "end", T0 + 200, last_sequence=1), T0, "control"),
        _recorded(_frame(s, 2, T0 + 400), T0 + 1, "frames"),  # a later broker time goes after the end
    ]
    shuffled = expected[:]
    random.Random(3).shuffle(shuffled)
    assert sorted(shuffled, key=order_key) == expected


def test_each_session_keeps_its_broker_time_order_when_sessions_interleave():
    records = [
        _recorded(_frame(session, sequence, T0 + 200 * sequence), T0 + 200 * sequence + lag, "frames", sequence)
        for session, lag in (("a", 7), ("b", 90))
        for sequence in range(5)
    ]
    ordered = sorted(reversed(records), key=order_key)
    for session in ("a", "b"):
        mine = [r for r in ordered if r["session_id"] == session]
        assert [r["value"]["sequence"] for r in mine] == list(range(5))  # type: ignore[typeddict-item]
    assert [r["timestamp_ms"] for r in ordered] == sorted(r["timestamp_ms"] for r in records)


# -- filters --------------------------------------------------------------------------------------------


def test_times_are_iso_8601_or_epoch_milliseconds():
    utc = datetime(2026, 3, 1, 14, 30, tzinfo=UTC)
    expected = int(utc.timestamp() * 1000)
    assert parse_time("2026-03-01T14:30:00Z") == expected
    assert parse_time("2026-03-01T15:30:00+01:00") == expected
    assert parse_time(str(expected)) == expected
    assert parse_time("2026-03-01T14:30:00") == int(datetime(2026, 3, 1, 14, 30).timestamp() * 1000)  # local time


@pytest.mark.parametrize(
    ("text", "says"), [("1772375400", "epoch seconds"), ("yesterday", "neither"), ("2026-13-01", "neither")]
)
def test_a_time_that_is_not_one_is_refused_saying_why(text, says):
    with pytest.raises(FilterError, match=says):
        parse_time(text)


def test_the_filter_keeps_the_named_sessions_within_the_time_range():
    chosen = record_filter(["a", "b"], since=str(T0), until=str(T0 + 1000))
    assert chosen.matches("a", T0) and chosen.matches("b", T0 + 1000)
    assert not chosen.matches("c", T0 + 10)
    assert not chosen.matches("a", T0 - 1) and not chosen.matches("a", T0 + 1001)
    everything = record_filter(everything=True)
    assert everything.matches("any", 0)
    assert record_filter(since="2026-03-01T00:00:00Z").matches("any", T0)


def test_no_filter_at_all_is_refused_and_so_is_all_with_a_filter():
    with pytest.raises(FilterError, match="--all"):
        record_filter()
    with pytest.raises(FilterError, match="--all"):
        record_filter(["a"], everything=True)
    with pytest.raises(FilterError, match="after --until"):
        record_filter(since=str(T0 + 1), until=str(T0))


def test_the_record_command_refuses_to_run_without_a_filter(tmp_path, capsys):
    out = tmp_path / "r.avro"
    assert main(["record", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "--session" in captured.err and "--all" in captured.err and captured.out == ""
    assert not out.exists()


# -- replay: what is published ------------------------------------------------------------------------


class FakePublisher:
    """Takes what a replay sends: (topic, key, decoded value, timestamp_ms)."""

    sent: ClassVar[list[tuple[str, str, dict, int]]] = []
    send_s = 0.0

    def __init__(self, *args: object) -> None:
        FakePublisher.sent = []

    async def __aenter__(self) -> FakePublisher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def send_raw(self, topic: str, session_id: str, value: bytes, *, timestamp_ms: int) -> None:
        name = {"frames": "Frame", "events": "Observation"}.get(topic.rsplit(".", 1)[-1], "SessionControl")
        self.sent.append((topic, session_id, codec_for(name).decode(value), timestamp_ms))
        await asyncio.sleep(self.send_s)


@pytest.fixture
def publisher(monkeypatch):
    monkeypatch.setattr(replay_module, "SessionPublisher", FakePublisher)
    monkeypatch.setattr(FakePublisher, "send_s", 0.0)
    return FakePublisher


def _write(path, content, records: list[Recorded]):
    with RecordingWriter(path, content, {r["session_id"] for r in records}) as writer:
        for recorded in sorted(records, key=order_key):
            writer.write(recorded)
    return path


def _observation_with_events(session: str, sequence: int, captured: int):
    since = captured - 3000
    return observation_record(
        session,
        sequence,
        captured,
        conditions=[
            {"type": "face_absent", "confidence": 0.9, "since_ms": since, "until_ms": None},
            {"type": "looking_away", "confidence": 0.8, "since_ms": since - 500, "until_ms": captured - 100},
        ],
        events=[
            {
                "event_id": f"{session}:face_absent:{since}",
                "session_id": session,
                "frame_sequence": sequence,
                "type": "face_absent",
                "confidence": 0.9,
                "started_at_ms": since,
                "ended_at_ms": None,
                "details": {},
            },
            {
                "event_id": f"{session}:looking_away:{since - 500}",
                "session_id": session,
                "frame_sequence": sequence,
                "type": "looking_away",
                "confidence": 0.8,
                "started_at_ms": since - 500,
                "ended_at_ms": captured - 100,
                "details": {},
            },
        ],
    )


def test_every_time_of_a_record_moves_by_the_same_offset_and_the_recording_is_untouched():
    observation = _observation_with_events("s1", 4, T0 + 800)
    recorded = _recorded(observation, T0 + 850)
    before = repr(recorded)
    shifted = cast(Observation, moved(recorded, 12_345, "p-"))
    assert repr(recorded) == before
    assert shifted["session_id"] == "p-s1"
    assert shifted["captured_at_ms"] == T0 + 800 + 12_345
    assert shifted["observed_at_ms"] == observation["observed_at_ms"] + 12_345
    conditions = shifted["conditions"]
    assert [(c["since_ms"], c["until_ms"]) for c in conditions] == [
        (T0 - 2200 + 12_345, None),
        (T0 - 2700 + 12_345, T0 + 700 + 12_345),
    ]
    events = shifted["events"]
    assert [(e["started_at_ms"], e["ended_at_ms"]) for e in events] == [
        (T0 - 2200 + 12_345, None),
        (T0 - 2700 + 12_345, T0 + 700 + 12_345),
    ]
    assert [e["event_id"] for e in events] == [
        f"p-s1:face_absent:{T0 - 2200 + 12_345}",
        f"p-s1:looking_away:{T0 - 2700 + 12_345}",
    ]
    assert {e["session_id"] for e in events} == {"p-s1"}
    assert cast(Frame, moved(_recorded(_frame("s1", 0, T0), T0), -5))["captured_at_ms"] == T0 - 5
    assert cast(SessionControl, moved(_recorded(_control("s1", "start", T0), T0), 7))["at_ms"] == T0 + 7


def _session(session: str, frames: int, start_ms: int, lag_ms: int = 40) -> list[Recorded]:
    """A recorded session: start, frames at 5 per second with their observations, end."""
    records = [_recorded(_control(session, "start", start_ms), start_ms + lag_ms, "control")]
    for sequence in range(frames):
        captured = start_ms + 200 * sequence
        records.append(_recorded(_frame(session, sequence, captured), captured + lag_ms, "frames"))
        records.append(_recorded(observation_record(session, sequence, captured), captured + lag_ms + 30, "events"))
    end_ms = start_ms + 200 * frames
    records.append(_recorded(_control(session, "end", end_ms, last_sequence=frames - 1), end_ms + lag_ms, "control"))
    return records


def test_a_frames_replay_sends_control_and_frames_renamed_and_moved_to_now(tmp_path, publisher):
    records = _session("a", 5, T0) + _session("b", 3, T0 + 500, lag_ms=90)
    records.append(_recorded(_control("a", "expire", T0 + 5000, source="timer"), T0 + 5000, "control"))
    path = _write(tmp_path / "r.avro", "frames", records)
    settings = load_settings({"INTEGRITY_NAMESPACE": "trial"})
    before = int(time.time() * 1000)
    summary = asyncio.run(replay(settings, [path], ReplayOptions(speed=None, session_prefix="x-")))
    sent = publisher.sent
    assert {topic for topic, *_ in sent} == {"trial.integrity.session-control", "trial.integrity.frames"}
    assert summary.sent == {"control": 4, "frame": 8} and summary.not_sent == {"observation": 8, "control": 1}
    assert summary.sessions == {"x-a", "x-b"}
    for session, count in (("a", 5), ("b", 3)):
        mine = [(value, ts) for _, key, value, ts in sent if key == f"x-{session}"]
        assert all(value["session_id"] == f"x-{session}" for value, _ in mine)
        originals = [r for r in records if r["session_id"] == session and kind_of(r) != "observation"][: count + 2]
        offsets = {ts - r["timestamp_ms"] for (_, ts), r in zip(mine, originals, strict=True)}
        assert len(offsets) == 1  # one offset per session: spacing kept
        offset = offsets.pop()
        times = [value.get("captured_at_ms", value.get("at_ms")) for value, _ in mine]
        assert times == [r["value"].get("captured_at_ms", r["value"].get("at_ms")) + offset for r in originals]
        assert before <= mine[0][1] <= int(time.time() * 1000)  # its first record lands now
        assert [v["sequence"] for v, _ in mine if "sequence" in v] == list(range(count))


def test_an_observations_recording_replays_its_observations_to_the_events_topic(tmp_path, publisher):
    path = _write(tmp_path / "r.avro", "observations", [r for r in _session("a", 4, T0) if kind_of(r) != "frame"])
    asyncio.run(replay(load_settings({}), [path], ReplayOptions(speed=None)))
    topics = [topic for topic, *_ in publisher.sent]
    assert topics == ["integrity.session-control", *["integrity.events"] * 4, "integrity.session-control"]


def test_pacing_follows_broker_time_from_the_start_so_slow_sends_do_not_add_up(tmp_path, publisher):
    publisher.send_s = 0.06
    records = [_recorded(_frame("a", i, T0 + 100 * i), T0 + 100 * i, "frames") for i in range(8)]
    path = _write(tmp_path / "r.avro", "frames", records)
    started = time.monotonic()
    asyncio.run(replay(load_settings({}), [path], ReplayOptions(speed=1.0)))
    elapsed = time.monotonic() - started
    assert 0.7 <= elapsed < 1.1  # 0.7 s recorded; frame to frame it would take 8 x (0.1 + 0.06)
    assert due_s(T0 + 10_000, T0, 10.0) == 1.0 and due_s(T0 + 10_000, T0, None) == 0.0


def test_a_fast_replay_of_a_long_session_is_not_refused_by_the_workers_clock_checks(tmp_path, publisher):
    """12 minutes at 1 frame/s, with a 15 s gap, replayed as fast as possible. Sent with the time of
    sending as broker time, its frames beyond the clock-skew bound (10 min) would be refused, and the
    frame after the gap by the clock-drift check: the replay moves the Kafka timestamps with the
    capture times, so the worker sees the timeline it saw live."""
    captured = [T0 + 1000 * i for i in range(720)]
    captured[400:] = [t + 15_000 for t in captured[400:]]
    records = [_recorded(_control("long", "start", T0), T0 + 20, "control")]
    records += [_recorded(_frame("long", i, t), t + 20, "frames") for i, t in enumerate(captured)]
    records.append(_recorded(_control("long", "end", captured[-1], last_sequence=719), captured[-1] + 40, "control"))
    path = _write(tmp_path / "long.avro", "frames", records)
    asyncio.run(replay(load_settings({}), [path], ReplayOptions(speed=None)))
    limits, policies = IngressSettings(), {"default"}

    def refusals(broker_time) -> list[str]:
        reasons, state = [], None
        for _, _, value, timestamp_ms in publisher.sent:
            received = broker_time(timestamp_ms)
            if "action" in value:
                reasons.append(control_refusal(value, received, limits, policies))
                continue
            reasons.append(frame_refusal(value, received, limits) or session_refusal(state, value, received, limits))
            if reasons[-1] is None:
                state = (state or {}) | {"last_sequence": value["sequence"], "last_ms": value["captured_at_ms"]}
                note_received(state, received)
        return [r for r in reasons if r]

    assert refusals(lambda timestamp_ms: timestamp_ms) == []
    sent_at = publisher.sent[0][3]
    as_sent = refusals(lambda _: sent_at)  # what the worker would see with broker time = time of sending
    assert any("further ahead of the session's newest frame" in r for r in as_sent)
    assert any("ahead of the broker's timestamp" in r for r in as_sent)
