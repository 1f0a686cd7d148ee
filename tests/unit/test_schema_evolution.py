"""Schema evolution: records written with a past version of a record type (kept in schemas/history/ by
fingerprint) are read into the current version; unknown versions are refused, naming the known ones."""

from __future__ import annotations

import io
from typing import Any, cast

import avro.io
import avro.schema
import pytest

from schemas import HISTORY_DIR, RecordDecodeError, codec_for
from schemas.published import TOP_LEVEL
from schemas.records import Gaze
from tests.unit.test_schemas import OBSERVATION, REPORT, RESULT


def _previous(name: str, fingerprint: str) -> avro.schema.Schema:
    return avro.schema.parse((HISTORY_DIR / f"integrity.{name}.{fingerprint}.avsc").read_text())


def _written_by_an_old_producer(schema: avro.schema.Schema, record: dict) -> bytes:
    """What a producer still on the old schema sends, encoded by Apache avro."""
    out = io.BytesIO()
    out.write(b"\xc3\x01" + schema.fingerprint("CRC-64-AVRO"))
    avro.io.DatumWriter(schema).write(record, avro.io.BinaryEncoder(out))
    return out.getvalue()


def test_a_frame_of_the_previous_version_is_read_with_the_new_fields_defaulted():
    old = {
        "session_id": "s1",
        "candidate_id": "c1",
        "sequence": 7,
        "captured_at_ms": 1_800_000_000_000,
        "image": b"\xff\xd8\xff",
        "encoding": "JPEG",
        "width": 640,
        "height": 480,
        "source": "old-platform",
    }
    data = _written_by_an_old_producer(_previous("Frame", "468bafffc8ff7317"), old)
    assert data[2:10] != codec_for("Frame").fingerprint
    assert codec_for("Frame").decode(data) == old | {"metadata": {}}


def test_a_session_control_of_the_previous_version_is_read_with_the_new_fields_defaulted():
    old = {
        "session_id": "s1",
        "action": "end",
        "candidate_id": "c1",
        "policy": "strict",
        "at_ms": 1_800_000_000_000,
        "metadata": {},
        "last_sequence": 41,
    }
    data = _written_by_an_old_producer(_previous("SessionControl", "103517f3a1fd67f7"), old)
    assert codec_for("SessionControl").decode(data) == old | {"source": ""}
    # The version before `rebaseline` was an action: its records read as they were.
    newer = old | {"source": "platform"}
    data = _written_by_an_old_producer(_previous("SessionControl", "3655c3647337fa93"), newer)
    assert codec_for("SessionControl").decode(data) == newer


def test_results_reports_and_observations_of_the_previous_version_read_with_the_new_fields_defaulted():
    added: dict[str, object] = {
        "policy": "",
        "gaze_off_screen": None,
        "gaze_yaw_deg": None,
        "gaze_pitch_deg": None,
        "gaze_baseline": "none",
        "unassessable_s": 0.0,
        "unassessable_share": 0.0,
    }
    result = {name: value for name, value in RESULT.items() if name not in added}
    data = _written_by_an_old_producer(_previous("Result", "cd600d63a2fc18e4"), result)
    assert codec_for("Result").decode(data) == result | added

    added = {"unassessable_s": 0.0, "unassessable_share": 0.0, "quality_s": {}}
    report = {name: value for name, value in REPORT.items() if name not in added}
    data = _written_by_an_old_producer(_previous("FinalReport", "8dbdaaec46b15ba3"), report)
    assert codec_for("FinalReport").decode(data) == report | added

    added = {"contrast": None, "sharpness": None, "frame_digest": ""}
    observation: dict[str, Any] = {name: value for name, value in OBSERVATION.items() if name not in added}
    observation["gaze"] = {
        k: v
        for k, v in cast(Gaze, OBSERVATION["gaze"]).items()
        if k not in ("eye_yaw_deg", "eye_pitch_deg", "baseline")
    }
    data = _written_by_an_old_producer(_previous("Observation", "29e738d533498cee"), observation)
    gaze = observation["gaze"] | {"eye_yaw_deg": 0.0, "eye_pitch_deg": 0.0, "baseline": "none"}
    assert codec_for("Observation").decode(data) == observation | added | {"gaze": gaze}


def test_history_files_are_named_by_their_fingerprint_and_none_is_current():
    for path in HISTORY_DIR.glob("*.avsc"):
        name, fingerprint = path.name.split(".")[1:3]
        assert name in TOP_LEVEL
        parsed = avro.schema.parse(path.read_text())
        assert parsed.fingerprint("CRC-64-AVRO").hex() == fingerprint
        assert bytes.fromhex(fingerprint) in codec_for(name).past_versions
        assert bytes.fromhex(fingerprint) != codec_for(name).fingerprint


def test_an_unknown_version_is_refused_naming_the_known_ones():
    data = b"\xc3\x01" + bytes(8) + b"\x00"
    with pytest.raises(RecordDecodeError, match="is not a known version of Frame") as refused:
        codec_for("Frame").decode(data)
    assert codec_for("Frame").fingerprint.hex() in str(refused.value)
    assert all(fp.hex() in str(refused.value) for fp in codec_for("Frame").past_versions)
