"""A worker cut off from the broker, not killed: it runs in its own network namespace (``ip netns`` and
a veth pair; addresses made here, inside the sandbox), and its link goes down for 30 s while it holds
sessions. Its sessions move to the two others; when the link comes back it publishes nothing stale (a
frame answered twice is answered alike, each session has one final report equal to an uninterrupted
run's) and it rejoins the group."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.child_process import free_port
from streams.kafka.embedded_broker import EmbeddedBroker
from streams.stack.processes import WorkerProcess
from tests.integration.test_crashes import assert_answered_once_as_uninterrupted
from tests.integration.test_scale_out import Cameras, Fleet, longest_wait_s

pytestmark = pytest.mark.integration

CUT_S = 30.0


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class Namespace:
    """A network namespace joined to this host by a veth pair: host side ``host_ip``, inside ``inside_ip``."""

    def __init__(self, name: str, subnet: int) -> None:
        self.name, self.host_link, self.inside_link = name, f"vh-{name}", f"vn-{name}"
        self.host_ip, self.inside_ip = f"10.201.{subnet}.1", f"10.201.{subnet}.2"

    def create(self) -> Namespace:
        _ip("netns", "add", self.name)
        _ip("link", "add", self.host_link, "type", "veth", "peer", "name", self.inside_link)
        _ip("link", "set", self.inside_link, "netns", self.name)
        _ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_link)
        _ip("link", "set", self.host_link, "up")
        for command in (
            ["addr", "add", f"{self.inside_ip}/30", "dev", self.inside_link],
            ["link", "set", self.inside_link, "up"],
            ["link", "set", "lo", "up"],
        ):
            _ip("netns", "exec", self.name, "ip", *command)
        return self

    def link(self, up: bool) -> None:
        _ip("link", "set", self.host_link, "up" if up else "down")

    def delete(self) -> None:
        subprocess.run(["ip", "link", "del", self.host_link], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)

    def python(self, folder: Path) -> str:
        """An interpreter that runs inside the namespace (for ``WorkerProcess(python=...)``)."""
        wrapper = folder / f"python-in-{self.name}"
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {self.name} {sys.executable} "$@"\n')
        wrapper.chmod(0o755)
        return str(wrapper)


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2's ip (network namespaces)")
    made = Namespace(f"integ{os.getpid() % 10000}", 200 + os.getpid() % 50)
    made.delete()  # a leftover of a killed run
    try:
        yield made.create()
    finally:
        made.delete()


def test_a_worker_cut_off_for_30_s_hands_over_and_publishes_nothing_stale(namespace, tmp_path):
    # The broker listens on the host side of the veth: every client, inside or not, reaches it there.
    with EmbeddedBroker(namespace.host_ip, free_port(), log_path=tmp_path / "broker.log") as broker:
        fleet = Fleet(broker, tmp_path, "cut-off")
        try:
            fleet.start(0, 1)
            port = free_port()
            # Its views are asked from the host: they listen on the namespace's address (a private veth, open).
            inside = {**fleet.env, "INTEGRITY_WEB_BIND": namespace.inside_ip, "INTEGRITY_WEB_INSECURE": "true"}
            cut_off = WorkerProcess(
                inside, port, tmp_path / "worker-2", tmp_path / "worker-2.log", python=namespace.python(tmp_path)
            )
            cut_off.url = f"http://{namespace.inside_ip}:{port}"  # its views, seen from the host
            fleet.workers[2] = cut_off.start()
            cut_off.wait_ready(timeout_s=240)
            assert fleet.assignments()[2], "the namespaced worker got no partitions"

            cameras = Cameras(fleet.settings).start()
            time.sleep(cameras.seconds / 4)
            cut_at = time.time()
            namespace.link(up=False)
            time.sleep(CUT_S)
            namespace.link(up=True)
            back_at = time.time()
            cut_off.wait_ready(timeout_s=120)
            rejoined_s = time.time() - back_at
            cameras.join()

            wait, who = longest_wait_s(fleet.settings, cameras, cut_at)
            owned = fleet.assignments()
            print(
                f"cut off {CUT_S:g} s: longest wait for a Result {wait:.1f} s ({who}); ready again {rejoined_s:.1f} s "
                f"after the link came back; partitions now {owned}"
            )
            assert owned[2], "the worker did not rejoin the group"
            assert wait <= 15
            assert_answered_once_as_uninterrupted(fleet.settings, cameras.starts, cameras.frames)
        finally:
            fleet.close()
