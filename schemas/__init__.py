"""The Avro contracts of the topics, and the one codec every producer and stage uses.

Records travel in Avro's *single-object encoding* (Avro spec, "Single object encoding"): two marker bytes
``C3 01``, the schema's 8-byte CRC-64-AVRO fingerprint (little-endian), then the binary body. A reader
knows which schema wrote a record without a schema registry, and garbage is refused before decoding.
Java's ``BinaryMessageDecoder`` reads the same bytes.

Schemas evolve: every past version of a record type stays in ``schemas/history/`` under its fingerprint
(``integrity schemas --write`` files it there when a published schema changes), and a record written
with any known version is resolved to the current one (Avro schema resolution: added fields take their
defaults). Roll out workers before producers: a worker cannot read a version it has never seen.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, load_schema, parse_schema, to_parsing_canonical_form

__all__ = [
    "HISTORY_DIR",
    "NAMESPACE",
    "SCHEMA_DIR",
    "AvroRecordCodec",
    "RecordDecodeError",
    "codec_for",
    "schema_fingerprint",
]

SCHEMA_DIR = Path(__file__).resolve().parent
HISTORY_DIR = SCHEMA_DIR / "history"
NAMESPACE = "integrity"
_MARKER = b"\xc3\x01"
_HEADER_LEN = len(_MARKER) + 8


class RecordDecodeError(ValueError):
    """The bytes are not a record of the expected schema."""


def schema_fingerprint(parsed: Any) -> bytes:
    """The 8 bytes of a parsed schema's CRC-64-AVRO fingerprint, as single-object encoding writes them."""
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))


def _past_versions(name: str) -> dict[bytes, Any]:
    """Fingerprint -> parsed writer schema of every past version of record type ``name``."""
    versions = {}
    for path in sorted(HISTORY_DIR.glob(f"{NAMESPACE}.{name}.*.avsc")):
        parsed = parse_schema(json.loads(path.read_text()), named_schemas={})
        versions[schema_fingerprint(parsed)] = parsed
    return versions


class AvroRecordCodec:
    """Encodes one record type of ``schemas/``, and decodes it from any of its known versions."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.schema = load_schema(str(SCHEMA_DIR / f"{NAMESPACE}.{name}.avsc"))
        self.fingerprint = schema_fingerprint(self.schema)
        self.past_versions = _past_versions(name)
        self._header = _MARKER + self.fingerprint

    def encode(self, record: Mapping[str, Any]) -> bytes:
        out = io.BytesIO()
        out.write(self._header)
        # validate: a producer bug must fail at the producer, not as a dead letter downstream.
        fastavro.schemaless_writer(out, self.schema, record, strict_allow_default=True)
        return out.getvalue()

    def decode(self, data: bytes) -> Any:
        """The record as a dict (typed in ``schemas.records``), or ``RecordDecodeError`` saying why."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise RecordDecodeError(f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) < _HEADER_LEN or data[:2] != _MARKER:
            raise RecordDecodeError(f"not an Avro single-object record ({len(data)} bytes, bad marker)")
        writer = self._writer_schema(data[2:_HEADER_LEN])
        body = io.BytesIO(data[_HEADER_LEN:])
        try:
            record = fastavro.schemaless_reader(body, writer, None if writer is self.schema else self.schema)
        except Exception as exc:  # fastavro raises many types on truncated or corrupt bodies
            raise RecordDecodeError(f"corrupt {self.name} body: {type(exc).__name__}: {exc}") from exc
        if body.tell() != len(data) - _HEADER_LEN:
            raise RecordDecodeError(f"{len(data) - _HEADER_LEN - body.tell()} trailing bytes after {self.name}")
        return record

    def _writer_schema(self, written: bytes) -> Any:
        if written == self.fingerprint:
            return self.schema
        if written in self.past_versions:
            return self.past_versions[written]
        known = ", ".join(fp.hex() for fp in [self.fingerprint, *self.past_versions])
        raise RecordDecodeError(f"schema fingerprint {written.hex()} is not a known version of {self.name} ({known})")


@cache
def codec_for(name: str) -> AvroRecordCodec:
    """The shared codec of a record type: ``Frame``, ``Observation``, ``Result``, ..."""
    return AvroRecordCodec(name)
