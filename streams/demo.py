"""``integrity demo``: embedded broker, one worker, the sample session replayed, verdicts printed."""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from streams.config import load_settings

__all__ = ["DemoOptions", "run_demo"]

_STATE_DIR = Path(".integrity/demo")


@dataclass(frozen=True)
class DemoOptions:
    sample_dir: Path
    fps: float = 5.0
    session_id: str = "demo-session"
    json: bool = False


def _say(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


def run_demo(options: DemoOptions) -> int:
    from streams.admin import ensure_topics
    from streams.broker import EmbeddedBroker
    from streams.worker_process import WorkerProcess

    started = time.monotonic()
    settings = load_settings()
    if not (options.sample_dir / "manifest.json").exists():
        from producers.sample import build_sample_session

        _say(f"building the sample session in {options.sample_dir}")
        build_sample_session(options.sample_dir)

    # The embedded broker keeps topics in memory: the worker's RocksDB state of an earlier run would
    # not match them, so each demo starts from a clean state folder.
    shutil.rmtree(_STATE_DIR, ignore_errors=True)
    host, port = settings.broker.bootstrap_servers.split(",")[0].rsplit(":", 1)
    broker = EmbeddedBroker(host, int(port), log_path=_STATE_DIR / "broker.log")
    worker = WorkerProcess(
        WorkerProcess.child_env(broker.bootstrap_servers),
        web_port=settings.web_port,
        data_dir=_STATE_DIR / "worker",
        log_path=_STATE_DIR / "worker.log",
    )
    try:
        broker.start()
        _say(f"embedded broker up on {broker.bootstrap_servers}")
        asyncio.run(ensure_topics(settings))
        worker.start()
        _say(f"worker starting (log: {worker.log_path}); warming up the vision models...")
        ready_s = worker.wait_ready()
        _say(f"worker ready in {ready_s:.1f} s; web views on http://127.0.0.1:{settings.web_port}/sessions/")
        return asyncio.run(_replay_and_follow(settings, options, started))
    finally:
        worker.stop()
        broker.stop()
        _say("worker and broker stopped")


async def _replay_and_follow(settings, options: DemoOptions, started: float) -> int:
    from producers.replay import ReplayOptions, replay
    from streams.verdicts import follow_reports, follow_results, format_report, format_result, result_json

    replay_options = ReplayOptions(session_id=options.session_id, candidate_id="demo-candidate", fps=options.fps)
    sending = asyncio.create_task(replay(settings, options.sample_dir, replay_options))
    _say(f"replaying {options.sample_dir} as session {options.session_id!r} at {options.fps:g} fps")
    received = 0
    first_at = None
    async for result in follow_results(settings, session_id=options.session_id):
        if first_at is None:
            first_at = time.monotonic()
            _say(f"first verdict {first_at - started:.1f} s after the demo started")
        print(result_json(result) if options.json else format_result(result), flush=True)
        received += 1
        if result["final"]:
            break
    sent = await sending
    async for report in follow_reports(settings, session_id=options.session_id):
        print(result_json(report) if options.json else format_report(report), flush=True)
        break
    assert first_at is not None
    _say(f"{received} verdicts (the last one final) for {sent} frames; first verdict after {first_at - started:.1f} s")
    return 0
