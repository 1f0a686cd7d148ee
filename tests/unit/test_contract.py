"""docs/CONTRACT.md says what the schemas and settings say: every field of every record a platform
sends or reads, the current and past fingerprints, and the topics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

import pytest

from schemas import codec_for
from schemas.published import TOP_LEVEL
from streams.settings import TopicSettings

CONTRACT = (Path(__file__).resolve().parents[2] / "docs" / "CONTRACT.md").read_text()


def _section(title: str) -> str:
    match = re.search(rf"^## {title}\b.*?$(.*?)(?=^## |\Z)", CONTRACT, re.MULTILINE | re.DOTALL)
    assert match, f"no section {title}"
    return match.group(1)


@pytest.mark.parametrize("name", ["Frame", "SessionControl", "Result", "FinalReport", "DeadLetter", "Review"])
def test_each_record_documents_exactly_its_fields_in_order(name):
    documented = re.findall(r"^\| `(\w+)` \|", _section(name), re.MULTILINE)
    assert documented == [field["name"] for field in cast(dict, codec_for(name).schema)["fields"]]


def test_the_fingerprints_are_the_current_and_past_ones():
    rows = {
        name: (current, set(re.findall(r"[0-9a-f]{16}", past)))
        for name, current, past in re.findall(r"^\| `(\w+)` \| `([0-9a-f]{16})` \|([^|\n]*)\|", CONTRACT, re.MULTILINE)
    }
    assert set(rows) == set(TOP_LEVEL)
    for name, (current, past) in rows.items():
        codec = codec_for(name)
        assert current == codec.fingerprint.hex(), name
        assert past == {fp.hex() for fp in codec.past_versions}, name


def test_the_topics_are_the_default_ones():
    documented = re.findall(r"^\| `(integrity\.[\w.-]+)` \| `(\w+)` \|", _section("Topics"), re.MULTILINE)
    topics = TopicSettings()
    assert dict(documented) == {
        topics.frames: "Frame",
        topics.control: "SessionControl",
        topics.results: "Result",
        topics.reports: "FinalReport",
        topics.dead_letter: "DeadLetter",
        topics.events: "Observation",
        topics.reviews: "Review",
    }
