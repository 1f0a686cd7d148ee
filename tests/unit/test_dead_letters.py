"""The dead-letter topic read back (streams.kafka.dead_letters, ``integrity dead-letters``) without a broker:
ids, selections, grouping, what can be replayed, what ``show`` prints (never image bytes), the ledger's
entries, and the replay decisions that need no broker."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest

from schemas import codec_for
from schemas.records import DeadLetter, new_frame
from streams.cli.dead_letters import _lines
from streams.cli.main import main
from streams.kafka.dead_letters import (
    DeadLetterId,
    Replay,
    Selection,
    StoredDeadLetter,
    described,
    grouped,
    reason_kind,
    replay,
)
from streams.settings import load_settings
from streams.worker.dead_letters import dead_letter

SETTINGS = load_settings({})
TOPIC = SETTINGS.topics.dead_letter  # integrity.dead-letter: a dash in the name, as ids are split on dashes
IMAGE = bytes(range(256)) * 40  # 10 KiB standing in for a JPEG; the test looks for it in what is printed


def stored(
    offset: int,
    *,
    reason: str = "the image is 10240 bytes, over the 1000 allowed",
    source: str = "integrity.frames",
    at_ms: int = 1_700_000_000_000,
    value: bytes | None = b"abc",
    max_payload: int = 512 * 1024,
    stage: str = "detection",
    partition: int = 0,
) -> StoredDeadLetter:
    record: DeadLetter = dead_letter(
        topic=source,
        partition=3,
        offset=100 + offset,
        key=b"s-1",
        value=value,
        stage=stage,
        reason=reason,
        max_payload_bytes=max_payload,
    )
    record["failed_at_ms"] = at_ms
    payload = record["payload"]
    return StoredDeadLetter(
        DeadLetterId(TOPIC, partition, offset),
        at_ms + 5,
        (("trace", b"abc"),),
        200,
        record,
        len(payload) if payload is not None else 0,
    )


def test_an_id_is_where_the_dead_letter_sits_and_reads_back():
    wanted = DeadLetterId(TOPIC, 2, 17)
    assert str(wanted) == "integrity.dead-letter-2-17"
    assert DeadLetterId.parse(str(wanted), TOPIC) == wanted
    assert DeadLetterId.parse("2-17", TOPIC) == wanted  # short: on the dead-letter topic
    assert DeadLetterId.parse(" integrity.dead-letter-2-17 ", TOPIC) == wanted


@pytest.mark.parametrize("text", ["17", "2-x", "a-b-c", "", "integrity.frames-2-17", "dead-letter-2-17", "2--17"])
def test_anything_else_is_refused_in_words(text: str):
    with pytest.raises(ValueError, match=r"dead letter|dead-letter topic"):
        DeadLetterId.parse(text, TOPIC)


def test_a_selection_matches_ids_times_reason_and_source():
    letter = stored(4, at_ms=2_000)
    assert not Selection().narrowed and Selection().matches(letter)
    assert Selection(ids=frozenset({letter.id})).matches(letter)
    assert not Selection(ids=frozenset({DeadLetterId(TOPIC, 0, 5)})).matches(letter)
    assert Selection(since_ms=2_000, until_ms=2_000).matches(letter)
    assert not Selection(since_ms=2_001).matches(letter) and not Selection(until_ms=1_999).matches(letter)
    assert Selection(reason="OVER THE").matches(letter) and not Selection(reason="sequence").matches(letter)
    assert Selection(source="integrity.frames").matches(letter)
    assert not Selection(source="integrity.frames.x").matches(letter)
    assert Selection(reason="x").narrowed


def test_only_a_record_kept_whole_can_be_replayed():
    assert stored(0).not_replayable is None
    assert stored(0, value=b"").not_replayable is None  # empty bytes are all there
    assert "tombstone" in (stored(0, value=None).not_replayable or "")
    assert "not kept" in (stored(0, max_payload=0).not_replayable or "")  # a flood's excess frames
    cut = stored(0, value=b"x" * 100, max_payload=60).not_replayable
    assert cut is not None and "only 60 of its 100 bytes" in cut


def test_the_listing_counts_by_source_stage_and_kind_of_reason_with_first_and_last():
    letters = [
        stored(0, at_ms=3_000),
        stored(1, reason="the image is 99999 bytes, over the 1000 allowed", at_ms=1_000),
        stored(2, reason="bad image: not a JPEG", at_ms=2_000),
        stored(3, reason="bad Frame record: unknown fingerprint 'ab'", source="integrity.frames", at_ms=500),
        stored(4, reason="the image is 5 bytes, over the 1 allowed", stage="detection", source="ns.frames"),
    ]
    replays = {str(letters[1].id): Replay(str(letters[1].id), 9, "integrity.frames[3]@120")}
    groups = grouped(letters, replays)
    top = groups[0]
    assert (top.source_topic, top.stage, top.reason) == (
        "integrity.frames",
        "detection",
        reason_kind(letters[0].record["reason"]),
    )
    assert (top.count, top.replayed, top.first_ms, top.last_ms, top.latest) == (2, 1, 1_000, 3_000, str(letters[0].id))
    assert top.reason == "the image is _ bytes, over the _ allowed"
    assert sum(group.count for group in groups) == 5 and len(groups) == 4
    assert {group.reason for group in groups} >= {"bad image", "bad Frame record"}
    assert json.loads(json.dumps(top.as_dict()))["latest"] == "integrity.dead-letter-0-0"


def test_show_says_everything_but_the_image_bytes():
    frame = new_frame("s-1", 7, IMAGE, width=64, height=48, captured_at_ms=1_700_000_000_000)
    value = codec_for("Frame").encode(frame)
    letter = stored(9, value=value)
    about = described(letter, SETTINGS, Replay(str(letter.id), 1_700_000_001_000, "integrity.frames[3]@130"))
    text = json.dumps(about)  # no bytes left: a bytes value would not serialise
    assert about["record"]["type"] == "Frame" and about["record"]["value"]["sequence"] == 7
    assert about["record"]["value"]["image"] == {"bytes": len(IMAGE), "sha256": hashlib.sha256(IMAGE).hexdigest()}
    assert about["payload"] == {
        "size": len(value),
        "kept": len(value),
        "sha256": hashlib.sha256(value).hexdigest(),
        "kept_sha256": hashlib.sha256(value).hexdigest(),
    }
    assert about["key"] == "s-1" and about["headers"] == {"trace": "abc"}
    assert about["source"] == {"topic": "integrity.frames", "partition": 3, "offset": 109}
    assert about["replayed"] == {"at_ms": 1_700_000_001_000, "to": "integrity.frames[3]@130"}
    printed = "\n".join(f"{name} {line}" for name, line in _lines(about))
    for shown in (text, printed):
        assert IMAGE[:64].hex() not in shown and repr(IMAGE[:16])[2:-1] not in shown
    assert "replayed 2023-11-14T22:13:21Z to integrity.frames[3]@130" in printed


def test_show_of_a_cut_or_binary_record_gives_sizes_and_digests():
    letter = stored(1, value=b"\xc3\x01" + IMAGE, max_payload=1000)
    about = described(letter, SETTINGS, None)
    assert about["record"] is None and about["replayable"] is False
    assert about["payload"]["kept"] == 1000 and about["payload"]["size"] == len(IMAGE) + 2
    assert "impossible: only 1000 of its" in dict(_lines(about))["replay"]
    binary = described(stored(2, value=b"\xff\xfe\x00"), SETTINGS, None)
    assert binary["record"] is None and binary["replayable"]


def test_a_ledger_entry_reads_back():
    entry = Replay("integrity.dead-letter-0-1", 123, "integrity.frames[2]@9", "ab" * 32)
    assert Replay.from_value(entry.value()) == entry


def test_what_needs_no_broker_is_decided_without_one():
    whole, cut, done = stored(0), stored(1, max_payload=0), stored(2)
    replays = {str(done.id): Replay(str(done.id), 1, "integrity.frames[3]@9")}
    # Nothing left to publish: no client is started (there is no broker here to start one against).
    summary = asyncio.run(replay(SETTINGS, [cut, done], replays))
    assert [(o.id, o.verdict) for o in summary.outcomes] == [(cut.id, "not replayable"), (done.id, "already replayed")]
    dry = asyncio.run(replay(SETTINGS, [whole, cut, done], replays, dry_run=True))
    assert [o.verdict for o in dry.outcomes] == ["would replay", "not replayable", "already replayed"]
    assert dry.count("would replay") == 1


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["dead-letters", "replay"], "say what to replay"),
        (["dead-letters", "replay", "--all", "--reason", "x"], "give it alone"),
        (["dead-letters", "replay", "--since", "yesterday"], "neither epoch milliseconds nor an ISO-8601 time"),
        (["dead-letters", "replay", "0-1", "--since", "2026-03-02", "--until", "2026-03-01"], "is after --until"),
        (["dead-letters", "show", "integrity.frames-0-1"], "is not on the dead-letter topic"),
        (["dead-letters", "list", "--until", "12"], "epoch seconds"),
    ],
)
def test_a_selection_that_says_nothing_or_is_wrong_is_refused_in_one_line(argv, said, capsys):
    assert main(["--bootstrap-servers", "127.0.0.1:9", *argv]) == 2  # refused before any broker is asked
    err = capsys.readouterr().err.strip()
    assert said in err and "\n" not in err and err.startswith("integrity dead-letters")


def test_the_listing_a_person_reads(monkeypatch, capsys):
    letters = [stored(0, at_ms=1_700_000_000_000), stored(1, at_ms=1_700_000_060_000)]
    replays = {str(letters[0].id): Replay(str(letters[0].id), 1, "integrity.frames[3]@200")}
    monkeypatch.setattr("streams.cli.dead_letters._read", lambda *args, **kwargs: (letters, replays))
    assert main(["dead-letters", "list"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[:4] == ["count", "replayed", "first", "last"]
    assert row.split()[:4] == ["2", "1", "2023-11-14T22:13:20Z", "2023-11-14T22:14:20Z"]
    assert row.endswith(
        "integrity.frames / detection: the image is _ bytes, over the _ allowed (integrity.dead-letter-0-1)"
    )
    assert main(["dead-letters", "list", "--each"]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith("integrity.dead-letter-0-0  2023-11-14T22:13:20Z  integrity.frames[3]@100  detection  3 B")
    assert first.endswith("over the 1000 allowed  replayed to integrity.frames[3]@200")
    assert "replayed" not in second
