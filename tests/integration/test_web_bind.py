"""Where a real worker's web views listen: on loopback by default (even with Faust's own WEB_BIND set), beyond it
only with a token, or with INTEGRITY_WEB_INSECURE and a warning; refused in one line otherwise, before anything
starts, by a single worker and by a supervisor alike."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request

import psutil
import pytest

from streams.child_process import free_port
from streams.stack.local import LocalStack
from streams.stack.processes import WorkerProcess
from tests.helpers.frames import SHARED_WEIGHTS

pytestmark = pytest.mark.integration


def listening_on(pid: int, port: int) -> set[str]:
    """The addresses a process (or one of its children) listens on at ``port``."""
    processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return {
        connection.laddr.ip
        for process in processes
        for connection in process.net_connections(kind="inet")
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port
    }


def outside_address() -> str | None:
    """An IPv4 address of this machine that is not loopback, if it has one."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return str(address.address)
    return None


def _without_web_settings() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if name not in {"INTEGRITY_WEB_TOKEN", "INTEGRITY_WEB_INSECURE", "INTEGRITY_WEB_BIND", "WEB_BIND"}
    }


def test_by_default_the_views_listen_on_loopback_only_and_insecure_says_so(tmp_path):
    # Faust's own variable would make it listen everywhere: INTEGRITY_WEB_BIND is the one that counts.
    worker_env = {"INTEGRITY_YOLO_WEIGHTS": SHARED_WEIGHTS, "WEB_BIND": "0.0.0.0"}
    with LocalStack(tmp_path, worker_env=worker_env) as stack:
        port = stack.worker.web_port
        assert stack.worker.process is not None
        assert listening_on(stack.worker.process.pid, port) == {"127.0.0.1"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live/", timeout=10) as response:
            assert response.status == 200
        outside = outside_address()
        if outside is not None:
            with pytest.raises(OSError):
                socket.create_connection((outside, port), timeout=3).close()

        # Beyond loopback without a token, explicitly insecure: it starts, listens everywhere, and warns once.
        open_env = {**stack.worker.env, "INTEGRITY_WEB_BIND": "0.0.0.0", "INTEGRITY_WEB_INSECURE": "true"}
        open_env.pop("INTEGRITY_WEB_TOKEN", None)
        second = WorkerProcess(open_env, free_port(), tmp_path / "open", tmp_path / "open.log").start()
        try:
            second.wait_ready(timeout_s=180)
            assert second.process is not None
            assert listening_on(second.process.pid, second.web_port) == {"0.0.0.0"}
            warnings = [line for line in second.log().splitlines() if "INTEGRITY_WEB_INSECURE:" in line]
            assert len(warnings) == 1 and f"0.0.0.0:{second.web_port} without a token" in warnings[0]
        finally:
            second.stop()


@pytest.mark.parametrize("processes", ["1", "2"])
def test_beyond_loopback_without_a_token_the_worker_refuses_to_start(tmp_path, processes):
    web_port = free_port()
    env = {
        **_without_web_settings(),
        # Nothing listens there: the refusal comes before the broker is asked anything.
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "INTEGRITY_WEB_BIND": "0.0.0.0",
        "INTEGRITY_WEB_PORT": str(web_port),
        "INTEGRITY_DATA_DIR": str(tmp_path / "worker"),
        "INTEGRITY_PROCESSES": processes,
    }
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("integrity worker: INTEGRITY_WEB_BIND=0.0.0.0 opens the web views")
    assert "set INTEGRITY_WEB_TOKEN" in lines[0] and "INTEGRITY_WEB_INSECURE=true" in lines[0]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", web_port), timeout=2).close()
