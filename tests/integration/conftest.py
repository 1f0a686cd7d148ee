"""A real tansu broker process and a real worker process on free 127.0.0.1 ports, for the whole module."""

from __future__ import annotations

import shutil

import pytest

from streams.stack.local import LocalStack
from tests.helpers.frames import SHARED_WEIGHTS
from tests.helpers.kafka import policies_with_quick


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stack")
    worker_env = {
        "INTEGRITY_YOLO_WEIGHTS": SHARED_WEIGHTS,
        "INTEGRITY_RISK_POLICY_DIR": str(policies_with_quick(folder)),
        "INTEGRITY_RISK_EXPIRY_CHECK_S": "1",
        "INTEGRITY_RISK_END_GRACE_S": "3",
        # A session per partition in the crash tests: 4 keep them small (the default, 24, is for growth).
        "INTEGRITY_PARTITIONS": "4",
    }
    with LocalStack(folder, worker_env=worker_env) as running:
        yield running


@pytest.fixture(scope="module")
def settings(stack):
    return stack.settings


@pytest.fixture(scope="module")
def worker(stack):
    return stack.worker


@pytest.fixture(scope="module")
def node() -> str:
    """Node.js for the JavaScript clients' tests; they skip on a machine without it."""
    executable = shutil.which("node")
    if executable is None:
        pytest.skip("no node (Node.js 20+): apt-get install -y nodejs")
    return executable
