"""Stopping child processes, and with group=True their own children too (Chromium's helpers)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from streams.child_process import stop_child


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_child_that_ignores_sigterm_is_killed_after_the_wait():
    child = subprocess.Popen(["sh", "-c", "trap '' TERM; sleep 30"])
    time.sleep(0.2)
    started = time.monotonic()
    assert stop_child(child, timeout_s=0.5) == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_group_stops_the_grandchildren_too():
    parent = subprocess.Popen(["sh", "-c", "sleep 30 & wait"], start_new_session=True)
    time.sleep(0.2)
    stop_child(parent, timeout_s=5, group=True)
    deadline = time.monotonic() + 5
    while _group_alive(parent.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _group_alive(parent.pid), "a grandchild outlived stop_child"


@pytest.mark.parametrize("group", [False, True])
def test_an_exited_child_gives_its_status(group):
    child = subprocess.Popen(["sh", "-c", "exit 3"], start_new_session=group)
    child.wait()
    assert stop_child(child, timeout_s=1, group=group) == 3
