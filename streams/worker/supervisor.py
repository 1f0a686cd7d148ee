"""``integrity worker --processes N``: N Faust workers on one box, one per core, kept running.

One Faust worker is one event loop and analyses one frame at a time: it uses one core. The supervisor
starts N of them as child processes, each its own member of the consumer group with its own web port
(``INTEGRITY_WEB_PORT`` + i), RocksDB folder (``<data folder>/process-i``) and, with static membership,
group instance id (``<id>-i``). A child that stops on its own is started again after a backoff that
doubles up to ``MAX_BACKOFF_S`` (and resets once a child has run ``STABLE_AFTER_S``); SIGTERM or SIGINT
to the supervisor goes to every child, which stop cleanly (leaving the group, committing), and the
supervisor exits once they have. Children die with the supervisor even when it is killed (Linux's
parent-death signal), so no orphan keeps partitions it cannot be told to release.

It imports no Faust: the children do the work; each answers ``/health/`` as a single worker does.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from streams.machine import cpus_available
from streams.settings import Settings

__all__ = ["Child", "Supervisor", "child_env", "cpus_available", "next_backoff"]

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0
_PR_SET_PDEATHSIG = 1


def child_env(env: Mapping[str, str], settings: Settings, index: int) -> dict[str, str]:
    """Child ``index``'s environment: the supervisor's, with its own port, folder and member id, and the
    supervisor's bind address."""
    # The child applies the namespace to its data folder itself (<folder>/process-i/NAME): start from the
    # folder before the supervisor's settings applied it.
    folder = settings.data_dir.parent if settings.namespace else settings.data_dir
    own = {
        **env,
        "INTEGRITY_PROCESSES": "1",
        "INTEGRITY_WEB_PORT": str(settings.web_port + index),
        # A flag of the supervisor's (--web-bind) is not in its environment: every child listens where it does.
        "INTEGRITY_WEB_BIND": settings.web_bind,
        "INTEGRITY_DATA_DIR": str(folder / f"process-{index}"),
        "INTEGRITY_LOG_LEVEL": settings.log_level,
    }
    if settings.group.instance_id:
        own["INTEGRITY_GROUP_INSTANCE_ID"] = f"{settings.group.instance_id}-{index}"
    return own


def next_backoff(previous_s: float, ran_s: float) -> float:
    """How long to wait before restarting a child that ran ``ran_s`` seconds after a wait of ``previous_s``."""
    if ran_s >= STABLE_AFTER_S or previous_s <= 0:
        return FIRST_BACKOFF_S
    return min(previous_s * 2, MAX_BACKOFF_S)


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask the kernel to SIGTERM it when the supervisor dies.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    index: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff_s: float = 0.0
    restart_at: float | None = None


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        count: int,
        *,
        env: Mapping[str, str] | None = None,
        command: list[str] | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.children = [Child(i, child_env(env, settings, i)) for i in range(count)]
        self.command = command or [sys.executable, "-m", "streams.cli", "worker", "--processes", "1"]
        self.say = say or (lambda line: print(f"integrity worker: {line}", file=sys.stderr, flush=True))
        self.stopping = threading.Event()
        self.stop_timeout_s = 60.0

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(
            self.command, env=child.env, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        self.say(
            f"process {child.index} started (pid {child.process.pid}, web port {child.env['INTEGRITY_WEB_PORT']}, "
            f"data {child.env['INTEGRITY_DATA_DIR']})"
        )

    def _stop_all(self, sig: int) -> None:
        self.stopping.set()
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(sig)

    def run(self, poll_s: float = 0.5) -> int:
        """Start every child and keep them running until SIGTERM or SIGINT; returns the exit status."""
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        received: list[int] = []

        def on_signal(sig: int, _frame: object) -> None:
            received.append(sig)
            self._stop_all(signal.SIGTERM)

        for sig in previous:
            signal.signal(sig, on_signal)
        try:
            for child in self.children:
                self._start(child)
            while not self.stopping.is_set():
                self._tend()
                self.stopping.wait(poll_s)
            return self._wait_stopped(received)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _tend(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.process is None:
                if child.restart_at is not None and now >= child.restart_at and not self.stopping.is_set():
                    self._start(child)
                continue
            code = child.process.poll()
            if code is None:
                continue
            ran_s = now - child.started_at
            child.backoff_s = next_backoff(child.backoff_s, ran_s)
            child.process, child.restart_at = None, now + child.backoff_s
            self.say(
                f"process {child.index} exited with status {code} after {ran_s:.0f} s; "
                f"restarting in {child.backoff_s:g} s"
            )

    def _wait_stopped(self, received: list[int]) -> int:
        deadline = time.monotonic() + self.stop_timeout_s
        codes = []
        for child in self.children:
            if child.process is None:
                continue
            try:
                codes.append(child.process.wait(timeout=max(0.1, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                self.say(f"process {child.index} did not stop within {self.stop_timeout_s:g} s: killed")
                child.process.kill()
                codes.append(child.process.wait())
        self.say(f"stopped {len(codes)} process(es)" + (f" on signal {received[0]}" if received else ""))
        return 0 if all(code == 0 for code in codes) else 1
