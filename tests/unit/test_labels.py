"""Reviewer labels: the CSV and JSON forms read alike, and bad files are refused saying where and why."""

from __future__ import annotations

import json

import pytest

from streams.offline.labels import (
    LabelError,
    LabelledRange,
    SessionLabel,
    load_labels,
    parse_labels_csv,
    parse_labels_json,
)

CSV = """session_id,decision,behaviour,start_s,end_s
s-1,clean,,,
s-2,cheating,face_absent,10,18

s-2,cheating,multiple_faces,40,46.5
s-3,cheating,,,
"""

EXPECTED = {
    "s-1": SessionLabel("s-1", "clean"),
    "s-2": SessionLabel(
        "s-2",
        "cheating",
        (LabelledRange("face_absent", 10.0, 18.0), LabelledRange("multiple_faces", 40.0, 46.5)),
    ),
    "s-3": SessionLabel("s-3", "cheating"),
}

JSON = {
    "sessions": {
        "s-1": {"decision": "clean"},
        "s-2": {
            "decision": "cheating",
            "behaviours": [
                {"type": "face_absent", "start_s": 10, "end_s": 18},
                {"type": "multiple_faces", "start_s": 40, "end_s": 46.5},
            ],
        },
        "s-3": {"decision": "cheating", "behaviours": []},
    }
}


def test_csv_gives_decisions_and_ranges():
    labels = parse_labels_csv(CSV)
    assert labels == EXPECTED
    assert labels["s-2"].cheating and not labels["s-1"].cheating


def test_json_reads_as_the_same_labels():
    assert parse_labels_json(json.dumps(JSON)) == EXPECTED


def test_files_by_suffix_with_a_byte_order_mark_and_extra_columns(tmp_path):
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text("\ufeff" + CSV.replace("end_s\n", "end_s,notes\n").replace("s-1,clean,,,", "s-1,clean,,,,ok"))
    json_path = tmp_path / "labels.json"
    json_path.write_text(json.dumps(JSON))
    assert load_labels(csv_path) == EXPECTED
    assert load_labels(json_path) == EXPECTED


def test_a_reviewer_may_confirm_a_behaviour_in_a_clean_session():
    labels = parse_labels_csv("session_id,decision,behaviour,start_s,end_s\ns,clean,face_absent,1,3\n")
    assert labels["s"] == SessionLabel("s", "clean", (LabelledRange("face_absent", 1.0, 3.0),))


HEADER = "session_id,decision,behaviour,start_s,end_s\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "labels.csv: empty file"),
        ("session_id,decision,behaviour\ns,clean,\n", "labels.csv, line 1: missing column(s) start_s, end_s"),
        (HEADER + "s,clean,,,\ns,maybe,,,\n", "line 3: decision 'maybe' is not one of clean, cheating"),
        (HEADER + ",clean,,,\n", "line 2: empty session_id"),
        (HEADER + "s,cheating,face_absent,10,\n", "line 2: behaviour, start_s and end_s go together"),
        (HEADER + "s,cheating,face_absent,ten,18\n", "line 2: start_s 'ten' is not a number of seconds"),
        (HEADER + "s,cheating,face_absent,-1,18\n", "line 2: start_s '-1' must be a finite number of seconds >= 0"),
        (HEADER + "s,cheating,face_absent,nan,18\n", "line 2: start_s 'nan' must be a finite number"),
        (HEADER + "s,cheating,face_absent,18,10\n", "line 2: end_s 10 is before start_s 18"),
        (HEADER + "s,cheating\n", "line 2: 2 fields, the header needs 5"),
        (
            HEADER + "s,cheating,face_absent,1,2\n\nt,clean,,,\ns,clean,,,\n",
            "line 5: session 's' is labelled 'clean', but 'cheating' at labels.csv, line 2",
        ),
    ],
)
def test_bad_csv_is_refused_with_its_line(text, message):
    with pytest.raises(LabelError) as refused:
        parse_labels_csv(text, "labels.csv")
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"sessions": {\n "s": {"decision": "clean"},\n}}', "labels.json, line 3: not JSON"),
        ('{"sessions": {"s": {"decision": "clean"}, "s": {"decision": "cheating"}}}', "duplicate key(s) 's'"),
        ('{"s": {"decision": "clean"}}', 'expected an object {"sessions"'),
        ('{"sessions": {"s": "clean"}}', "sessions['s']: expected an object"),
        ('{"sessions": {"s": {"decision": "clean", "note": 1}}}', "sessions['s']: unknown key(s) note"),
        ('{"sessions": {"s": {"decision": "guilty"}}}', "sessions['s']: decision 'guilty' is not one of"),
        ('{"sessions": {"s": {"decision": "cheating", "behaviours": {}}}}', "sessions['s'].behaviours: expected"),
        (
            '{"sessions": {"s": {"decision": "cheating", "behaviours": [{"type": "face_absent", "start_s": 1}]}}}',
            "sessions['s'].behaviours[0]: expected",
        ),
        (
            '{"sessions": {"s": {"decision": "cheating", '
            '"behaviours": [{"type": "face_absent", "start_s": true, "end_s": 2}]}}}',
            "sessions['s'].behaviours[0]: start_s 'true' is not a number",
        ),
    ],
)
def test_bad_json_is_refused_saying_where(text, message):
    with pytest.raises(LabelError) as refused:
        parse_labels_json(text, "labels.json")
    assert message in str(refused.value)


def test_behaviour_names_are_checked_when_the_known_ones_are_given(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(HEADER + "s,cheating,face_abesnt,1,2\n")
    assert load_labels(path)["s"].behaviours[0].behaviour == "face_abesnt"
    with pytest.raises(LabelError, match=r"labels.csv, line 2: unknown behaviour 'face_abesnt' \(known: face_absent"):
        load_labels(path, {"face_absent", "multiple_faces"})


def test_an_unreadable_file_is_a_label_error(tmp_path):
    with pytest.raises(LabelError, match="cannot read the labels file"):
        load_labels(tmp_path / "nowhere.csv")
