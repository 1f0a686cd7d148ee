import pytest

from schemas import RecordDecodeError, codec_for
from schemas.records import DeadLetter, Event, FinalReport, Observation, Result, SessionControl
from streams.worker.serializers import AvroCodec, Undecodable
from tests.helpers.frames import frame_record

EVENT: Event = {
    "event_id": "s1:3:face_absent",
    "session_id": "s1",
    "frame_sequence": 3,
    "type": "face_absent",
    "confidence": 0.9,
    "started_at_ms": 1_700_000_000_000,
    "ended_at_ms": None,
    "details": {"face_count": "0"},
}
OBSERVATION: Observation = {
    "session_id": "s1",
    "candidate_id": "c1",
    "frame_sequence": 3,
    "captured_at_ms": 1_700_000_000_000,
    "observed_at_ms": 1_700_000_000_010,
    "brightness": 110.5,
    "too_dark": False,
    "image_too_small": False,
    "contrast": 55.5,
    "sharpness": 1200.0,
    "frame_digest": "0123456789abcdef",
    "faces": [{"confidence": 0.9, "x": 0.1, "y": 0.2, "width": 0.3, "height": 0.4, "too_small": False}],
    "head_pose": {"yaw": 12.0, "pitch": 8.0, "roll": -2.0},
    "gaze": {
        "direction": "right",
        "off_screen": 0.6,
        "yaw_deg": 24.0,
        "pitch_deg": 1.0,
        "eyes_closed": False,
        "eye_aspect_ratio": 0.31,
        "mouth_open_ratio": 0.02,
        "eye_yaw_deg": 9.5,
        "eye_pitch_deg": -8.0,
        "baseline": "set",
    },
    "objects": None,
    "objects_status": "skipped",
    "timings_ms": {"decode": 1.0, "faces": 4.0, "total": 5.0},
    "conditions": [{"type": "looking_away", "confidence": 0.6, "since_ms": 1_699_999_998_000, "until_ms": None}],
    "events": [EVENT],
}
RESULT: Result = {
    "session_id": "s1",
    "candidate_id": "c1",
    "frame_sequence": 3,
    "captured_at_ms": 1_700_000_000_000,
    "timestamp_ms": 1_700_000_000_020,
    "cheating": False,
    "risk_score": 12.5,
    "attention": 88.0,
    "verdict": "clear",
    "confidence": 0.8,
    "reasons": [{"event_type": "face_absent", "share": 1.0}],
    "gaze": "center",
    "conditions": ["phone_visible"],
    "face_count": 1,
    "objects": [{"label": "cell phone", "confidence": 0.7, "x": 0.0, "y": 0.0, "width": 0.1, "height": 0.1}],
    "objects_status": "checked",
    "recent_events": [EVENT],
    "processing_time_ms": 6.5,
    "final": False,
    "policy": "default@2",
    "gaze_off_screen": 0.1,
    "gaze_yaw_deg": 3.5,
    "gaze_pitch_deg": -1.25,
    "gaze_baseline": "set",
    "unassessable_s": 1.5,
    "unassessable_share": 0.05,
}
CONTROL: SessionControl = {
    "session_id": "s1",
    "action": "end",
    "candidate_id": "c1",
    "policy": "default",
    "at_ms": 1_700_000_000_000,
    "metadata": {"room": "7"},
    "last_sequence": 41,
    "source": "platform",
}
REPORT: FinalReport = {
    "session_id": "s1",
    "candidate_id": "c1",
    "policy": "default@2",
    "reason": "expired",
    "started_at_ms": 1_700_000_000_000,
    "ended_at_ms": 1_700_000_600_000,
    "reported_at_ms": 1_700_001_500_000,
    "frames": 3000,
    "observed_s": 600.0,
    "verdict": "review",
    "confidence": 0.7,
    "cheating": False,
    "final_risk_score": 35.0,
    "peak_risk_score": 58.0,
    "mean_risk_score": 12.5,
    "attention": 91.0,
    "time_in_ms": {"face_absent": 12_000, "looking_away": 30_000},
    "evidence": [
        {"type": "face_absent", "started_at_ms": 1_700_000_100_000, "ended_at_ms": 1_700_000_112_000, "evidence": 9.1}
    ],
    "reasons": [{"event_type": "face_absent", "share": 0.8}, {"event_type": "looking_away", "share": 0.2}],
    "unassessable_s": 42.0,
    "unassessable_share": 0.07,
    "quality_s": {"low_light": 30.0, "frame_gap": 12.0},
}
DEAD_LETTER: DeadLetter = {
    "source_topic": "integrity.frames",
    "source_partition": 2,
    "source_offset": 41,
    "key": b"s1",
    "stage": "detection",
    "reason": "bad image",
    "failed_at_ms": 1_700_000_000_000,
    "payload": b"\x00\x01",
    "payload_size": 2,
    "payload_sha256": "0" * 64,
}

RECORDS = {
    "Frame": frame_record("s1", 3, 1_700_000_000_000, "one_face"),
    "Event": EVENT,
    "Observation": OBSERVATION,
    "Result": RESULT,
    "SessionControl": CONTROL,
    "DeadLetter": DEAD_LETTER,
    "FinalReport": REPORT,
}


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_round_trip(name):
    codec = codec_for(name)
    data = codec.encode(RECORDS[name])
    assert data[:2] == b"\xc3\x01"
    assert codec.decode(data) == RECORDS[name]


def test_fingerprints_differ_between_record_types():
    prints = {codec_for(name).fingerprint for name in RECORDS}
    assert len(prints) == len(RECORDS)


def test_a_record_of_another_type_is_refused():
    data = codec_for("Result").encode(RESULT)
    with pytest.raises(RecordDecodeError, match="not a known version of Frame"):
        codec_for("Frame").decode(data)


@pytest.mark.parametrize(
    "data, match",
    [
        (b"", "marker"),
        (b'{"session_id": "s1"}', "marker"),
        (b"\xc3\x01" + b"\x00" * 4, "marker"),
    ],
)
def test_garbage_is_refused_with_a_reason(data, match):
    with pytest.raises(RecordDecodeError, match=match):
        codec_for("Frame").decode(data)


def test_truncated_and_padded_bodies_are_refused():
    data = codec_for("Observation").encode(OBSERVATION)
    with pytest.raises(RecordDecodeError, match="corrupt"):
        codec_for("Observation").decode(data[:-7])
    with pytest.raises(RecordDecodeError, match="trailing"):
        codec_for("Observation").decode(data + b"\x00")


def test_encoding_an_invalid_record_fails_at_the_producer():
    bad = dict(RECORDS["Frame"], sequence="three")
    with pytest.raises((ValueError, TypeError)):
        codec_for("Frame").encode(bad)


def test_faust_codec_turns_bad_bytes_into_undecodable():
    codec = AvroCodec("Frame")
    good = codec.dumps(RECORDS["Frame"])
    assert codec.loads(good) == RECORDS["Frame"]
    bad = codec.loads(b"not avro at all")
    assert isinstance(bad, Undecodable)
    assert "marker" in bad.reason
    assert bad.payload == b"not avro at all"
