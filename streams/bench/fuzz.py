"""`integrity bench fuzz`: bad and good records of many kinds, on the frames, control and events topics,
through the embedded broker and one worker.

Prints, per kind, how many records were sent, how many were dead-lettered (by reason) and how many were
answered with a Result, and checks that every refused kind was dead-lettered whole and every good one
answered: nothing lost, nothing bad scored. The worker must still be alive at the end.
"""

from __future__ import annotations

import asyncio
import random
import re
import shutil
import struct
import sys
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from producers.images import encode_jpeg
from schemas import codec_for
from schemas.records import Frame, Observation, new_frame, new_observation, new_session_control, now_ms
from streams.bench.output import print_table, write_json
from streams.kafka.clients import session_publisher
from streams.kafka.reader import collect
from streams.samples.scenes import scene_image
from streams.settings import Settings
from streams.stack.local import LocalStack

__all__ = ["main"]

# The worker of the fuzz run takes frames of at most this many bytes (INTEGRITY_MAX_FRAME_BYTES), so that
# its "oversize image" records stay small enough to send by the thousand.
MAX_FRAME_BYTES = 100_000

# kind -> what the worker must do with it: "refuse" (a dead letter) or "answer" (a Result).
EXPECTED = {
    "random bytes": "refuse",
    "unknown fingerprint": "refuse",
    "truncated Frame": "refuse",
    "Frame with trailing bytes": "refuse",
    "null value (tombstone)": "refuse",
    "empty session id": "refuse",
    "mis-keyed frame": "refuse",
    "negative sequence": "refuse",
    "captured in 1970": "refuse",
    "captured in 2100": "refuse",
    "declared size not the image's": "refuse",
    "empty image": "refuse",
    "non-image bytes": "refuse",
    "oversize image": "refuse",
    "decompression bomb (PNG)": "refuse",
    "control: unknown policy": "refuse",
    "control: end of nothing": "refuse",
    "events: random bytes": "refuse",
    "events: infinite confidence": "refuse",
    "1x1 image": "answer",
    "good frame": "answer",
}


def _normalised(reason: str) -> str:
    """A dead-letter reason without its particulars (numbers, quoted values, fingerprints)."""
    reason = re.sub(r"'[^']*'|b'[^']*'|\b[0-9a-f]{16}\b", "…", reason)
    return re.sub(r"\d+", "N", reason)[:90]


