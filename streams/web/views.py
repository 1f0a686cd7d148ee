"""Web views: ``/health/`` (readiness), ``/health/live/``, ``/metrics`` (Prometheus), ``/sessions/``,
``/sessions/{id}/``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from streams.agents.detection import pipeline, vision_ready
from streams.app import app, settings
from streams.kafka.partitioning import partition_of
from streams.machine import cpus_available
from streams.risk.state import is_ended
from streams.topics import reviews, sessions
from streams.vision.tuning import backend_of
from streams.web.access import forwarded_credentials, protected
from streams.web.health import current as health_now
from streams.web.peers import owner_of, page_of, session_query, session_row, sessions_of_other_workers, view_from
from streams.worker.metrics import CONTENT_TYPE_LATEST, exposition, set_gauges
from streams.worker.progress import forwarded, pending_records, redelivered


@app.page("/health/")
@protected("health")
async def health(web, request):
    """Readiness: 200 when the worker can do its job now, 503 with the reasons when it cannot."""
    warm = vision_ready.is_set()
    state, lags, broker = health_now(warm)
    objects = pipeline.objects
    body = {
        "ready": state.ready,
        "not_ready_because": state.reasons,
        "vision": "ready" if warm else "warming up",
        "broker": broker,
        "input_lag_s": lags,
        "objects": "on" if objects.available else f"unavailable: {objects.unavailable_reason}",
        # Which weights and runtime, and how they were chosen (streams/cli/tune.py).
        "objects_weights": settings.vision.yolo_weights if objects.available else None,
        "objects_backend": backend_of(settings.vision.yolo_weights) if objects.available else None,
        "objects_chosen": settings.vision.yolo_choice or "as configured",
        "inference_threads": settings.vision.inference_threads or cpus_available(),
        "objects_every_s": settings.vision.objects_every_s,
        # Ingress records a producer put on another partition than their key's, forwarded there.
        "forwarded_to_key_partition": dict(forwarded),
        # Records skipped as already answered (redelivered after a crash, or resent), by stage.
        "already_answered": dict(redelivered),
    }
    return web.json(body, status=200 if state.ready else 503)


@app.page("/health/live/")
@protected("health")
async def live(web, request):
    """Liveness: the worker's event loop answers (whether or not it can work right now)."""
    return web.json({"live": True})


@app.page("/metrics")
@protected("metrics")
async def metrics(web, request):
    """Prometheus' text format; gauges read now (lag of each input partition this worker owns)."""
    inputs = settings.topics.inputs()
    lag = {}
    for tp in app.consumer.assignment():
        if tp.topic in inputs and (pending := pending_records(app.consumer, tp)) is not None:
            lag[tp] = pending
    active = sum(1 for state in sessions.values() if state and not is_ended(state))
    models = {"face": vision_ready.is_set(), "objects": vision_ready.is_set() and pipeline.objects.available}
    set_gauges(lag, active, models, ready=health_now(vision_ready.is_set())[0].ready)
    return web.bytes(exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})


@app.page("/sessions/")
@protected("views")
async def list_sessions(web, request):
    """Live and recently ended sessions of every worker (``?scope=local``: this worker's partitions only),
    sorted (``?sort=risk`` highest first, or ``last_seen`` newest first) and paged (``?limit=&offset=``)."""
    try:
        query = session_query(request.query)
    except ValueError as exc:
        return web.json({"error": str(exc)}, status=400)
    rows = [session_row(state) for state in sessions.values() if state]
    unreachable: list[str] = []
    if not query.local:
        others, unreachable = await sessions_of_other_workers(query.sort, forwarded_credentials(request.headers))
        rows += others
    body = page_of(rows, query)
    return web.json(body | {"worker": f"{settings.web_host}:{settings.web_port}", "unreachable": unreachable})


async def session_view(session_id: str, request: Any) -> tuple[int, dict[str, Any]]:
    """One session's state (or, ended, its final report) and its reviews, from whichever worker owns it:
    the status and body of ``/sessions/{id}/``. What the report page renders too."""
    if request.query.get("scope") != "local":
        partition = partition_of(session_id.encode(), settings.topics.partitions)
        if (owner := owner_of(sessions, partition)) is not None:
            try:
                path = f"/sessions/{quote(session_id, safe='')}/"
                status, body = await view_from(owner, path, forwarded_credentials(request.headers))
            except Exception as exc:  # the owner is down or restarting: say so, do not guess
                return 503, {"error": f"the worker owning it ({owner}) did not answer: {exc!r}"}
            return status, body
    state, kept = sessions.get(session_id), reviews.get(session_id) or []
    if not state and not kept:
        return 404, {"error": f"no session {session_id!r}"}
    # Reviews outlive the session's state (its retention after the end): a reviewer coming back days
    # later still finds what was decided.
    body = dict(state) if state else {"session_id": session_id, "forgotten": True}
    body["reviews"] = kept
    return 200, body


@app.page("/sessions/{session_id}/")
@protected("views")
async def get_session(web, request, session_id: str):
    """One session's state (or, ended, its final report), from whichever worker owns it."""
    status, body = await session_view(session_id, request)
    return web.json(body, status=status)
