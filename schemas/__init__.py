"""The Avro contracts of the topics, and the one codec every producer and stage uses.

Records travel in Avro's *single-object encoding* (Avro spec, "Single object encoding"): two marker bytes
``C3 01``, the schema's 8-byte CRC-64-AVRO fingerprint (little-endian), then the binary body. A reader
knows which schema wrote a record without a schema registry, and garbage is refused before decoding.
Java's ``BinaryMessageDecoder`` reads the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, load_schema, to_parsing_canonical_form

__all__ = ["NAMESPACE", "SCHEMA_DIR", "AvroRecordCodec", "RecordDecodeError", "codec_for"]

SCHEMA_DIR = Path(__file__).resolve().parent
NAMESPACE = "integrity"
_MARKER = b"\xc3\x01"
_HEADER_LEN = len(_MARKER) + 8


class RecordDecodeError(ValueError):
    """The bytes are not a record of the expected schema."""


class AvroRecordCodec:
    """Encodes and decodes one record type of ``schemas/``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.schema = load_schema(str(SCHEMA_DIR / f"{NAMESPACE}.{name}.avsc"))
        canonical = to_parsing_canonical_form(self.schema)
        self.fingerprint = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
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
        if data[2:_HEADER_LEN] != self.fingerprint:
            raise RecordDecodeError(
                f"schema fingerprint {data[2:_HEADER_LEN].hex()} is not {self.name}'s {self.fingerprint.hex()}"
            )
        body = io.BytesIO(data[_HEADER_LEN:])
        try:
            record = fastavro.schemaless_reader(body, self.schema, None)
        except Exception as exc:  # fastavro raises many types on truncated or corrupt bodies
            raise RecordDecodeError(f"corrupt {self.name} body: {type(exc).__name__}: {exc}") from exc
        if body.tell() != len(data) - _HEADER_LEN:
            raise RecordDecodeError(f"{len(data) - _HEADER_LEN - body.tell()} trailing bytes after {self.name}")
        return record


@cache
def codec_for(name: str) -> AvroRecordCodec:
    """The shared codec of a record type: ``Frame``, ``Observation``, ``Result``, ..."""
    return AvroRecordCodec(name)
