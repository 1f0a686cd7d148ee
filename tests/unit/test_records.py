"""The typed records of ``schemas.records`` say exactly what the ``.avsc`` contracts say: every field,
in order, with its type (nullable, nested records, arrays, maps and enum symbols included)."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

import pytest

from schemas import codec_for, records

_PRIMITIVES = {"string": str, "long": int, "int": int, "double": float, "float": float, "boolean": bool, "bytes": bytes}
RECORDS = [
    "Frame",
    "Face",
    "HeadPose",
    "Gaze",
    "DetectedObject",
    "Condition",
    "Event",
    "Observation",
    "Reason",
    "Result",
    "SessionControl",
    "FinalReport",
    "DeadLetter",
    "Recorded",
]


def _named(root: Any, name: str) -> Any:
    """The definition of a named type (``Face`` or ``integrity.Face``) as fastavro resolved it, or None."""
    full = name if "." in name else f"integrity.{name}"
    return root["__named_schemas"].get(full)


def _matches(avro: Any, hint: Any, root: Any) -> bool:
    """Whether the Python type ``hint`` is what ``avro`` (a type inside ``root``) holds."""
    if isinstance(avro, str) and avro in _PRIMITIVES:
        return hint is _PRIMITIVES[avro]
    if isinstance(avro, str):
        avro = _named(root, avro)
    if isinstance(avro, list) and "null" not in avro:  # a union of records: the same members, in order
        args = typing.get_args(hint)
        return len(args) == len(avro) and all(_matches(a, h, root) for a, h in zip(avro, args, strict=True))
    if isinstance(avro, list):  # a union with null
        others = [branch for branch in avro if branch != "null"]
        args = typing.get_args(hint)
        return (
            "null" in avro
            and len(others) == 1
            and isinstance(hint, types.UnionType)
            and type(None) in args
            and _matches(others[0], next(a for a in args if a is not type(None)), root)
        )
    kind = avro["type"]
    if kind == "record":
        return typing.is_typeddict(hint) and _same_fields(avro, hint, root)
    if kind == "enum":
        return typing.get_origin(hint) is Literal and list(typing.get_args(hint)) == avro["symbols"]
    if kind == "array":
        return typing.get_origin(hint) is list and _matches(avro["items"], typing.get_args(hint)[0], root)
    if kind == "map":
        key, value = typing.get_args(hint)
        return typing.get_origin(hint) is dict and key is str and _matches(avro["values"], value, root)
    return _matches(kind, hint, root)


def _same_fields(schema: dict, typed: Any, root: Any) -> bool:
    hints = typing.get_type_hints(typed)
    names = [item["name"] for item in schema["fields"]]
    return list(hints) == names and all(_matches(item["type"], hints[item["name"]], root) for item in schema["fields"])


@pytest.mark.parametrize("name", RECORDS)
def test_each_typed_record_matches_its_schema(name):
    schema = _schema_defining(name)
    typed = getattr(records, name)
    hints = typing.get_type_hints(typed)
    definition = _named(schema, name)
    assert list(hints) == [item["name"] for item in definition["fields"]]
    for item in definition["fields"]:
        assert _matches(item["type"], hints[item["name"]], schema), (name, item["name"], hints[item["name"]])


def _schema_defining(name: str) -> Any:
    """A top-level schema whose tree defines ``name`` (nested records have no codec of their own)."""
    for top in ("Frame", "Observation", "Result", "SessionControl", "FinalReport", "DeadLetter", "Event", "Recorded"):
        schema = codec_for(top).schema
        if _named(schema, name) is not None:
            return schema
    raise AssertionError(f"no schema defines {name}")


def test_the_checker_catches_a_drift():
    schema = codec_for("Condition").schema

    class Drifted(typing.TypedDict):
        type: str
        confidence: float
        since_ms: int
        until_ms: int  # the schema says nullable

    assert not _same_fields(_named(schema, "Condition"), Drifted, schema)
    assert _same_fields(_named(schema, "Condition"), records.Condition, schema)


def test_the_constructors_build_valid_records():
    frame = records.new_frame("s1", 0, b"\xff\xd8", width=640, height=480, captured_at_ms=5)
    control = records.new_session_control("s1", "end", "c1", last_sequence=41)
    assert codec_for("Frame").decode(codec_for("Frame").encode(frame)) == frame
    assert codec_for("SessionControl").decode(codec_for("SessionControl").encode(control)) == control
    assert records.new_frame("s1", 1, b"", width=1, height=1)["captured_at_ms"] > 1_700_000_000_000


def test_a_new_observation_is_a_valid_observation_record():
    from schemas import codec_for
    from schemas.records import new_observation

    observation = new_observation("s", 3, 1_800_000_000_000, candidate_id="c")
    codec = codec_for("Observation")
    assert codec.decode(codec.encode(observation)) == observation
    assert observation["observed_at_ms"] == 1_800_000_000_005 and observation["faces"] == []
