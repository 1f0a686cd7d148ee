"""What an outside user loads: the published self-contained schemas (current, and read by Apache avro
to the same fingerprints as ours), and the split source files in the documented loading order."""

from __future__ import annotations

import json

import avro.schema
import pytest

from schemas import SCHEMA_DIR, codec_for
from schemas.published import PUBLISHED_DIR, TOP_LEVEL, loading_order, published_files


def test_the_published_schemas_are_generated_from_the_sources():
    assert sorted(p.name for p in PUBLISHED_DIR.glob("*.avsc")) == sorted(published_files())
    for name, text in published_files().items():
        assert (PUBLISHED_DIR / name).read_text() == text, f"{name} is out of date: run `integrity schemas --write`"


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_apache_avro_reads_a_published_schema_to_our_fingerprint(name):
    parsed = avro.schema.parse((PUBLISHED_DIR / f"integrity.{name}.avsc").read_text())
    assert parsed.fingerprint("CRC-64-AVRO") == codec_for(name).fingerprint


def test_the_split_files_load_in_the_stated_order_and_not_in_any_order():
    names = avro.schema.Names()
    for file in loading_order():
        avro.schema.make_avsc_object(json.loads((SCHEMA_DIR / file).read_text()), names)
    assert {"integrity.Result", "integrity.FinalReport"} <= set(names.names)

    naive = avro.schema.Names()
    with pytest.raises(avro.errors.SchemaParseException):
        for file in sorted(p.name for p in SCHEMA_DIR.glob("*.avsc")):
            avro.schema.make_avsc_object(json.loads((SCHEMA_DIR / file).read_text()), naive)
