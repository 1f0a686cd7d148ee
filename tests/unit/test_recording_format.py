"""Recordings are Avro container files any Avro library reads: fastavro and Apache ``avro`` alike."""

from __future__ import annotations

from typing import Any, cast

import avro.datafile
import avro.io

from schemas.records import Recorded, new_session_control
from streams.recording.format import RecordingWriter, kind_of, read_recording
from tests.helpers.frames import frame_record, observation_record


def _recorded(value, offset: int) -> Recorded:
    return {
        "topic": "t",
        "partition": 0,
        "offset": offset,
        "timestamp_ms": 1000 + offset,
        "session_id": "s1",
        "value": value,
    }


def test_a_recording_reads_back_in_order_with_each_kind(tmp_path):
    records = [
        _recorded(new_session_control("s1", "start", "c1"), 0),
        _recorded(frame_record("s1", 0, 5_000, "one_face"), 1),
        _recorded(observation_record("s1", 0, 5_000), 2),
    ]
    path = tmp_path / "r.avro"
    with RecordingWriter(path, "frames", ["s1"]) as writer:
        for record in records:
            writer.write(record)
    info, read = read_recording(path)
    assert (info.content, info.sessions) == ("frames", ("s1",))
    back = list(read)
    assert [kind_of(r) for r in back] == ["control", "frame", "observation"]
    assert back == records


def test_apache_avro_reads_a_recording_without_our_code(tmp_path):
    path = tmp_path / "r.avro"
    with RecordingWriter(path, "observations", ["s1"]) as writer:
        writer.write(_recorded(observation_record("s1", 3, 7_000), 9))
    with path.open("rb") as file, avro.datafile.DataFileReader(file, avro.io.DatumReader()) as reader:
        assert reader.get_meta("integrity.content") == b"observations"
        (record,) = cast(list[dict[str, Any]], list(reader))
    assert record["offset"] == 9 and record["value"]["frame_sequence"] == 3
