"""The session views across two workers on the embedded broker: any worker lists every session and
answers for a session another worker owns."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from schemas.records import new_session_control
from streams.child_process import free_port
from streams.stack.processes import WorkerProcess
from tests.helpers.frames import timeline
from tests.helpers.kafka import Record, publish, reports_of, results_of
from tests.integration.test_crashes import sessions_on_each_partition

pytestmark = pytest.mark.integration


def get(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


@pytest.fixture(scope="module")
def two_workers(stack, tmp_path_factory):
    folder = tmp_path_factory.mktemp("second")
    second = WorkerProcess(stack.worker.env, free_port(), folder / "worker", folder / "worker.log").start()
    try:
        second.wait_ready(timeout_s=180)
        yield stack.worker, second
    finally:
        second.stop()


def test_any_worker_lists_every_session_and_answers_for_the_others(settings, two_workers):
    first, second = two_workers
    names = sessions_on_each_partition("view", settings.topics.partitions)
    scenes = {names[0]: [("two_faces", 20)], names[-1]: [("face_absent", 20)]}  # the riskiest two
    records: list[Record] = []
    counts: dict[str, int] = {}
    for name in names:
        frames = timeline(name, scenes.get(name, [("one_face", 15)]))
        counts[name] = len(frames)
        records.append((settings.topics.control, name, new_session_control(name, "start", f"cand-{name}")))
        records += [(settings.topics.frames, name, frame) for frame in frames]
        if name == names[0]:  # one ended: listed with its final report's verdict
            end = new_session_control(name, "end", f"cand-{name}", last_sequence=len(frames) - 1)
            records.append((settings.topics.control, name, end))
    publish(settings, records)
    reports_of(settings, names[0], timeout_s=120)
    for name in names[1:]:
        results_of(settings, name, counts[name])  # every frame scored: the views hold still

    deadline = time.monotonic() + 30  # each worker's table catches up with its last Result
    while True:
        local = [get(worker.web_port, "/sessions/?scope=local")[1]["sessions"] for worker in (first, second)]
        mine = [{row["session_id"] for row in rows} & set(names) for rows in local]
        scored = {row["session_id"]: row["frames"] for rows in local for row in rows if row["session_id"] in names}
        if scored == counts or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert mine[0] and mine[1] and not mine[0] & mine[1], mine  # the partitions are split between them
    assert mine[0] | mine[1] == set(names)

    for worker in (first, second):
        status, body = get(worker.web_port, "/sessions/?limit=500")
        assert status == 200 and body["unreachable"] == []
        listed = [row for row in body["sessions"] if row["session_id"] in names]
        assert {row["session_id"] for row in listed} == set(names)
        risks = [row["risk_score"] for row in body["sessions"]]
        assert risks == sorted(risks, reverse=True)
        ended = next(row for row in listed if row["session_id"] == names[0])
        assert ended["status"] == "ended" and ended["verdict"] in ("review", "flagged")
        assert ended["reasons"] and ended["policy"] == "default"

    everything = get(first.web_port, "/sessions/?limit=500")[1]
    page = get(first.web_port, "/sessions/?limit=2&offset=1")[1]
    assert page["total"] == everything["total"] and page["sessions"] == everything["sessions"][1:3]
    newest = get(first.web_port, "/sessions/?sort=last_seen&limit=500")[1]["sessions"]
    seen = [row["last_seen_ms"] for row in newest]
    assert seen == sorted(seen, reverse=True)
    assert get(first.web_port, "/sessions/?sort=nonsense")[0] == 400
    assert get(first.web_port, "/sessions/?limit=0")[0] == 400

    # The dashboard's snapshot gathers every worker's sessions too.
    for worker in (first, second):
        snap = get(worker.web_port, "/dashboard/snapshot")[1]
        assert {row["session_id"] for row in snap["sessions"]} >= set(names) and snap["unreachable"] == []
    local = [get(w.web_port, "/dashboard/snapshot?scope=local")[1]["sessions"] for w in (first, second)]
    assert [{row["session_id"] for row in rows} & set(names) for rows in local] == mine

    # One session's state from either worker, whichever owns it (the other forwards the request).
    owned_by_second = next(iter(mine[1]))
    status, state = get(first.web_port, f"/sessions/{owned_by_second}/")
    assert status == 200 and state["session_id"] == owned_by_second and state["frames"] > 0
