"""Stopping a child process: a signal, a bounded wait, then SIGKILL (the broker, workers, Chromium)."""

from __future__ import annotations

import signal
import subprocess

__all__ = ["stop_child"]


def stop_child(process: subprocess.Popen[bytes], timeout_s: float, sig: int = signal.SIGTERM) -> int:
    """Send ``sig`` to a running ``process``, wait up to ``timeout_s``, kill it if it is still there;
    returns its exit status."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
