"""A Faust worker as a child process, with its own web port and RocksDB folder (``LocalStack`` runs it)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from streams.child_process import stop_child

__all__ = ["WorkerProcess"]


class WorkerProcess:
    """``integrity worker`` in its own process, with its own web port and RocksDB folder."""

    def __init__(self, env: dict[str, str], web_port: int, data_dir: Path, log_path: Path) -> None:
        self.env = {**env, "INTEGRITY_WEB_PORT": str(web_port), "INTEGRITY_DATA_DIR": str(data_dir)}
        self.web_port = web_port
        self.data_dir = data_dir
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own process group: a Ctrl-C meant for the demo is handled by the demo, which stops us.
            start_new_session=True,
        )
        return self

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/health/", timeout=2) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            return json.load(exc) if exc.code == 503 else None
        except (OSError, ValueError):
            return None

    def wait_ready(self, timeout_s: float = 180.0) -> float:
        """Block until the worker says ready (models warm); returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"worker exited early; see {self.log_path}")
            status = self.health()
            if status and status.get("ready"):
                return time.monotonic() - started
            time.sleep(0.25)
        raise TimeoutError(f"worker not ready after {timeout_s:.0f} s; see {self.log_path}")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int | None:
        """Stop the worker (SIGTERM lets Faust commit and close; SIGKILL simulates a crash)."""
        code = None
        if self.process is not None:
            code = stop_child(self.process, timeout_s, sig)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        return code