def _records(count: int, seed: int) -> list[tuple[str, str, str, bytes | None]]:
    """(kind, topic key name, session id, value) in a shuffled order; good sessions keep their frame order."""
    rng = random.Random(seed)
    frame_codec, control_codec, events_codec = codec_for("Frame"), codec_for("SessionControl"), codec_for("Observation")
    face = encode_jpeg(scene_image("one_face"), 85)
    tiny = encode_jpeg(np.full((1, 1, 3), 128, np.uint8))
    now = now_ms()
    sequences: Counter[str] = Counter()

    def frame(session: str, **changes: Any) -> Frame:
        sequence = sequences[session]
        sequences[session] += 1
        record = new_frame(session, sequence, face, width=640, height=480, captured_at_ms=now + sequence * 200)
        return record | changes  # type: ignore[return-value]

    bomb = _png_bomb(12_000, 12_000)
    oversize = rng.randbytes(MAX_FRAME_BYTES + 1)

    makers: dict[str, Callable[[int], tuple[str, str, bytes | None]]] = {
        "random bytes": lambda i: ("frames", f"fz-{i % 7}", rng.randbytes(rng.randint(0, 300))),
        "unknown fingerprint": lambda i: ("frames", f"fz-{i % 7}", b"\xc3\x01" + rng.randbytes(8) + b"\x00" * 20),
        "truncated Frame": lambda i: ("frames", "fz-t", frame_codec.encode(frame("fz-t"))[: rng.randint(11, 200)]),
        "Frame with trailing bytes": lambda i: ("frames", "fz-p", frame_codec.encode(frame("fz-p")) + b"\x00"),
        "null value (tombstone)": lambda i: ("frames", f"fz-{i % 7}", None),
        "empty session id": lambda i: ("frames", "", frame_codec.encode(frame("", session_id=""))),
        "mis-keyed frame": lambda i: ("frames", "fz-other", frame_codec.encode(frame("fz-m"))),
        "negative sequence": lambda i: ("frames", "fz-n", frame_codec.encode(frame("fz-n", sequence=-5))),
        "captured in 1970": lambda i: ("frames", "fz-o", frame_codec.encode(frame("fz-o", captured_at_ms=1000))),
        "captured in 2100": lambda i: (
            "frames",
            "fz-f",
            frame_codec.encode(frame("fz-f", captured_at_ms=4_102_444_800_000)),
        ),
        "declared size not the image's": lambda i: (
            "frames",
            "fz-d",
            frame_codec.encode(frame("fz-d", width=1920, height=1080)),
        ),
        "empty image": lambda i: ("frames", "fz-z", frame_codec.encode(frame("fz-z", image=b""))),
        "non-image bytes": lambda i: ("frames", "fz-b", frame_codec.encode(frame("fz-b", image=b"hello, world"))),
        "oversize image": lambda i: ("frames", "fz-big", frame_codec.encode(frame("fz-big", image=oversize))),
        "decompression bomb (PNG)": lambda i: (
            "frames",
            "fz-bomb",
            frame_codec.encode(frame("fz-bomb", image=bomb, encoding="PNG", width=12_000, height=12_000)),
        ),
        "control: unknown policy": lambda i: (
            "control",
            f"fz-c{i}",
            control_codec.encode(new_session_control(f"fz-c{i}", "start", "c", policy="no-such-policy")),
        ),
        "control: end of nothing": lambda i: (
            "control",
            f"fz-e{i}",
            control_codec.encode(new_session_control(f"fz-e{i}", "end", "c")),
        ),
        "events: random bytes": lambda i: ("events", f"fz-{i % 7}", rng.randbytes(rng.randint(0, 300))),
        "events: infinite confidence": lambda i: (
            "events",
            f"fz-x{i % 3}",
            events_codec.encode(_forged(f"fz-x{i % 3}", now)),
        ),
        "1x1 image": lambda i: (
            "frames",
            "fz-tiny",
            frame_codec.encode(frame("fz-tiny", image=tiny, width=1, height=1)),
        ),
        "good frame": lambda i: ("frames", f"fz-good-{i % 5}", b""),  # encoded below, in sequence order
    }
    kinds = [rng.choice(list(makers)) for _ in range(count)]
    out = []
    for index, kind in enumerate(kinds):
        topic, session, value = makers[kind](index)
        out.append((kind, topic, session, value))
    # Good frames get their sequences in the order they are sent.
    for position, (kind, topic, session, _) in enumerate(out):
        if kind == "good frame":
            out[position] = (kind, topic, session, frame_codec.encode(frame(session)))
    return out


def _png_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, with a few bytes of compressed rows: decoded,
    it would take width x height x 3 bytes of memory (432 MB for 12000 x 12000)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * width) * 64, 9)  # the first 64 rows; a real bomb has them all
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def _forged(session: str, now: int) -> Observation:
    """An Observation no worker could have written: a phone seen with infinite confidence."""
    return new_observation(
        session,
        0,
        now,
        candidate_id="c",
        observed_at_ms=now,
        timings_ms={"total": 1.0},
        conditions=[{"type": "phone_visible", "confidence": float("inf"), "since_ms": now, "until_ms": None}],
    )


async def _send(settings: Settings, records: list[tuple[str, str, str, bytes | None]]) -> None:
    topics = {"frames": settings.topics.frames, "control": settings.topics.control, "events": settings.topics.events}
    async with session_publisher(settings) as publisher:
        for _, topic, session, value in records:
            await publisher.send_raw(topics[topic], session, value)


