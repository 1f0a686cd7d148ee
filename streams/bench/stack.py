"""The stack a benchmark runs on: a ``LocalStack`` in a temporary folder, kept only when the run fails."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from streams.stack.local import LocalStack

__all__ = ["bench_stack"]


@contextlib.contextmanager
def bench_stack(prefix: str, processes: int = 1) -> Iterator[LocalStack]:
    """A started embedded broker and worker of ``processes`` processes (logging warnings only); on failure,
    says where their logs are."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    stack = LocalStack(workdir, worker_env={"INTEGRITY_LOG_LEVEL": "warning"}, processes=processes)
    try:
        stack.start()
        assert stack.worker.process is not None
        yield stack
    except BaseException:
        stack.stop()
        print(f"bench failed; broker and worker logs kept in {workdir}", file=sys.stderr)
        raise
    stack.stop()
    shutil.rmtree(workdir, ignore_errors=True)
