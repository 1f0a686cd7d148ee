"""``integrity gateway`` as a child process on a free port (tests and benchmarks run it so)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from streams.child_process import stop_child
from streams.kafka.embedded_broker import free_port

__all__ = ["GatewayProcess"]


class GatewayProcess:
    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None, **settings: str) -> None:
        self.port = port or free_port()
        self.env = {**env, **settings, "INTEGRITY_GATEWAY_PORT": str(self.port), "INTEGRITY_LOG_LEVEL": "info"}
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> GatewayProcess:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "gateway"],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the gateway exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if json.load(response)["ready"]:
                        return self
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        self.__exit__()
        raise TimeoutError(f"the gateway was not ready in 60 s: {self.log_path.read_text()[-2000:]}")

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            stop_child(self.process, 20)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
