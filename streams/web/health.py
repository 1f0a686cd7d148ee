"""Liveness and readiness of a worker.

Live: the process answers. Ready: it can do its job now: its group is not rebalancing, its tables are
recovered from their changelogs,
its models are warm, it reaches the broker (a probe every ``INTEGRITY_BROKER_PROBE_S``), and none of its
input partitions is further behind than ``INTEGRITY_READY_MAX_LAG_S``, measured in broker time from what
this worker has processed (``streams.worker.progress.caught_up_to``), so it holds on real Kafka and on
the embedded broker alike.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient

from schemas.records import now_ms
from streams.app import app, settings
from streams.kafka.clients import admin_options
from streams.worker.progress import caught_up_to

__all__ = ["BrokerProbe", "Readiness", "current", "input_lag_s", "probe_broker", "readiness"]

log = logging.getLogger(__name__)


@dataclass
class BrokerProbe:
    ok: bool = False
    detail: str = "not checked yet"


_broker = BrokerProbe()


async def _probe() -> None:
    admin = AIOKafkaAdminClient(**admin_options(settings), request_timeout_ms=3000)
    try:
        await asyncio.wait_for(admin.start(), 5)
        await asyncio.wait_for(admin.list_topics(), 5)
        if not _broker.ok:
            log.info("broker reachable at %s", settings.broker.bootstrap_servers)
        _broker.ok, _broker.detail = True, "reachable"
    except Exception as exc:  # any failure to reach it means the same to readiness
        if _broker.ok:
            log.error("broker unreachable at %s: %s", settings.broker.bootstrap_servers, exc)
        _broker.ok, _broker.detail = False, f"unreachable: {type(exc).__name__}: {exc}"
    finally:
        await admin.close()


@app.task
async def probe_broker_at_start() -> None:
    await _probe()


@app.timer(interval=settings.health.broker_probe_s)
async def probe_broker() -> None:
    await _probe()


_STARTED_MS = now_ms()


def input_lag_s(now: int) -> dict[str, float]:
    """How far behind (seconds of broker time) this worker is on each input partition it owns; a
    partition with records waiting and none processed yet is behind by at least this worker's age."""
    inputs = settings.topics.inputs()
    lags = {}
    for tp in sorted(app.consumer.assignment()):
        if tp.topic in inputs:
            done = max(caught_up_to(app.consumer, tp.topic, tp.partition, now), _STARTED_MS)
            lags[f"{tp.topic}[{tp.partition}]"] = round((now - done) / 1000, 1)
    return lags


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reasons: list[str] = field(default_factory=list)


def readiness(
    *,
    tables_ready: bool,
    vision_warm: bool,
    broker: BrokerProbe,
    lags: dict[str, float],
    max_lag_s: float,
    rebalancing: bool = False,
) -> Readiness:
    """Ready when nothing holds the worker back; otherwise the reasons, one per obstacle."""
    reasons = []
    if rebalancing:
        reasons.append("the consumer group is rebalancing (partitions moving between workers)")
    if not tables_ready:
        reasons.append("tables recovering from their changelogs")
    if not vision_warm:
        reasons.append("vision models warming up")
    if not broker.ok:
        reasons.append(f"broker {broker.detail}")
    behind = {tp: lag for tp, lag in lags.items() if lag > max_lag_s}
    if behind:
        worst = max(behind, key=behind.__getitem__)
        reasons.append(
            f"{len(behind)} input partition(s) behind by more than {max_lag_s:g} s (worst {worst}: {behind[worst]} s)"
        )
    return Readiness(not reasons, reasons)


def current(vision_warm: bool) -> tuple[Readiness, dict[str, float], str]:
    """This worker's readiness now, its input lags, and what the broker probe found."""
    lags = input_lag_s(now_ms())
    # Faust's recovery sets "completed" when the tables are rebuilt and the streams resume.
    recovery = app.tables.recovery  # type: ignore[attr-defined]  # TableManager's, not in TableManagerT
    tables_ready = recovery.completed.is_set() and not app.in_recovery
    state = readiness(
        tables_ready=tables_ready,
        vision_warm=vision_warm,
        broker=_broker,
        lags=lags,
        max_lag_s=settings.health.ready_max_lag_s,
        rebalancing=bool(app.rebalancing),
    )
    return state, lags, _broker.detail
