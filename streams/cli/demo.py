"""``integrity demo``: embedded broker, one worker, the sample session replayed, verdicts printed."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from producers.footage import FootageOptions, publish_footage
from schemas.records import FinalReport, Result
from streams.cli.common import settings_for
from streams.cli.render import format_report, format_result, to_json
from streams.cli.sample import DEFAULT_SAMPLE_DIR
from streams.kafka.clients import session_publisher
from streams.kafka.reader import follow
from streams.settings import Settings
from streams.stack.local import LocalStack
from streams.stack.processes import GatewayProcess

__all__ = ["DemoOptions", "register", "run_demo"]

_STATE_DIR = Path(".integrity/demo")


@dataclass(frozen=True)
class DemoOptions:
    sample_dir: Path
    fps: float = 5.0
    session_id: str = "demo-session"
    json: bool = False
    # Also run the gateway (its browser page at /demo/) and keep everything up after the sample session.
    gateway: bool = False


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="broker + worker + sample replay + verdicts, on the embedded broker")
    p.add_argument(
        "--sample-dir",
        default=str(DEFAULT_SAMPLE_DIR),
        help="the sample session (built there if missing; default %(default)s)",
    )
    p.add_argument("--fps", type=float, default=5.0, help="frames per second it is replayed at (default %(default)s)")
    p.add_argument("--session-id", default="demo-session", help="the session's id (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print verdicts as JSON lines")
    p.add_argument(
        "--gateway",
        action="store_true",
        help="also run the gateway (its webcam page at /demo/) and stay up after the sample session until Ctrl-C",
    )
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    options = DemoOptions(
        sample_dir=Path(args.sample_dir), fps=args.fps, session_id=args.session_id, json=args.json, gateway=args.gateway
    )
    with contextlib.suppress(KeyboardInterrupt):
        return run_demo(options, settings_for(args))
    print("\ndemo stopped", file=sys.stderr)
    return 130


def _say(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


def run_demo(options: DemoOptions, configured: Settings) -> int:
    """The demo with ``configured``'s broker address, web and gateway ports."""
    started = time.monotonic()
    if not (options.sample_dir / "manifest.json").exists():
        from streams.samples.session import build_sample_session

        _say(f"building the sample session in {options.sample_dir}")
        build_sample_session(options.sample_dir)

    # The embedded broker keeps topics in memory: the worker's RocksDB state of an earlier run would
    # not match them, so each demo starts from a clean state folder.
    shutil.rmtree(_STATE_DIR, ignore_errors=True)
    port = int(configured.broker.bootstrap_servers.split(",")[0].rsplit(":", 1)[1])
    stack = LocalStack(_STATE_DIR, port=port, web_port=configured.web_port)
    try:
        ready_s = stack.start(say=_say)
        web = f"http://127.0.0.1:{configured.web_port}"
        _say(f"worker ready in {ready_s:.1f} s; live dashboard: {web}/dashboard/ (JSON: {web}/sessions/)")
        if not options.gateway:
            return asyncio.run(_replay_and_follow(stack.settings, options, started))
        with GatewayProcess(stack.worker.env, _STATE_DIR / "gateway.log", port=configured.gateway.port) as gateway:
            _say(f"gateway: {gateway.url}/docs; try your webcam in a browser: {gateway.url}/demo/")
            code = asyncio.run(_replay_and_follow(stack.settings, options, started))
            _say("the broker, worker and gateway stay up for the browser page: Ctrl-C stops them")
            while gateway.process is not None and gateway.process.poll() is None:
                time.sleep(1)
            return code
    finally:
        stack.stop()
        _say("worker and broker stopped")


async def _replay_and_follow(settings: Settings, options: DemoOptions, started: float) -> int:
    async with session_publisher(settings) as publisher:
        replay_options = FootageOptions(session_id=options.session_id, candidate_id="demo-candidate", fps=options.fps)
        sending = asyncio.create_task(publish_footage(publisher, options.sample_dir, replay_options))
        _say(f"replaying {options.sample_dir} as session {options.session_id!r} at {options.fps:g} fps")
        received = 0
        first_at = None
        result: Result
        async for result in follow(settings, settings.topics.results, "Result", session_id=options.session_id):
            if first_at is None:
                first_at = time.monotonic()
                _say(f"first verdict {first_at - started:.1f} s after the demo started")
            print(to_json(result) if options.json else format_result(result), flush=True)
            received += 1
            if result["final"]:
                break
        sent = await sending
    report: FinalReport
    async for report in follow(settings, settings.topics.reports, "FinalReport", session_id=options.session_id):
        print(to_json(report) if options.json else format_report(report), flush=True)
        break
    assert first_at is not None
    _say(f"{received} verdicts (the last one final) for {sent} frames; first verdict after {first_at - started:.1f} s")
    return 0
