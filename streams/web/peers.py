"""The session views across workers: any worker lists every session and answers for any session.

Each worker lists the sessions of its partitions (``scope=local``); the one asked gathers the others'
lists, then sorts and pages the whole. A worker that does not answer in time is named in
``unreachable``; its sessions are missing from that answer, not the answer itself.

One session's view is answered by the worker that owns its partition (``scope=local`` again, so a
request is forwarded once). Workers find each other, and the owner of a partition, in Faust's partition
assignment (``app.router.table_metadata``: the URL of each worker and the changelog partitions it holds
actively). Faust's own ``table_route`` is not used: it hashes the key as the changelog topic serializes
it, not as the streams are keyed, and sent requests for sessions to the wrong worker (a 404 from both).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from schemas.records import Reason
from streams.agents.risk import engine
from streams.app import app
from streams.risk.state import SessionState

__all__ = [
    "SessionQuery",
    "gather_from_others",
    "owner_of",
    "page_of",
    "session_query",
    "session_row",
    "sessions_of_other_workers",
    "view_from",
]

log = logging.getLogger(__name__)

MAX_LIMIT = 500
SORTS = ("risk", "last_seen")


@dataclass(frozen=True)
class SessionQuery:
    local: bool = False
    sort: str = "risk"
    limit: int = 50
    offset: int = 0


def session_query(params: Mapping[str, str]) -> SessionQuery:
    """The query string's options, or ValueError saying which one is wrong."""
    scope = params.get("scope", "all")
    if scope not in ("all", "local"):
        raise ValueError(f"scope={scope!r}: use all or local")
    sort = params.get("sort", "risk")
    if sort not in SORTS:
        raise ValueError(f"sort={sort!r}: use {' or '.join(SORTS)}")
    try:
        limit, offset = int(params.get("limit", 50)), int(params.get("offset", 0))
    except ValueError:
        raise ValueError("limit and offset are whole numbers") from None
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise ValueError(f"limit is 1 to {MAX_LIMIT} and offset at least 0")
    return SessionQuery(local=scope == "local", sort=sort, limit=limit, offset=offset)


def session_row(state: Mapping[str, Any]) -> dict[str, Any]:
    """What a reviewer scans a list for; an ended session shows its final report's verdict and reasons."""
    report = state.get("final_report") or {}
    reasons = report.get("reasons") or _reasons_of(state)
    last_seen = state.get("ended_wall_ms") or state.get("last_frame_wall_ms") or state.get("started_at_ms")
    return {
        "session_id": state.get("session_id", ""),
        "candidate_id": state.get("candidate_id", ""),
        "status": state.get("status"),
        "policy": state.get("policy"),
        "frames": state.get("frames"),
        "risk_score": state.get("last_score"),
        "peak_risk_score": report.get("peak_risk_score", state.get("peak_score")),
        "verdict": state.get("last_verdict"),
        "reasons": reasons,
        "last_seen_ms": last_seen,
    }


def _reasons_of(state: Mapping[str, Any]) -> list[Reason]:
    """A live session's reasons as its next Result would give them: the engine's, from its evidence now."""
    live = SessionState.from_dict(dict(state))
    return engine.verdict(live, low_confidence=False).reason_records()


def page_of(rows: list[dict[str, Any]], query: SessionQuery) -> dict[str, Any]:
    unique = {row["session_id"]: row for row in rows}  # a rebalance may show one on two workers
    if query.sort == "risk":
        ordered = sorted(unique.values(), key=lambda r: (-(r["risk_score"] or 0.0), r["session_id"]))
    else:
        ordered = sorted(unique.values(), key=lambda r: (-(r["last_seen_ms"] or 0), r["session_id"]))
    return {
        "total": len(ordered),
        "sort": query.sort,
        "limit": query.limit,
        "offset": query.offset,
        "sessions": ordered[query.offset : query.offset + query.limit],
    }


def _me() -> str:
    return str(app.conf.canonical_url).rstrip("/")


def _other_workers() -> list[str]:
    hosts = {str(url).rstrip("/") for url in app.router.tables_metadata()}
    return sorted(hosts - {_me()})


def owner_of(table: Any, partition: int) -> str | None:
    """The URL of the worker holding ``partition`` of ``table`` (a Faust table) actively; None when it is
    this worker, or when no worker holds it right now (a rebalance)."""
    topic = table.changelog_topic.get_topic_name()
    for host, topics in app.router.table_metadata(table.name).items():
        if partition in topics.get(topic, ()):
            url = str(host).rstrip("/")
            return None if url == _me() else url
    return None


async def view_from(host: str, path: str, credentials: Mapping[str, str], timeout_s: float = 5.0) -> tuple[int, Any]:
    """Another worker's answer to ``path`` (status, JSON body), asked for its local view with the user's
    credentials (it checks them as it would the user's)."""
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with (
        aiohttp.ClientSession(timeout=timeout, headers=credentials) as client,
        client.get(f"{host}{path}", params={"scope": "local"}) as response,
    ):
        return response.status, await response.json()


async def sessions_of_other_workers(
    sort: str, credentials: Mapping[str, str], timeout_s: float = 3.0
) -> tuple[list[dict[str, Any]], list[str]]:
    """The other workers' local session rows (each its first MAX_LIMIT by ``sort``), and the workers that
    did not answer."""
    params = {"scope": "local", "limit": str(MAX_LIMIT), "sort": sort}
    return await gather_from_others("/sessions/", params, credentials, timeout_s)


async def gather_from_others(
    path: str, params: Mapping[str, str], credentials: Mapping[str, str], timeout_s: float = 3.0
) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``sessions`` of every other worker's answer to ``path``, and the workers that did not answer."""
    hosts = _other_workers()
    if not hosts:
        return [], []
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout, headers=credentials) as client:
        answers = await asyncio.gather(
            *(_sessions_from(client, f"{host}{path}", params) for host in hosts), return_exceptions=True
        )
    rows: list[dict[str, Any]] = []
    unreachable = []
    for host, answer in zip(hosts, answers, strict=True):
        if isinstance(answer, BaseException):
            log.warning("worker %s did not answer %s: %r", host, path, answer)
            unreachable.append(host)
        else:
            rows += answer
    return rows, unreachable


async def _sessions_from(client: aiohttp.ClientSession, url: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
    async with client.get(url, params=params) as response:
        response.raise_for_status()
        body = await response.json()
    rows: list[dict[str, Any]] = body["sessions"]
    return rows
