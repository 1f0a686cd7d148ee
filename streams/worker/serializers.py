"""Faust's side of the Avro contracts: a Codec per record type that never raises on bad input.

A record that fails to decode comes out as ``Undecodable`` instead of an exception, because Faust
raises decode errors inside the agent's iterator, where one bad record would stop the partition.
The agents' processing-error policy (``streams.agents.stage``) dead-letters it and goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faust.serializers.codecs import Codec

from schemas import RecordDecodeError, codec_for

__all__ = ["AvroCodec", "Undecodable"]


@dataclass(frozen=True)
class Undecodable:
    reason: str
    payload: bytes


class AvroCodec(Codec):
    def __init__(self, record_name: str, **kwargs: Any) -> None:
        self.record = codec_for(record_name)
        super().__init__(record_name=record_name, **kwargs)

    def _dumps(self, obj: Any) -> bytes:
        return self.record.encode(obj)

    def _loads(self, s: bytes) -> Any:
        try:
            return self.record.decode(s)
        except RecordDecodeError as exc:
            return Undecodable(str(exc), bytes(s))
