"""`integrity bench risk`: observations per second through the risk stage, three ways in one run.

1. the core alone (``RiskEngine.apply``, state in a dict): the arithmetic's ceiling;
2. the core with its state in a local RocksDB (rocksdict), read and written per observation, no
   changelog: what the table's store costs;
3. the risk agent in a real worker on the embedded broker: RocksDB table with its changelog topic,
   Avro in and out, one Result per observation.
Observations carry a behaviour on most frames, as a busy session's do.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer

from schemas import codec_for
from schemas.records import Event, Face, Observation, new_observation
from streams.bench.output import print_table, write_json
from streams.kafka.clients import producer_options
from streams.kafka.reader import TopicReader
from streams.risk import RiskEngine, SessionState
from streams.settings import Settings
from streams.stack.local import LocalStack

__all__ = ["main"]

_KINDS = ("face_absent", "looking_away", "multiple_faces", None)


def _observations(count: int, sessions: int) -> list[Observation]:
    out: list[Observation] = []
    for i in range(count):
        session, sequence = f"risk-{i % sessions:04d}", i // sessions
        kind = _KINDS[(sequence // 20) % len(_KINDS)]
        captured = 1_800_000_000_000 + sequence * 200
        # Each behaviour holds for 20 frames, then the next: one interval per run, as the analyser reports.
        since = 1_800_000_000_000 + (sequence // 20) * 20 * 200
        face: Face = {"confidence": 0.9, "x": 0.4, "y": 0.2, "width": 0.2, "height": 0.25, "too_small": False}
        out.append(
            new_observation(
                session,
                sequence,
                captured,
                candidate_id="c",
                faces=[] if kind == "face_absent" else [face],
                timings_ms={"total": 10.0},
                conditions=[{"type": kind, "confidence": 0.9, "since_ms": since, "until_ms": None}] if kind else [],
                events=_end_of_previous(session, sequence, captured),
            )
        )
    return out


def _end_of_previous(session: str, sequence: int, captured: int) -> list[Event]:
    """At a block boundary, the end event of the behaviour that held in the previous block."""
    if sequence == 0 or sequence % 20:
        return []
    kind = _KINDS[(sequence // 20 - 1) % len(_KINDS)]
    if kind is None:
        return []
    since = 1_800_000_000_000 + (sequence // 20 - 1) * 20 * 200
    return [
        {
            "event_id": f"{session}:{kind}:{since}",
            "session_id": session,
            "frame_sequence": sequence,
            "type": kind,
            "confidence": 0.9,
            "started_at_ms": since,
            "ended_at_ms": captured,
            "details": {"phase": "end"},
        }
    ]


def _core(observations: list[Observation]) -> float:
    engine = RiskEngine()
    states: dict[str, SessionState] = {}
    started = time.perf_counter()
    for obs in observations:
        states[obs["session_id"]], _ = engine.apply(states.get(obs["session_id"]), obs)
    return len(observations) / (time.perf_counter() - started)


def _rocksdb(observations: list[Observation], folder: Path) -> float:
    from rocksdict import Rdict

    db = Rdict(str(folder / "sessions"))
    engine = RiskEngine()
    try:
        started = time.perf_counter()
        for obs in observations:
            key = obs["session_id"].encode()
            stored = db.get(key)
            state = SessionState.from_dict(json.loads(stored)) if stored else None
            state, _ = engine.apply(state, obs)
            db[key] = json.dumps(state.to_dict()).encode()
        return len(observations) / (time.perf_counter() - started)
    finally:
        db.close()


async def _agent_rate(settings: Settings, observations: list[Observation]) -> tuple[float, int]:
    codec = codec_for("Observation")
    producer = AIOKafkaProducer(**{**producer_options(settings), "acks": 1})
    async with TopicReader(settings, settings.topics.results, "Result") as results:
        await producer.start()
        try:
            payloads = [(obs["session_id"].encode(), codec.encode(obs)) for obs in observations]
            for start in range(0, len(payloads), 500):
                sends = [
                    await producer.send(settings.topics.events, value=v, key=k)
                    for k, v in payloads[start : start + 500]
                ]
                await asyncio.gather(*sends)
        finally:
            await producer.stop()
        print(f"published {len(payloads)} observations; waiting for the results", file=sys.stderr, flush=True)
        received, first, last = 0, None, None
        deadline = time.monotonic() + 300
        while received < len(payloads) and time.monotonic() < deadline:
            for result in await results.poll(1.0):
                now = result["timestamp_ms"] / 1000.0
                first = now if first is None else min(first, now)
                last = now if last is None else max(last, now)
                received += 1
    rate = received / (last - first) if first is not None and last and last > first else 0.0
    return rate, received


def _agent(observations: list[Observation], folder: Path) -> tuple[float, int]:
    worker_env = {"INTEGRITY_YOLO_WEIGHTS": "", "INTEGRITY_LOG_LEVEL": "warn"}
    with LocalStack(folder, worker_env=worker_env) as stack:
        return asyncio.run(_agent_rate(stack.settings, observations))


def main(count: int, sessions: int, out: Path) -> int:
    observations = _observations(count, sessions)
    folder = Path(tempfile.mkdtemp(prefix="integrity-bench-risk-"))
    try:
        core = _core(observations)
        rocks = _rocksdb(observations, folder)
        print("running the risk agent on the embedded broker...", file=sys.stderr, flush=True)
        agent, received = _agent(observations, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rows = [
        ["core only (state in a dict)", f"{core:,.0f}"],
        ["core + local RocksDB (rocksdict), no changelog", f"{rocks:,.0f}"],
        [f"risk agent: RocksDB table + changelog, Avro, results ({received}/{count} received)", f"{agent:,.0f}"],
    ]
    print_table(f"risk stage, observations/s ({count} observations, {sessions} sessions)", ["path", "obs/s"], rows)
    write_json(
        out,
        {
            "risk": {
                "observations": count,
                "sessions": sessions,
                "core_per_s": round(core),
                "rocksdb_per_s": round(rocks),
                "agent_per_s": round(agent),
                "agent_received": received,
            }
        },
    )
    return 0 if received == count else 1
