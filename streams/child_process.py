"""Child processes (the broker, workers, the gateway, Chromium): free ports for one to listen on, and
stopping one: a signal, a bounded wait, then SIGKILL.

``group=True`` for a child started in its own session (``start_new_session=True``) that starts children
of its own (Chromium's renderers and helpers): the whole group is signalled, and whatever of it is
still there after the wait is killed, so nothing of it outlives the call (and writes into files the
caller is about to remove)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess

__all__ = ["free_port", "free_ports", "stop_child"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_ports(count: int, attempts: int = 50) -> int:
    """The first of ``count`` consecutive TCP ports on 127.0.0.1 that nothing listens on right now: a
    supervised worker's process i listens on its web port + i."""
    for _ in range(attempts):
        first = free_port()
        with contextlib.ExitStack() as held:
            try:
                for port in range(first + 1, first + count):
                    held.enter_context(socket.socket()).bind(("127.0.0.1", port))
            except (OSError, OverflowError):
                continue  # one of them is taken (or past 65535): another first port
            return first
    raise RuntimeError(f"no {count} consecutive free ports on 127.0.0.1 after {attempts} tries")


def stop_child(
    process: subprocess.Popen[bytes], timeout_s: float, sig: int = signal.SIGTERM, *, group: bool = False
) -> int:
    """Send ``sig`` to a running ``process`` (or its process group), wait up to ``timeout_s``, kill it if it
    is still there; returns its exit status."""
    if process.poll() is None:
        _signal(process, sig, group)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if group:
        _signal(process, signal.SIGKILL, group)  # its children that outlived it
    return process.returncode


def _signal(process: subprocess.Popen[bytes], sig: int, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):  # gone already
        if group:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
