"""Publishing to and reading from a real broker's topics, as the integration tests do."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, cast

import yaml

from schemas.records import FinalReport, Frame, Result, SessionAction, SessionControl, new_session_control
from streams.kafka import reader
from streams.kafka.clients import session_publisher
from streams.risk.policy import POLICY_DIR
from streams.settings import Settings

__all__ = ["REPORTED", "Record", "collect", "control", "policies_with_quick", "publish", "reports_of", "results_of"]

# What a final report must repeat exactly, whatever happened to the workers on the way (or a replay).
REPORTED: Final = (
    "verdict",
    "final_risk_score",
    "peak_risk_score",
    "mean_risk_score",
    "frames",
    "observed_s",
    "time_in_ms",
)

# What ``publish`` sends: (topic, session id, a Frame, a SessionControl, or raw bytes as they are).
Record = tuple[str, str, Frame | SessionControl | bytes]


def control(settings: Settings, session_id: str, action: SessionAction, **fields: Any) -> Record:
    """A SessionControl record for ``publish``."""
    return (settings.topics.control, session_id, new_session_control(session_id, action, "cand", **fields))


def publish(settings: Settings, records: Sequence[Record]) -> None:
    """Send the records in order, each acknowledged."""

    async def send() -> None:
        async with session_publisher(settings) as publisher:
            for topic, session_id, value in records:
                if isinstance(value, bytes):
                    await publisher.send_raw(topic, session_id, value)
                elif "action" in value:
                    await publisher.send_control(cast(SessionControl, value))
                else:
                    await publisher.send_frame(value)

    asyncio.run(send())


def collect(
    settings: Settings, topic: str, record: str, want: Callable[[Any], bool], count: int, timeout_s: float = 90.0
) -> list[Any]:
    """Read ``topic`` from the start until ``count`` decoded records match ``want`` (or time out)."""
    return asyncio.run(reader.collect(settings, topic, record, want, count, timeout_s))


def results_of(settings: Settings, session_id: str, count: int, timeout_s: float = 120) -> list[Result]:
    """The session's Results, in order, once ``count`` have arrived."""
    return collect(
        settings, settings.topics.results, "Result", lambda r: r["session_id"] == session_id, count, timeout_s
    )


def reports_of(settings: Settings, session_id: str, timeout_s: float = 60) -> list[FinalReport]:
    return collect(
        settings, settings.topics.reports, "FinalReport", lambda r: r["session_id"] == session_id, 1, timeout_s
    )


def policies_with_quick(folder: Path) -> Path:
    """The repository's policies, plus "quick": the default with a 3 s idle timeout, for expiry tests."""
    policies = folder / "policies"
    shutil.copytree(POLICY_DIR, policies)
    quick = yaml.safe_load((POLICY_DIR / "default.yaml").read_text()) | {"name": "quick", "idle_timeout_s": 3.0}
    (policies / "quick.yaml").write_text(yaml.safe_dump(quick))
    return policies