def _session_kinds(records: list[tuple[str, str, str, bytes | None]]) -> dict[str, str]:
    return {session: kind for kind, _, session, _ in records if kind in {"good frame", "1x1 image"}}


def run_fuzz(count: int, seed: int, workdir: Path) -> dict[str, Any]:
    records = _records(count, seed)
    sent = Counter(kind for kind, *_ in records)
    answered_sessions = _session_kinds(records)
    worker_env = {"INTEGRITY_LOG_LEVEL": "error", "INTEGRITY_MAX_FRAME_BYTES": str(MAX_FRAME_BYTES)}
    with LocalStack(workdir, worker_env=worker_env) as stack:
        settings = stack.settings
        asyncio.run(_send(settings, records))
        print(f"sent {len(records)} records; waiting for the worker to answer them", file=sys.stderr, flush=True)
        want_answers = sum(sent[k] for k, v in EXPECTED.items() if v == "answer")
        want_letters = sum(sent[k] for k, v in EXPECTED.items() if v == "refuse")
        results = asyncio.run(
            collect(settings, settings.topics.results, "Result", lambda r: not r["final"], want_answers, 300)
        )
        letters = asyncio.run(collect(settings, settings.topics.dead_letter, "DeadLetter", count=want_letters))
        alive = stack.worker.process is not None and stack.worker.process.poll() is None
        health = stack.worker.health() or {}
    answered = Counter(answered_sessions.get(r["session_id"], "other") for r in results)
    # Each valid frame answered once: as many distinct (session, frame) pairs as Results.
    answered_once = len({(r["session_id"], r["frame_sequence"]) for r in results}) == len(results)
    tiny_verdicts = Counter(r["verdict"] for r in results if r["session_id"] == "fz-tiny")
    tiny_absent = sum("face_absent" in r["conditions"] for r in results if r["session_id"] == "fz-tiny")
    by_reason = Counter(_normalised(letter["reason"]) for letter in letters)
    return {
        "records": len(records),
        "sent": dict(sent),
        "answered": dict(answered),
        "dead_letters": len(letters),
        "dead_letters_by_reason": dict(by_reason.most_common()),
        "one_pixel_verdicts": dict(tiny_verdicts),
        "one_pixel_face_absent_results": tiny_absent,
        "answered_once": answered_once,
        "worker_alive": alive,
        "forwarded_to_key_partition": health.get("forwarded_to_key_partition", {}),
    }


def main(count: int, seed: int, out: Path) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="integrity-bench-fuzz-"))
    try:
        figures = run_fuzz(count, seed, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    refused = sum(figures["sent"].get(k, 0) for k, v in EXPECTED.items() if v == "refuse")
    answerable = sum(figures["sent"].get(k, 0) for k, v in EXPECTED.items() if v == "answer")
    rows = [[kind, figures["sent"].get(kind, 0), EXPECTED[kind]] for kind in EXPECTED]
    print_table(f"fuzz: {figures['records']} records (seed {seed})", ["kind", "sent", "expected"], rows)
    reasons = [[count, reason] for reason, count in figures["dead_letters_by_reason"].items()]
    print_table("dead letters by reason", ["count", "reason"], reasons)
    answered = sum(figures["answered"].values())
    print(
        f"\nrefusable {refused}, dead-lettered {figures['dead_letters']}; answerable {answerable}, answered "
        f"{answered}; 1x1 camera verdicts {figures['one_pixel_verdicts']} (face_absent in "
        f"{figures['one_pixel_face_absent_results']} results); each answered once: {figures['answered_once']}; "
        f"worker alive: {figures['worker_alive']}"
    )
    write_json(out, {"fuzz": figures})
    ok = figures["worker_alive"] and figures["dead_letters"] == refused and answered == answerable
    ok = ok and figures["answered_once"]
    return 0 if ok else 1
