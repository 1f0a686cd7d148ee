"""``integrity worker`` and ``integrity gateway`` as child processes: one wrapper, two configurations.

Each runs in its own process group (a Ctrl-C meant for the demo is handled by the demo, which stops
them), writes its output to a log file, and says when it is ready on its health endpoint."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from streams.child_process import free_port, stop_child

__all__ = ["GatewayProcess", "ServiceProcess", "WorkerProcess"]


class ServiceProcess:
    """``integrity COMMAND`` in its own process, answering on ``port``; ready when its health says so."""

    command: str = ""
    health_path: str = "/health"

    def __init__(
        self, env: Mapping[str, str], port: int, log_path: Path, *, python: str | None = None, cwd: Path | None = None
    ) -> None:
        self.env = dict(env)
        # The interpreter (and folder) to run it with: this one's by default; another virtual environment's
        # to run an installed wheel (tests/integration/test_installed_wheel.py).
        self.python = python or sys.executable
        self.cwd = cwd
        self.port = port
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [self.python, "-m", "streams.cli", self.command],
            env=self.env,
            cwd=self.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    def health(self, url: str | None = None) -> dict[str, Any] | None:
        """The health endpoint's JSON at ``url`` (its own by default), also when it answers 503 (not ready);
        None when it does not answer."""
        try:
            with urllib.request.urlopen(f"{url or self.url}{self.health_path}", timeout=2) as response:
                body: dict[str, Any] = json.load(response)
                return body
        except urllib.error.HTTPError as exc:
            return json.load(exc) if exc.code == 503 else None
        except (OSError, ValueError):
            return None

    def wait_ready(self, timeout_s: float = 180.0) -> float:
        """Block until the process says ready; returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"integrity {self.command} exited early: {self.log()[-2000:]}")
            if self.ready():
                return time.monotonic() - started
            time.sleep(0.2)
        raise TimeoutError(f"integrity {self.command} not ready after {timeout_s:.0f} s; see {self.log_path}")

    def ready(self) -> bool:
        status = self.health()
        return bool(status and status.get("ready"))

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int | None:
        """Stop it (SIGTERM lets it finish cleanly; SIGKILL simulates a crash); returns its exit status."""
        code = None
        if self.process is not None:
            code = stop_child(self.process, timeout_s, sig)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.is_file() else ""

    def __enter__(self) -> ServiceProcess:
        self.start()
        try:
            self.wait_ready(60.0)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop(timeout_s=20.0)


class WorkerProcess(ServiceProcess):
    """A Faust worker with its own web port and RocksDB folder; with ``processes`` > 1, the supervisor of
    that many (``integrity worker --processes N``: process i on web port + i, folder ``process-i``)."""

    command = "worker"
    health_path = "/health/"

    def __init__(
        self,
        env: Mapping[str, str],
        web_port: int,
        data_dir: Path,
        log_path: Path,
        *,
        processes: int = 1,
        python: str | None = None,
        cwd: Path | None = None,
    ) -> None:
        if processes < 1:
            # "0: one per CPU" would leave the ports to wait on unknown.
            raise ValueError(f"processes={processes}: a worker here runs a known count, 1 or more")
        env = {
            **env,
            "INTEGRITY_WEB_PORT": str(web_port),
            "INTEGRITY_DATA_DIR": str(data_dir),
            # One unless asked: the user's INTEGRITY_PROCESSES (0: one per CPU) is for their own worker.
            "INTEGRITY_PROCESSES": str(processes),
        }
        super().__init__(env, web_port, log_path, python=python, cwd=cwd)
        self.web_port = web_port
        self.data_dir = data_dir
        self.processes = processes
        self.web_ports = [web_port + i for i in range(processes)]

    def ready(self) -> bool:
        """Every process ready: the supervisor has none of its own to ask, each child answers on its port."""
        host = self.url.rsplit(":", 1)[0]  # the caller may have set where its views are seen from
        for port in self.web_ports:
            status = self.health(f"{host}:{port}")
            if not (status and status.get("ready")):
                return False
        return True

    def start(self) -> WorkerProcess:
        super().start()
        return self


class GatewayProcess(ServiceProcess):
    """The gateway on a free port (or ``port``); ``settings``: more of its environment variables."""

    command = "gateway"

    def __init__(self, env: Mapping[str, str], log_path: Path, port: int | None = None, **settings: str) -> None:
        port = port or free_port()
        super().__init__(
            {**env, **settings, "INTEGRITY_GATEWAY_PORT": str(port), "INTEGRITY_LOG_LEVEL": "info"}, port, log_path
        )

    def __enter__(self) -> GatewayProcess:
        super().__enter__()
        return self
