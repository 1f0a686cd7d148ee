"""The embedded broker with the topics created and one worker process: one stack, started in one place.

The demo, the pipeline and risk benchmarks and the integration tests all run this. The worker gets
this process's environment (the user's configuration) with the broker, its web port, its RocksDB
folder and ``worker_env`` set; ``settings`` is what clients of the stack use, read from the same
environment. ``processes`` > 1 runs ``integrity worker --processes N`` (a supervisor and its N
workers); the stack is ready when every one of them is.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from streams.child_process import free_port, free_ports
from streams.kafka.admin import ensure_topics
from streams.kafka.embedded_broker import EmbeddedBroker
from streams.settings import Settings, load_settings
from streams.stack.processes import WorkerProcess

__all__ = ["LocalStack"]


def _quiet(_: str) -> None:
    pass


class LocalStack:
    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        web_port: int | None = None,
        data_dir: Path | None = None,
        worker_env: Mapping[str, str] | None = None,
        processes: int = 1,
    ) -> None:
        self.workdir = workdir
        port = port or free_port()
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
            "INTEGRITY_EMBEDDED_BROKER": "true",
            "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",  # all the embedded broker speaks
            **(worker_env or {}),
        }
        self.settings: Settings = load_settings(env)
        limit_mb = self.settings.broker.embedded_broker_max_mb
        self.broker = EmbeddedBroker("127.0.0.1", port, log_path=workdir / "broker.log", max_memory_mb=limit_mb)
        self.worker = WorkerProcess(
            env,
            web_port=web_port or free_ports(processes),
            data_dir=data_dir or workdir / "worker",
            log_path=workdir / "worker.log",
            processes=processes,
        )

    def start(self, say: Callable[[str], None] = _quiet, ready_timeout_s: float = 180.0) -> float:
        """Start the broker, create the topics, start the worker; returns the seconds it took to be ready."""
        try:
            self.broker.start()
            say(f"embedded broker up on {self.broker.bootstrap_servers}")
            asyncio.run(ensure_topics(self.settings))
            self.worker.start()
            say(f"worker starting (log: {self.worker.log_path}); warming up the vision models...")
            return self.worker.wait_ready(ready_timeout_s)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.worker.stop()
        self.broker.stop()

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
